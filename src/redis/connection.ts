import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * How a connection behaves when Redis is away:
 * - `producer` (the receiver) fails fast so a webhook is answered 503 instead of hanging;
 * - `worker` waits and reconnects forever, as BullMQ workers require (`maxRetriesPerRequest: null`).
 */
export type ConnectionRole = 'producer' | 'worker';

function redisOptions(role: ConnectionRole): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, commandTimeout: 5_000 };
}

/**
 * Opens an ioredis connection to `url` for the given role. With `cluster` (REDIS_CLUSTER), `url`
 * is one node of a Redis Cluster and the others are discovered from it; the result is an ioredis
 * `Cluster`, which has the same command API and which BullMQ accepts, typed as `Redis` so callers
 * need not care (every key lives under the {hash-tagged} QUEUE_PREFIX, so multi-key scripts and
 * MULTI stay in one slot).
 */
export function connectRedis(url: string, role: ConnectionRole, cluster = false): Redis {
  const redis = cluster
    ? (connectCluster(url, role) as unknown as Redis)
    : new Redis(url, { ...redisOptions(role), lazyConnect: false });
  redis.on('error', () => {
    /* reconnects on its own; readiness reports the outage */
  });
  return redis;
}

function connectCluster(url: string, role: ConnectionRole): Cluster {
  const u = new URL(url);
  const node: RedisOptions = {
    ...redisOptions(role),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const { enableOfflineQueue, ...perNode } = node;
  return new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    redisOptions: perNode,
    // The producer fails fast while the cluster is unreachable (503), as on a single node.
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
  });
}

/** Resolves when `redis` is ready, or rejects after `timeoutMs`. */
export function waitReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      fail(new Error(`Redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      ok();
    };
    redis.once('ready', onReady);
  });
}
