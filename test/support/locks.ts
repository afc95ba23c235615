import type { Redis } from 'ioredis';
import { expect, vi } from 'vitest';
import type { Lease } from '../../src/redis/lock.ts';
import { SETTLE } from './env.ts';

/**
 * Waits until the lock of `lease` has been renewed `count` times (seen as its TTL rising), failing
 * if it ever stops being held by `lease`'s token. Renewals at a third of the lifetime apart, four
 * of them outlast one lifetime: the proof that a lock was kept, without sleeping a fixed time.
 */
export async function renewalsOf(redis: Redis, lease: Lease, count: number): Promise<void> {
  let previous = Number.POSITIVE_INFINITY;
  let renewals = 0;
  await vi.waitFor(async () => {
    const [[, holder], [, ttl]] = (await redis.multi().get(lease.key).pttl(lease.key).exec()) as [
      [unknown, string | null],
      [unknown, number],
    ];
    expect(holder, `holder of ${lease.key}`).toBe(lease.token);
    if (ttl > previous) renewals++;
    previous = ttl;
    expect(renewals, `renewals of ${lease.key}`).toBeGreaterThanOrEqual(count);
  }, SETTLE);
}
