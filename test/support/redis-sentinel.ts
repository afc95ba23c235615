import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { expect, vi } from 'vitest';
import { answersPing, findRedisServer, freePort } from '../../src/redis/local-server.ts';
import { spawnLaggingLink, type LaggingLink } from './lagging-link.ts';

/** One redis-server (data node or sentinel) started by a test. */
export interface RedisProcess {
  port: number;
  proc: ChildProcess;
  /** SIGKILL; resolves once it is gone. */
  kill(): Promise<void>;
}

const gone = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;

function launch(args: string[], port: number): Promise<RedisProcess> {
  const proc = spawn(findRedisServer(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const kill = () =>
    gone(proc) ? Promise.resolve() : new Promise<void>((ok) => (proc.once('exit', () => ok()), proc.kill('SIGKILL')));
  return vi
    .waitFor(
      async () => {
        if (gone(proc)) throw new Error(`redis-server ${args.join(' ')} exited: ${err}`);
        expect(await answersPing(port)).toBe(true);
      },
      { timeout: 15_000, interval: 25 },
    )
    .then(() => ({ port, proc, kill }));
}

/**
 * A data node as the service's private Redis runs (AOF on, everysec, noeviction) in `dir`, on
 * `port` (or a free one), a replica of `replicaOf` when given.
 */
export async function startDataNode(
  dir: string,
  opts: { port?: number; replicaOf?: number } = {},
): Promise<RedisProcess> {
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
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
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
    '--loglevel',
    'warning',
  ];
  if (opts.replicaOf) args.push('--replicaof', '127.0.0.1', String(opts.replicaOf));
  return launch(args, port);
}

/** Waits until the replica on `port` is attached to its primary and has loaded what it sent. */
export async function replicaInStep(port: number): Promise<void> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  probe.on('error', () => undefined);
  try {
    await vi.waitFor(async () => expect(await probe.info('replication')).toMatch(/master_link_status:up/), {
      timeout: 20_000,
      interval: 50,
    });
  } finally {
    probe.disconnect();
  }
}

/** A sentinel watching the primary at `masterPort` as `name`: quorum 2, down after 1 s, failover timeout 5 s. */
async function startSentinel(dir: string, name: string, masterPort: number): Promise<RedisProcess> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'loglevel warning',
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n'),
  );
  return launch([conf, '--sentinel'], port);
}

/** Three sentinels, a primary and a replica on loopback; see startSentinelSet. */
export interface SentinelSet {
  name: string;
  /** REDIS_SENTINELS and REDIS_SENTINEL_MASTER for the service. */
  env: Record<string, string>;
  sentinels: RedisProcess[];
  primary: RedisProcess;
  replica: RedisProcess;
  /** The port the sentinels know the first primary by (its lagging link's, when there is one). */
  primaryAddressPort: number;
  link?: LaggingLink;
  /** The primary's port as the first sentinel names it now. */
  currentPrimaryPort(): Promise<number>;
  /** Starts the killed first primary again from its data folder, as a replica of `port`. */
  restartPrimaryAsReplicaOf(port: number): Promise<RedisProcess>;
  /** Stops every process and removes the data folders. */
  stop(): Promise<void>;
}

async function sentinelSays(port: number, name: string): Promise<Record<string, string>> {
  const s = new Redis({
    port,
    host: '127.0.0.1',
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  s.on('error', () => undefined);
  try {
    await s.connect();
    const reply = await s.call('SENTINEL', 'MASTER', name);
    const flat = Array.isArray(reply) ? (reply as string[]) : Object.entries(reply as object).flat();
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
    return out;
  } finally {
    s.disconnect();
  }
}

/**
 * Starts a primary, a replica of it and three sentinels (quorum 2, down after 1 s), each
 * redis-server with its own folder under one temporary directory, and waits until every sentinel
 * knows the replica and the two other sentinels. With `lagMs`, the replica reads the primary
 * through a LaggingLink in a process of its own (the sentinels, and so the clients, know the first
 * primary by the link's port: only the replication stream is held back). Anything started is stopped again when a step fails.
 */
export async function startSentinelSet(opts: { lagMs?: number; name?: string } = {}): Promise<SentinelSet> {
  const name = opts.name ?? 'mymaster';
  const root = mkdtempSync(join(tmpdir(), 'cs-sentinel-'));
  const started: RedisProcess[] = [];
  let link: LaggingLink | undefined;
  const stop = async () => {
    await Promise.all(started.map((p) => p.kill()));
    await link?.close();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const primary = await startDataNode(join(root, 'primary'));
    started.push(primary);
    link = opts.lagMs ? await spawnLaggingLink(primary.port, opts.lagMs) : undefined;
    const primaryAddressPort = link?.port ?? primary.port;
    const replica = await startDataNode(join(root, 'replica'), { replicaOf: primaryAddressPort });
    started.push(replica);
    await replicaInStep(replica.port);
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await startSentinel(join(root, `sentinel-${i}`), name, primaryAddressPort);
      sentinels.push(s);
      started.push(s);
    }
    for (const s of sentinels) {
      await vi.waitFor(
        async () => {
          const m = await sentinelSays(s.port, name);
          expect({ replicas: m['num-slaves'], others: m['num-other-sentinels'] }).toEqual({
            replicas: '1',
            others: '2',
          });
        },
        { timeout: 30_000, interval: 100 },
      );
    }
    return {
      name,
      env: { REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','), REDIS_SENTINEL_MASTER: name },
      sentinels,
      primary,
      replica,
      primaryAddressPort,
      link,
      currentPrimaryPort: async () => Number((await sentinelSays(sentinels[0]!.port, name)).port),
      restartPrimaryAsReplicaOf: async (port) => {
        const again = await startDataNode(join(root, 'primary'), { port: primary.port, replicaOf: port });
        started.push(again);
        return again;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
