import type { Redis } from 'ioredis';
import { bucketsOf, HOUR_BUCKET_TTL_S, MINUTE_BUCKET_TTL_S, type StatsKeys } from './keys.ts';

/** Counter totals over a period: field → sum. */
export type Totals = Record<string, number>;

/** Totals of the last hour (60 minute buckets) and the last day (24 hour buckets). */
export interface HourAndDay {
  hour: Totals;
  day: Totals;
}

function add(into: Totals, hash: Record<string, string>): void {
  for (const [field, value] of Object.entries(hash)) into[field] = (into[field] ?? 0) + Number(value);
}

/** Sums the counter hashes of the last hour and day for each of `scopes` (queue names, or `api`). */
export async function readTotals(redis: Redis, keys: StatsKeys, scopes: string[], now = Date.now()): Promise<Record<string, HourAndDay>> {
  const { minute, hour } = bucketsOf(now);
  const batch = redis.pipeline();
  const plan: { scope: string; period: 'hour' | 'day' }[] = [];
  for (const scope of scopes) {
    const key = (unit: 'm' | 'h', b: number) => (scope === 'api' ? keys.api(unit, b) : keys.queue(scope, unit, b));
    for (let m = minute - 59; m <= minute; m++) (batch.hgetall(key('m', m)), plan.push({ scope, period: 'hour' }));
    for (let h = hour - 23; h <= hour; h++) (batch.hgetall(key('h', h)), plan.push({ scope, period: 'day' }));
  }
  const results = (await batch.exec()) ?? [];
  const out: Record<string, HourAndDay> = Object.fromEntries(scopes.map((s) => [s, { hour: {}, day: {} }]));
  results.forEach(([err, hash], i) => {
    if (err) throw err;
    const { scope, period } = plan[i]!;
    add(out[scope]![period], hash as Record<string, string>);
  });
  return out;
}

/** The `course_sync_api_calls_total` counter, as far as the shipper reads it. */
export interface ApiCallsCounter {
  get(): Promise<{ values: { labels: Record<string, string | number | undefined>; value: number }[] }> | { values: { labels: Record<string, string | number | undefined>; value: number }[] };
}

/**
 * Copies this process's HubSpot/SendGrid call counts (the Prometheus counter the workers bump) to
 * Redis minute and hour buckets as deltas, fields `<api>:<status>`, so the overview page and the
 * alerts see the calls of every worker process, whichever process serves them.
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
    const deltas = [...totals].map(([field, total]) => [field, total - (this.shipped.get(field) ?? 0)] as const).filter(([, d]) => d > 0);
    if (!deltas.length) return;
    const { minute, hour } = bucketsOf(now);
    const mKey = this.keys.api('m', minute);
    const hKey = this.keys.api('h', hour);
    const batch = this.redis.multi();
    for (const [field, delta] of deltas) batch.hincrby(mKey, field, delta).hincrby(hKey, field, delta);
    await batch.expire(mKey, MINUTE_BUCKET_TTL_S).expire(hKey, HOUR_BUCKET_TTL_S).exec();
    this.shipped = totals;
  }
}

/** Sums the minute buckets of the last `minutes` minutes (this one included) of one scope (a queue, or `api`). */
export async function readRecentMinutes(redis: Redis, keys: StatsKeys, scope: string, minutes: number, now = Date.now()): Promise<Totals> {
  const { minute } = bucketsOf(now);
  const batch = redis.pipeline();
  for (let m = minute - minutes + 1; m <= minute; m++) batch.hgetall(scope === 'api' ? keys.api('m', m) : keys.queue(scope, 'm', m));
  const totals: Totals = {};
  for (const [err, hash] of (await batch.exec()) ?? []) {
    if (err) throw err;
    add(totals, hash as Record<string, string>);
  }
  return totals;
}
