import { Redis, type RedisOptions } from 'ioredis';

/**
 * How a connection behaves when Redis is away:
 * - `producer` (the receiver) fails fast so a webhook is answered 503 instead of hanging;
 * - `worker` waits and reconnects forever, as BullMQ workers require (`maxRetriesPerRequest: null`).
 */
export type ConnectionRole = 'producer' | 'worker';

export function redisOptions(role: ConnectionRole): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, commandTimeout: 5_000 };
}

/** Opens an ioredis connection to `url` for the given role. */
export function connectRedis(url: string, role: ConnectionRole): Redis {
  const redis = new Redis(url, { ...redisOptions(role), lazyConnect: false });
  redis.on('error', () => {
    /* reconnects on its own; readiness reports the outage */
  });
  return redis;
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
