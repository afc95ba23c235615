import { recordKey } from '../redis/keys.ts';

/**
 * A counter's time bucket: `s` ten seconds (the HubSpot budget picture), `m` one minute (the last
 * hour), `q` a quarter of an hour (the last day). A bucket's number is the time since the epoch
 * divided by its length.
 */
export type BucketUnit = 's' | 'm' | 'q';

/** Length of a bucket, and how long after its end it is kept: a little more than its picture shows. */
export const BUCKETS: Record<BucketUnit, { ms: number; keepMs: number }> = {
  s: { ms: 10_000, keepMs: 35 * 60_000 },
  m: { ms: 60_000, keepMs: 65 * 60_000 },
  q: { ms: 15 * 60_000, keepMs: 24 * 3_600_000 + 15 * 60_000 },
};

/** The bucket of `unit` an instant falls in. */
export function bucketOf(ms: number, unit: BucketUnit): number {
  return Math.floor(ms / BUCKETS[unit].ms);
}

/** When a bucket expires (Unix seconds, for EXPIREAT): its end plus its keep time. A bucket already past that is deleted at once. */
export function expiresAt(bucket: number, unit: BucketUnit): number {
  return Math.ceil(((bucket + 1) * BUCKETS[unit].ms + BUCKETS[unit].keepMs) / 1000);
}

/** The counter scope of SendGrid's events (fields: the event types), beside the work queues and `api`. */
export const EMAIL_SCOPE = 'email';

/** Redis keys of the time-bucketed counters (hashes), under the queue prefix. */
export class StatsKeys {
  constructor(readonly prefix: string) {}

  /** Per-queue job counters of one bucket: completed / retried / failed, and the waiting depth sampled. */
  queue(queue: string, unit: BucketUnit, bucket: number): string {
    return recordKey(this.prefix, 'stats', queue, unit, String(bucket));
  }

  /** HubSpot/SendGrid call counters of one bucket, fields `<api>:<status>`. */
  api(unit: BucketUnit, bucket: number): string {
    return recordKey(this.prefix, 'stats', 'api', unit, String(bucket));
  }
}
