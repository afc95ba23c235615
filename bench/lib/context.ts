import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config.ts';
import { startLocalRedis, type LocalRedis } from '../../src/redis/local-server.ts';
import { BENCH_SECRET } from './enrollments.ts';
import type { Report } from './report.ts';

/** What every scenario gets: the run's Redis, a folder for logs, the mode, and the report. */
export interface BenchContext {
  quick: boolean;
  /** Run service children under `node --cpu-prof` (profiles in `profileDir`). */
  profile: boolean;
  redisUrl: string;
  /** Process id of the run's redis-server (for CPU accounting). */
  redisPid: number;
  /** Admin connection to the run's Redis (INFO, counts). */
  redis: Redis;
  /** Temporary folder of this run (Redis data); removed at the end. */
  workDir: string;
  /** Children's logs, kept after the run for inspection. */
  logDir: string;
  profileDir: string;
  report: Report;
  /** Node flags that profile a child under `profileDir/<name>/` when --profile is on, else none. */
  profileFlags(name: string): string[];
  /** Environment of a service child: the run's Redis, its own queue prefix, quiet emulator credentials. */
  env(prefix: string, extra?: Record<string, string>): Record<string, string>;
  /** The Config a child started with `env(prefix, extra)` sees. */
  config(prefix: string, extra?: Record<string, string>): Config;
}

/** Starts the run's private Redis (temporary data folder, AOF everysec, noeviction). */
export async function openContext(opts: {
  quick: boolean;
  profile: boolean;
  report: Report;
  logDir: string;
  profileDir: string;
}): Promise<BenchContext & { close(): Promise<void> }> {
  const workDir = mkdtempSync(join(tmpdir(), 'course-sync-bench-'));
  const logDir = opts.logDir;
  mkdirSync(logDir, { recursive: true });
  const local: LocalRedis = await startLocalRedis({ dataDir: join(workDir, 'redis'), appendfsync: 'everysec' });
  const redis = new Redis(local.url);
  const env = (prefix: string, extra: Record<string, string> = {}) => ({
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    REDIS_URL: local.url,
    HOST: '127.0.0.1',
    PORT: '0',
    QUEUE_PREFIX: prefix,
    WEBHOOK_SECRET: BENCH_SECRET,
    HUBSPOT_ACCESS_TOKEN: 'pat-bench-token',
    HUBSPOT_BASE_URL: 'http://127.0.0.1:9',
    SENDGRID_API_KEY: 'SG.bench-key',
    SENDGRID_BASE_URL: 'http://127.0.0.1:9',
    DASHBOARD_PASSWORD: 'bench-dashboard',
    ...extra,
  });
  return {
    quick: opts.quick,
    profile: opts.profile,
    redisUrl: local.url,
    redisPid: local.process.pid!,
    redis,
    workDir,
    logDir,
    profileDir: opts.profileDir,
    report: opts.report,
    env,
    profileFlags: (name) => (opts.profile ? ['--cpu-prof', '--cpu-prof-dir', join(opts.profileDir, name)] : []),
    config: (prefix, extra) => loadConfig(env(prefix, extra)),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
      await local.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Redis `used_memory` in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
}

/** Commands processed and bytes received by Redis so far (INFO stats). */
export async function redisTraffic(redis: Redis): Promise<{ commands: number; inputBytes: number }> {
  const info = await redis.info('stats');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { commands: field('total_commands_processed'), inputBytes: field('total_net_input_bytes') };
}
