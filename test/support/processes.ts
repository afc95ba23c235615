import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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
export function spawnService(name: string, role: 'all' | 'receiver' | 'worker', env: Record<string, string>): ServiceProcess {
  const proc = spawn(process.execPath, [BIN, 'start', '--role', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const gone = new Promise<void>((ok) => proc.once('exit', () => ok()));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const tail = () => out.trimEnd().split('\n').slice(-25).join('\n');

  const waitFor = async (text: string | RegExp, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(typeof text === 'string' ? out.includes(text) : text.test(out))) {
      if (!alive()) throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before "${text}":\n${tail()}`);
      if (Date.now() > deadline) throw new Error(`${name} did not print "${text}" within ${timeoutMs} ms:\n${tail()}`);
      await sleep(50);
    }
  };

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
