import { spawnSync } from 'node:child_process';
import type { Redis } from 'ioredis';
import { connectRedis, waitReady } from '../redis/connection.ts';
import { ok, problem, unknown, type CheckResult } from './check.ts';

/** BullMQ needs Redis 6.2 or newer. */
const MIN_REDIS_VERSION = [6, 2, 0] as const;

/** True when dotted version `v` is at least `min`. */
function versionAtLeast(v: string, min: readonly number[]): boolean {
  const parts = v.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) > min[i]!;
  }
  return true;
}

/** `field:value` lines of an INFO section as a map. */
function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/**
 * A server setting: from INFO when it reports it (allowed on most managed Redis), else from
 * CONFIG GET; undefined when neither is allowed.
 */
async function setting(
  redis: Redis,
  info: Record<string, string>,
  infoField: string,
  configName: string,
): Promise<string | undefined> {
  if (info[infoField] !== undefined) return info[infoField];
  try {
    const [, value] = await redis.config('GET', configName);
    return value;
  } catch {
    return undefined;
  }
}

async function info(redis: Redis): Promise<Record<string, string>> {
  try {
    return parseInfo(await redis.info());
  } catch {
    return {};
  }
}

const VERSION_FIX = 'BullMQ needs Redis 6.2 or newer: upgrade the server (docker compose uses redis:7)';
const POLICY_FIX =
  "set maxmemory-policy noeviction (redis.conf, `redis-server --maxmemory-policy noeviction`, or your provider's console): any other policy may silently delete queued jobs";
const AOF_FIX = 'turn on the append-only file (appendonly yes) so acknowledged webhooks survive a Redis restart';

/** Checks the Redis at `url`: reachable, version, eviction policy, AOF. */
export async function checkRedis(url: string, timeoutMs = 3_000): Promise<CheckResult[]> {
  const redis = connectRedis(url, 'producer');
  try {
    try {
      await waitReady(redis, timeoutMs);
      await redis.ping();
    } catch (err) {
      return [
        problem(
          'Redis reachable',
          `no answer from ${redactUrl(url)} (${(err as Error).message})`,
          'start Redis or correct REDIS_URL',
        ),
      ];
    }
    const results: CheckResult[] = [ok('Redis reachable', redactUrl(url))];
    const fields = await info(redis);

    const version = fields.redis_version;
    if (!version) results.push(unknown('Redis version', 'INFO is not allowed on this server', VERSION_FIX));
    else if (versionAtLeast(version, MIN_REDIS_VERSION)) results.push(ok('Redis version', version));
    else results.push(problem('Redis version', `${version} is older than ${MIN_REDIS_VERSION.join('.')}`, VERSION_FIX));

    const policy = await setting(redis, fields, 'maxmemory_policy', 'maxmemory-policy');
    if (policy === undefined)
      results.push(
        unknown('Redis eviction policy', 'neither INFO nor CONFIG GET reports maxmemory-policy here', POLICY_FIX),
      );
    else if (policy === 'noeviction') results.push(ok('Redis eviction policy', 'noeviction'));
    else results.push(problem('Redis eviction policy', `maxmemory-policy is ${policy}`, POLICY_FIX));

    const aof = await setting(redis, fields, 'aof_enabled', 'appendonly');
    if (aof === undefined)
      results.push(unknown('Redis append-only file', 'neither INFO nor CONFIG GET reports it here', AOF_FIX));
    else if (aof === '1' || aof === 'yes') {
      let fsync: string | undefined;
      try {
        fsync = (await redis.config('GET', 'appendfsync'))[1];
      } catch {
        /* CONFIG disabled: fsync policy unknown, AOF still on */
      }
      results.push(ok('Redis append-only file', fsync ? `on (appendfsync ${fsync})` : 'on'));
    } else results.push(problem('Redis append-only file', 'off', AOF_FIX));
    return results;
  } finally {
    redis.disconnect();
  }
}

/** Checks that the private redis-server started when REDIS_URL is unset exists and is new enough. */
export function checkLocalRedisBinary(binary = 'redis-server'): CheckResult[] {
  const name = 'Redis (private redis-server)';
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return [
      problem(
        name,
        'REDIS_URL is not set and no redis-server is on PATH',
        'set REDIS_URL, or install Redis 6.2+ (apt-get install redis-server, brew install redis)',
      ),
    ];
  }
  const version = /v=(\d+\.\d+\.\d+)/.exec(probe.stdout)?.[1] ?? '';
  if (!versionAtLeast(version, MIN_REDIS_VERSION))
    return [problem(name, `redis-server ${version} is older than 6.2`, VERSION_FIX)];
  return [ok(name, `REDIS_URL not set: redis-server ${version} from PATH will be started with AOF on and noeviction`)];
}

/** The URL without its password, for output. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'REDIS_URL';
  }
}
