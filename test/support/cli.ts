import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
const CLEARED = [
  'REDIS_URL',
  'WEBHOOK_SECRET',
  'HUBSPOT_ACCESS_TOKEN',
  'SENDGRID_API_KEY',
  'PORT',
  'QUEUE_PREFIX',
  'NODE_ENV',
];

/**
 * A REDIS_DATA_DIR where no service ever runs: a command without REDIS_URL never finds (or, for
 * `start`, writes into) the checkout's own ./data/redis, whatever a developer runs there.
 */
const NO_SERVICE_DIR = join(tmpdir(), `course-sync-cli-test-${process.pid}`);

/** A command running in this process, whose output can be read while it runs. */
export interface RunningCli {
  stdout(): string;
  stderr(): string;
  /** Resolves once the command has finished on its own (commands other than `start`). */
  done: Promise<CliResult>;
  /** Ends `start` as a stop signal would, and resolves with its result. */
  stop(): Promise<CliResult>;
}

/**
 * Starts `course-sync ...args` in this process, as the binary would (same commands, output and
 * exit code), with a clean course-sync environment: no credentials or Redis from the caller unless
 * given in `env`, LOG_LEVEL silent, REDIS_DATA_DIR an empty folder. `start` runs until stop().
 */
export function startCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: CliOptions = {},
): RunningCli {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of CLEARED) delete base[key];
  let stdout = '';
  let stderr = '';
  let signal!: (name: string) => void;
  const stopped = new Promise<string>((ok) => (signal = ok));
  const tty = opts.ttyColumns ? { isTTY: true, columns: opts.ttyColumns } : {};
  const io = createIO({
    stdout: { ...tty, write: (text) => (stdout += text) },
    logs: { write: (text) => (stdout += text) },
    stderr: { ...tty, write: (text) => (stderr += text) },
    stdin: () => Object.assign(Readable.from(Buffer.from(opts.input ?? '')), opts.ttyInput ? { isTTY: true } : {}),
    env: { ...base, LOG_LEVEL: 'silent', REDIS_DATA_DIR: NO_SERVICE_DIR, ...env },
    untilStopped: () => stopped,
  });
  const done = main([process.execPath, 'course-sync', ...args], io).then((code) => ({ code, stdout, stderr }));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    stop: () => {
      signal('SIGTERM');
      return done;
    },
  };
}

/** Runs `course-sync ...args` in this process to the end (see startCli); `start` stops as soon as it has started. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: CliOptions = {},
): Promise<CliResult> {
  const run = startCli(args, env, opts);
  void run.stop();
  return run.done;
}
