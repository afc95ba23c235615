import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { resolve } from 'node:path';

/** redis-server is not installed; the message says how to get it. */
export class RedisBinaryMissingError extends Error {
  constructor() {
    super(
      [
        'REDIS_URL is not set and no redis-server was found on PATH.',
        'Either point REDIS_URL at a Redis (6.2 or newer), or install one:',
        '  Debian/Ubuntu:  sudo apt-get install redis-server',
        '  macOS:          brew install redis',
        '  Docker:         docker compose up -d redis   (then REDIS_URL=redis://localhost:6379)',
      ].join('\n'),
    );
    this.name = 'RedisBinaryMissingError';
  }
}

export interface LocalRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop: () => Promise<void>;
}

export interface LocalRedisOptions {
  dataDir: string;
  /** 0 or unset: a free port. */
  port?: number;
  /** AOF fsync policy: `everysec` (default) or `always` (no loss on a crash, slower). */
  appendfsync?: 'always' | 'everysec';
  binary?: string;
}

/** Finds redis-server on PATH (or `binary`), or throws RedisBinaryMissingError. */
export function findRedisServer(binary = 'redis-server'): string {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new RedisBinaryMissingError();
  return binary;
}

/** Asks the OS for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

/** True when a Redis on loopback `port` answers PING (within `timeoutMs`). */
export function answersPing(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((ok) => {
    const sock = connect(port, '127.0.0.1');
    const done = (answer: boolean) => {
      sock.destroy();
      ok(answer);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d: Buffer) => done(d.toString().startsWith('+PONG')));
    sock.once('error', () => done(false));
  });
}

/**
 * Starts a private redis-server on loopback with AOF on and `maxmemory-policy noeviction`,
 * its data under `dataDir`; resolves once it accepts connections.
 */
export async function startLocalRedis(opts: LocalRedisOptions): Promise<LocalRedis> {
  const binary = findRedisServer(opts.binary);
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const port = opts.port || (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    opts.appendfsync ?? 'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  // A process group of its own: Ctrl-C on a terminal signals the whole foreground group, and Redis
  // must outlive the service's graceful stop (which ends it with SIGTERM once jobs are finished).
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));

  await new Promise<void>((ok, fail) => {
    const deadline = Date.now() + 15_000;
    let exited = false;
    const onExit = (code: number | null) => {
      exited = true;
      fail(new Error(`redis-server exited (${code}) before it was ready:\n${output.trim()}`));
    };
    child.once('exit', onExit);
    const probe = async () => {
      if (exited) return;
      if (await answersPing(port)) {
        child.off('exit', onExit);
        ok();
      } else if (Date.now() > deadline) fail(new Error(`redis-server did not answer on port ${port}:\n${output}`));
      else setTimeout(() => void probe(), 50);
    };
    void probe();
  });

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  };
}
