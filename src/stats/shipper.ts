import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { bucketOf, expiresAt, type BucketUnit, type StatsKeys } from './keys.ts';

/** The `course_sync_api_calls_total` counter, as far as the shipper reads it. */
export interface ApiCallsCounter {
  get():
    | Promise<{ values: { labels: Record<string, string | number | undefined>; value: number }[] }>
    | { values: { labels: Record<string, string | number | undefined>; value: number }[] };
}

const API_UNITS: BucketUnit[] = ['s', 'm', 'q'];
const DEPTH_UNITS: BucketUnit[] = ['m', 'q'];

/**
 * Copies this process's HubSpot/SendGrid call counts (the Prometheus counter the workers bump) to
 * Redis ten-second, minute and quarter-hour buckets as deltas, fields `<api>:<status>`, so the
 * overview and the alerts see the calls of every worker process, whichever process serves them.
 * Off the hot path: one MULTI every few seconds, whatever the traffic.
 */
export class ApiStatsShipper {
  private shipped = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: StatsKeys,
    private readonly counter: ApiCallsCounter,
  ) {}

  /** Writes what was counted since the last ship; on a Redis error the next ship carries it. */
  async ship(now = Date.now()): Promise<void> {
    const totals = new Map<string, number>();
    for (const { labels, value } of (await this.counter.get()).values) {
      const field = `${labels.api ?? 'unknown'}:${labels.status ?? 'unknown'}`;
      totals.set(field, (totals.get(field) ?? 0) + value);
    }
    const deltas = [...totals]
      .map(([field, total]) => [field, total - (this.shipped.get(field) ?? 0)] as const)
      .filter(([, d]) => d > 0);
    if (!deltas.length) return;
    const batch = this.redis.multi();
    for (const unit of API_UNITS) {
      const bucket = bucketOf(now, unit);
      const key = this.keys.api(unit, bucket);
      for (const [field, delta] of deltas) batch.hincrby(key, field, delta);
      batch.expireat(key, expiresAt(bucket, unit));
    }
    await batch.exec();
    this.shipped = totals;
  }
}

/** Samples how many jobs wait in each work queue into its minute and quarter-hour buckets (field `waiting`, the latest sample). */
export async function sampleWaiting(redis: Redis, keys: StatsKeys, queues: Queue[], now = Date.now()): Promise<void> {
  const depths = await Promise.all(
    queues.map(
      async (q) =>
        [q.name, Object.values(await q.getJobCounts('waiting', 'prioritized')).reduce((a, b) => a + b, 0)] as const,
    ),
  );
  const batch = redis.multi();
  for (const unit of DEPTH_UNITS) {
    const bucket = bucketOf(now, unit);
    for (const [name, depth] of depths)
      batch
        .hset(keys.queue(name, unit, bucket), 'waiting', depth)
        .expireat(keys.queue(name, unit, bucket), expiresAt(bucket, unit));
  }
  await batch.exec();
}
