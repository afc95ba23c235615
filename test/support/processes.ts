import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'course-sync.js');

/** A `course-sync start --role <role>` child process with its whole output kept in memory. */
export interface ServiceProcess {
  name: string;
  proc: ChildProcess;
  /** Everything it wrote to stdout and stderr so far (pino JSON lines and plain text). */
  output(): string;
  /** The HTTP port from its "listening" log line (receiver and all roles; needs LOG_LEVEL info or lower). */
  port(): Promise<number>;
  /** Resolves once `text` appears in its output; throws with the output's tail if it exits first or after `timeoutMs`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL, no chance to clean up; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful stop), SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts the real service in a child process, from the project root, with only `env` plus PATH
 * and HOME (nothing leaks from the test process). LOG_LEVEL defaults to info.
 */
export function spawnService(
  name: string,
  role: 'all' | 'receiver' | 'worker',
  env: Record<string, string>,
): ServiceProcess {
  const proc = spawn(process.execPath, [BIN, 'start', '--role', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const gone = new Promise<void>((ok) => proc.once('exit', () => ok()));
  let closed = false; // exited and its output read to the end
  proc.once('close', () => (closed = true));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const tail = () => out.trimEnd().split('\n').slice(-25).join('\n');

  // Checked on each chunk of output (after it is appended above) and once its output ends: no polling.
  const waitFor = (text: string | RegExp, timeoutMs = 30_000) =>
    new Promise<void>((ok, fail) => {
      const seen = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      const done = (err?: Error) => {
        clearTimeout(timer);
        proc.stdout.off('data', check);
        proc.stderr.off('data', check);
        proc.off('close', exited);
        if (err) fail(err);
        else ok();
      };
      const check = () => seen() && done();
      const exited = () =>
        done(
          seen()
            ? undefined
            : new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before "${text}":\n${tail()}`),
        );
      const timer = setTimeout(
        () => done(new Error(`${name} did not print "${text}" within ${timeoutMs} ms:\n${tail()}`)),
        timeoutMs,
      );
      proc.stdout.on('data', check);
      proc.stderr.on('data', check);
      proc.once('close', exited);
      if (seen() || closed) exited();
    });

  return {
    name,
    proc,
    output: () => out,
    async port() {
      await waitFor(/"msg":"listening"/);
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'))!;
      return (JSON.parse(line) as { port: number }).port;
    },
    waitFor,
    async kill() {
      if (alive()) proc.kill('SIGKILL');
      await gone;
    },
    async stop(graceMs = 15_000) {
      if (!alive()) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
}
