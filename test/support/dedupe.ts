import type { Redis } from 'ioredis';
import { pendingKey } from '../../src/queues/pending-events.ts';

/**
 * As if the dedupe window of delivery `key` had passed: its pending record, which is the dedupe
 * marker, is gone; its jobs are not. The next delivery of the same event is accepted again.
 */
export async function endDedupeWindow(redis: Redis, prefix: string, key: string): Promise<void> {
  await redis.del(pendingKey(prefix, key));
}
