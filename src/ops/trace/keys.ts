import { recordKey } from '../../queues/names.ts';
import type { IndexKind } from './model.ts';

/** Redis keys of the trace store, all under the queue prefix (one {hash-tag} slot on a cluster). */
export class TraceKeys {
  constructor(readonly prefix: string) {}

  /** The hash holding one event's header (field `h`) and steps (fields `s:<order>`). */
  trace(key: string): string {
    return recordKey(this.prefix, 'trace', key);
  }

  /** Sorted set of trace keys found by one value (score: received at, ms). */
  index(kind: IndexKind, value: string): string {
    return recordKey(this.prefix, 'trace-idx', kind, encodeURIComponent(value.slice(0, 200)));
  }

  /** The generated HMAC key for e-mail hashes, when PII_HASH_KEY is not set. */
  piiHashKey(): string {
    return recordKey(this.prefix, 'pii-hash-key');
  }

  /** Per-queue job counters of one time bucket (`m` minute or `h` hour, number since the epoch). */
  queueStats(queue: string, unit: 'm' | 'h', bucket: number): string {
    return recordKey(this.prefix, 'stats', queue, unit, String(bucket));
  }

  /** HubSpot/SendGrid call counters of one time bucket, fields `<api>:<status>`. */
  apiStats(unit: 'm' | 'h', bucket: number): string {
    return recordKey(this.prefix, 'stats', 'api', unit, String(bucket));
  }

  /** Where the tracer resumes reading a queue's event stream. */
  cursor(queue: string): string {
    return recordKey(this.prefix, 'trace-cursor', queue);
  }
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** Minute buckets are kept two hours, hour buckets two days: enough for "last hour" and "last day". */
export const MINUTE_BUCKET_TTL_S = 2 * 3600;
export const HOUR_BUCKET_TTL_S = 2 * 86_400;

/** The minute and hour bucket numbers of an instant. */
export function bucketsOf(ms: number): { minute: number; hour: number } {
  return { minute: Math.floor(ms / MINUTE_MS), hour: Math.floor(ms / HOUR_MS) };
}
