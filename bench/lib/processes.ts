import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = new URL('../../', import.meta.url).pathname;

/** A child process of the benchmark; its stdout and stderr go to `logFile`. */
export interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
  /** Current and peak resident set size in bytes (from /proc). */
  memory(): { rss: number; peak: number };
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Environment, log folder and node flags of a child. */
export interface SpawnOptions {
  env: Record<string, string>;
  logDir: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
}

const running = new Set<Child>();

/** Stops every child still running (on Ctrl-C or a crash of the bench). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop(3_000)));
}

/** Starts `node <flags> <script> <args>` from the project root with only `env` (plus PATH/HOME). */
export function spawnNode(name: string, script: string, args: string[], opts: SpawnOptions): Child {
  const logFile = join(opts.logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env };
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), script, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const child: Child = {
    name,
    proc,
    logFile,
    memory: () => procMemory(proc.pid!),
    stop: async (graceMs = 15_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((ok) => proc.once('exit', () => ok()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(child);
  proc.once('exit', () => running.delete(child));
  return child;
}

/** Starts the real service (`course-sync start --role <role>`). */
export function spawnService(name: string, role: 'all' | 'receiver' | 'worker', opts: SpawnOptions): Child {
  return spawnNode(name, 'bin/course-sync.js', ['start', '--role', role], opts);
}

/** Starts a TypeScript file under bench/ through tsx. */
export function spawnTs(name: string, file: string, args: string[], opts: SpawnOptions): Child {
  return spawnNode(name, file, args, { ...opts, nodeFlags: ['--import', 'tsx', ...(opts.nodeFlags ?? [])] });
}

/** RSS and peak RSS (VmHWM) of a process, in bytes. */
export function procMemory(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

/** CPU time (user + system) a process has used so far, in ms. */
export function procCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks are 1/100 s on Linux
  } catch {
    return 0;
  }
}

/** CPU time all processes of the machine have used so far (from /proc/stat), in ms. */
export function machineBusyMs(): number {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) * 10;
  } catch {
    return 0;
  }
}

/** Resolves once `url` answers 2xx; throws (showing the child's log) after `timeoutMs`. */
export async function waitHttp(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null)
      throw new Error(`${child.name} exited (${child.proc.exitCode}):\n${tail(child.logFile)}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${tail(child.logFile)}`);
}

/** Resolves once the child's log contains `text`. */
export async function waitLog(child: Child, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (readFileSync(child.logFile, 'utf8').includes(text)) return;
    if (child.proc.exitCode !== null)
      throw new Error(`${child.name} exited (${child.proc.exitCode}):\n${tail(child.logFile)}`);
    await sleep(100);
  }
  throw new Error(`${child.name} did not log "${text}" within ${timeoutMs} ms:\n${tail(child.logFile)}`);
}

/** The last lines of a log file. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
