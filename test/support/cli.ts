import { Readable } from 'node:stream';
import { createIO } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Standard input (`backfill -`); empty when not given. */
  input?: string;
  /** Make stdout and stderr terminals of this width (backfill's progress line). */
  ttyColumns?: number;
  /** Make standard input a terminal (questions are asked only then). */
  ttyInput?: boolean;
}

/** Never reach the command unless a test gives them: credentials, Redis and the test process's own settings. */
const CLEARED = ['REDIS_URL', 'WEBHOOK_SECRET', 'HUBSPOT_ACCESS_TOKEN', 'SENDGRID_API_KEY', 'PORT', 'QUEUE_PREFIX', 'NODE_ENV'];

/**
 * Runs `course-sync ...args` in this process, as the binary would (same commands, output and exit
 * code), with a clean course-sync environment: no credentials or Redis from the caller unless
 * given in `env`, LOG_LEVEL silent. `start` stops as soon as it has started.
 */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}, opts: CliOptions = {}): Promise<CliResult> {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of CLEARED) delete base[key];
  let stdout = '';
  let stderr = '';
  const tty = opts.ttyColumns ? { isTTY: true, columns: opts.ttyColumns } : {};
  const io = createIO({
    stdout: { ...tty, write: (text) => (stdout += text) },
    stderr: { ...tty, write: (text) => (stderr += text) },
    stdin: () => Object.assign(Readable.from(Buffer.from(opts.input ?? '')), opts.ttyInput ? { isTTY: true } : {}),
    env: { ...base, LOG_LEVEL: 'silent', ...env },
    untilStopped: async () => 'test',
  });
  const code = await main([process.execPath, 'course-sync', ...args], io);
  return { code, stdout, stderr };
}
