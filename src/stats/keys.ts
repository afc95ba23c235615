import { recordKey } from '../redis/keys.ts';

/** A counter's time bucket: `m` one minute, `h` one hour (bucket number = time since the epoch / its length). */
export type BucketUnit = 'm' | 'h';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Minute buckets are kept two hours, hour buckets two days: enough for "last hour" and "last day". */
export const MINUTE_BUCKET_TTL_S = 2 * 3600;
export const HOUR_BUCKET_TTL_S = 2 * 86_400;

/** The minute and hour bucket numbers of an instant. */
export function bucketsOf(ms: number): { minute: number; hour: number } {
  return { minute: Math.floor(ms / MINUTE_MS), hour: Math.floor(ms / HOUR_MS) };
}

/** Redis keys of the time-bucketed counters (hashes), under the queue prefix. */
export class StatsKeys {
  constructor(readonly prefix: string) {}

  /** Per-queue job counters of one bucket, fields completed / retried / failed. */
  queue(queue: string, unit: BucketUnit, bucket: number): string {
    return recordKey(this.prefix, 'stats', queue, unit, String(bucket));
  }

  /** HubSpot/SendGrid call counters of one bucket, fields `<api>:<status>`. */
  api(unit: BucketUnit, bucket: number): string {
    return recordKey(this.prefix, 'stats', 'api', unit, String(bucket));
  }
}
