import { spawn } from 'node:child_process';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'course-sync.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/course-sync.js ...args` as a child process, without blocking this process (so a
 * receiver started by the test can answer it). The child gets a clean course-sync environment:
 * no credentials or Redis from the caller unless given in `env`.
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<CliResult> {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of ['REDIS_URL', 'WEBHOOK_SECRET', 'HUBSPOT_ACCESS_TOKEN', 'SENDGRID_API_KEY', 'PORT', 'QUEUE_PREFIX', 'NODE_ENV']) delete base[key];
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...base, LOG_LEVEL: 'silent', ...env } as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  return new Promise((ok, fail) => {
    child.once('error', fail);
    child.once('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}
