import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import { findRedisServer, freePort } from '../../src/redis/local-server.ts';

/** A throw-away Redis Cluster of masters on loopback; `url` is a seed node for REDIS_URL. */
export interface LocalCluster {
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

function cli(args: string[]): string {
  const r = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0)
    throw new Error(`redis-cli ${args.join(' ')} failed: ${r.error?.message ?? ''}${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Starts `masters` redis-server processes with `--cluster-enabled yes` (AOF on, noeviction), joins
 * them with `redis-cli --cluster create --cluster-replicas 0`, and waits for `cluster_state:ok`
 * on every node.
 */
export async function startLocalCluster(masters = 3): Promise<LocalCluster> {
  const binary = findRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'cs-cluster-'));
  const ports: number[] = [];
  const procs: ChildProcess[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freePort();
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir);
    ports.push(port);
    procs.push(
      spawn(
        binary,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          nodeDir,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--appendonly',
          'yes',
          '--maxmemory-policy',
          'noeviction',
          '--save',
          '',
          '--loglevel',
          'warning',
        ],
        { stdio: 'ignore' },
      ),
    );
  }
  const stop = async () => {
    await Promise.all(
      procs.map((p) =>
        p.exitCode !== null || p.signalCode !== null
          ? Promise.resolve()
          : new Promise<void>((ok) => (p.once('exit', () => ok()), p.kill('SIGTERM'))),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await vi.waitFor(
        () =>
          expect(
            spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim(),
            `cluster node on ${port} started`,
          ).toBe('PONG'),
        { timeout: 10_000, interval: 50 },
      );
    }
    cli(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) {
      await vi.waitFor(
        () =>
          expect(cli(['-p', String(port), 'cluster', 'info']), `cluster node on ${port}`).toContain('cluster_state:ok'),
        { timeout: 20_000, interval: 50 },
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, ports, stop };
}
