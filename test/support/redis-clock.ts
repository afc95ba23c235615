import type { Redis } from 'ioredis';
import { globSafe, scanKeys } from '../../src/redis/keys.ts';

/**
 * Lets `ms` pass for every key under `prefix` that has a TTL, as far as Redis is concerned: each
 * TTL shrinks by `ms`, and a key with less left is gone. (Keys without a TTL are left alone.) No
 * real waiting: what the records would look like that much later.
 */
export async function ageKeys(redis: Redis, prefix: string, ms: number): Promise<{ expired: string[] }> {
  const keys = await scanKeys(redis, `${globSafe(prefix)}:*`);
  const ttls = keys.length ? ((await keys.reduce((p, k) => p.pttl(k), redis.pipeline()).exec()) ?? []) : [];
  const expired: string[] = [];
  const batch = redis.pipeline();
  keys.forEach((key, i) => {
    const left = Number(ttls[i]?.[1]);
    if (left < 0) return;
    if (left <= ms) {
      expired.push(key);
      batch.del(key);
    } else batch.pexpire(key, left - ms);
  });
  await batch.exec();
  return { expired };
}

export const DAY_MS = 86_400_000;
