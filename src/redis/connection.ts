import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * How a connection behaves when Redis is away:
 * - `producer` (the receiver) fails fast so a webhook is answered 503 instead of hanging;
 * - `worker` waits and reconnects forever, as BullMQ workers require (`maxRetriesPerRequest: null`).
 */
export type ConnectionRole = 'producer' | 'worker';

/** Sentinels that name the current primary of `master` (REDIS_SENTINELS, REDIS_SENTINEL_MASTER). */
export interface SentinelTarget {
  nodes: { host: string; port: number }[];
  master: string;
  /** The sentinels' own password (REDIS_SENTINEL_PASSWORD). */
  password?: string;
}

/**
 * Where Redis is: `url`, one server (or, with `cluster`, one node of a Redis Cluster); or, with
 * `sentinel`, whichever primary the sentinels name now — `url` then gives only the user, password,
 * database and TLS (rediss://), its host and port are not used.
 */
export interface RedisTarget {
  url?: string;
  cluster?: boolean;
  sentinel?: SentinelTarget;
}

function redisOptions(role: ConnectionRole): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, commandTimeout: 5_000 };
}

/** User, password and TLS of a redis:// or rediss:// URL, for the connections ioredis does not build from a URL. */
function credentials(url: string | undefined): RedisOptions {
  if (!url) return {};
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * Through Sentinel: ioredis asks the sentinels for the primary before each (re)connection and checks
 * the server's role once connected. After a failover the old primary is gone (or demoted, and
 * READONLY): the connection reconnects, a producer's commands meanwhile fail at once (503) and a
 * worker's wait in its offline queue.
 */
function sentinelOptions(target: RedisTarget & { sentinel: SentinelTarget }, role: ConnectionRole): RedisOptions {
  const { sentinel, url } = target;
  const auth = credentials(url);
  const db = url ? Number(new URL(url).pathname.slice(1)) || 0 : 0;
  return {
    ...redisOptions(role),
    // A producer's command in flight when the primary goes fails at once (its webhook: 503), instead
    // of waiting to be sent again to whichever primary comes next.
    ...(role === 'producer' ? { maxRetriesPerRequest: 0 } : {}),
    ...auth,
    db,
    sentinels: sentinel.nodes,
    name: sentinel.master,
    ...(sentinel.password ? { sentinelPassword: sentinel.password } : {}),
    // rediss:// means TLS to the primary and to the sentinels alike.
    ...(auth.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    sentinelCommandTimeout: 2_000,
    // A failover takes seconds: look for the new primary every 100 ms to 1 s (ioredis' default backs off to 5 s).
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
    // The primary was demoted under this connection (a manual failover): reconnect, through the sentinels.
    // A worker's command is sent again to the new primary; a producer's fails and its webhook is answered 503.
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? (role === 'worker' ? 2 : 1) : false),
  };
}

/**
 * Opens an ioredis connection to `target` for the given role: one server, the primary the sentinels
 * name (a Redis instance that follows failovers), or a Redis Cluster — an ioredis `Cluster`, which has
 * the same command API and which BullMQ accepts, typed as `Redis` so callers need not care (every key
 * lives under the {hash-tagged} QUEUE_PREFIX, so multi-key scripts and MULTI stay in one slot).
 * Every connection course-sync makes is opened here.
 */
export function connectRedis(target: RedisTarget | string, role: ConnectionRole): Redis {
  const t = typeof target === 'string' ? { url: target } : target;
  let redis: Redis;
  if (t.sentinel) redis = new Redis(sentinelOptions({ ...t, sentinel: t.sentinel }, role));
  else if (!t.url) throw new Error('connectRedis: neither a Redis URL nor sentinels given');
  else if (t.cluster) redis = connectCluster(t.url, role) as unknown as Redis;
  else redis = new Redis(t.url, { ...redisOptions(role), lazyConnect: false });
  redis.on('error', () => {
    /* reconnects on its own; readiness reports the outage */
  });
  return redis;
}

function connectCluster(url: string, role: ConnectionRole): Cluster {
  const u = new URL(url);
  const { enableOfflineQueue, ...perNode } = { ...redisOptions(role), ...credentials(url) };
  return new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    redisOptions: perNode,
    // The producer fails fast while the cluster is unreachable (503), as on a single node.
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
  });
}

/**
 * A connection to one sentinel (for `doctor`: what it says about the master), failing fast: no
 * retries, no reconnection. TLS when `target.url` is rediss://, as the service's own sentinel lookups.
 */
export function connectSentinel(
  node: { host: string; port: number },
  target: RedisTarget & { sentinel: SentinelTarget },
): Redis {
  const tls = target.url ? credentials(target.url).tls : undefined;
  const redis = new Redis({
    host: node.host,
    port: node.port,
    ...(target.sentinel.password ? { password: target.sentinel.password } : {}),
    ...(tls ? { tls } : {}),
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  redis.on('error', () => undefined);
  return redis;
}

/** Where `target` points, for logs and messages: never a password. */
export function describeRedis(target: RedisTarget): string {
  if (target.sentinel)
    return `the primary of "${target.sentinel.master}" named by the sentinels ${target.sentinel.nodes.map((n) => `${n.host}:${n.port}`).join(', ')}`;
  if (!target.url) return 'no Redis';
  try {
    const u = new URL(target.url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'REDIS_URL';
  }
}

/** A Redis URL as it may be shown: its password replaced by `***`. */
export function redactRedisUrl(url: string): string {
  return describeRedis({ url });
}

/** A Redis did not answer in time; the message names it (password hidden). */
export class RedisUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnreachableError';
  }
}

/**
 * Resolves when `redis` is ready, or rejects after `timeoutMs` with a RedisUnreachableError that
 * names `target` (when given: a URL or the Sentinel set) without its password.
 */
export function waitReady(redis: Redis, timeoutMs = 10_000, target?: RedisTarget | string): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      fail(
        new RedisUnreachableError(
          `Redis${target ? ` at ${describeRedis(typeof target === 'string' ? { url: target } : target)}` : ''} not reachable within ${timeoutMs / 1000} s`,
        ),
      );
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      ok();
    };
    redis.once('ready', onReady);
  });
}
