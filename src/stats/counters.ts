import type { Redis } from 'ioredis';
import { BUCKETS, bucketOf, type BucketUnit, type StatsKeys } from './keys.ts';

/** Counter totals over a period: field → sum. */
export type Totals = Record<string, number>;

/** Totals of the last hour (60 minute buckets) and the last day (96 quarter-hour buckets). */
export interface HourAndDay {
  hour: Totals;
  day: Totals;
}

/** One bucket of a series: when it starts (ms) and what was counted in it. */
export interface Bucket {
  start: number;
  counts: Totals;
}

/** Fields that are samples (the waiting depth), not counts: they are not summed. */
const SAMPLES = new Set(['waiting']);

/** A counter scope is a work queue's name, or `api` for the HubSpot/SendGrid calls. */
function keyOf(keys: StatsKeys, scope: string, unit: BucketUnit, bucket: number): string {
  return scope === 'api' ? keys.api(unit, bucket) : keys.queue(scope, unit, bucket);
}

/** The last `count` buckets of `unit` of one scope, oldest first (buckets with nothing counted are `{}`). */
export async function readSeries(
  redis: Redis,
  keys: StatsKeys,
  scope: string,
  unit: BucketUnit,
  count: number,
  now = Date.now(),
): Promise<Bucket[]> {
  const first = bucketOf(now, unit) - count + 1;
  const batch = redis.pipeline();
  for (let b = first; b < first + count; b++) batch.hgetall(keyOf(keys, scope, unit, b));
  return ((await batch.exec()) ?? []).map(([err, hash], i) => {
    if (err) throw err;
    const counts = Object.fromEntries(Object.entries(hash as Record<string, string>).map(([f, v]) => [f, Number(v)]));
    return { start: (first + i) * BUCKETS[unit].ms, counts };
  });
}

/** Reads a series of one moment (see `seriesReader`). */
export type SeriesRead = (scope: string, unit: BucketUnit, count: number) => Promise<Bucket[]>;

/**
 * `readSeries` at one moment, each series read once however many ask for it: the overview's
 * figures and its pictures read the same minute and quarter-hour buckets.
 */
export function seriesReader(redis: Redis, keys: StatsKeys, now = Date.now()): SeriesRead {
  const read = new Map<string, Promise<Bucket[]>>();
  return (scope, unit, count) => {
    const id = `${scope}\n${unit}\n${count}`;
    let series = read.get(id);
    if (!series) read.set(id, (series = readSeries(redis, keys, scope, unit, count, now)));
    return series;
  };
}

/** The sum of every counted field over a series (samples left out). */
export function sumSeries(series: Bucket[]): Totals {
  const totals: Totals = {};
  for (const { counts } of series)
    for (const [f, n] of Object.entries(counts)) if (!SAMPLES.has(f)) totals[f] = (totals[f] ?? 0) + n;
  return totals;
}

/** Sums the counters of the last hour and day for each of `scopes` (queue names, or `api`). */
export async function readTotals(
  redis: Redis,
  keys: StatsKeys,
  scopes: string[],
  now = Date.now(),
  series = seriesReader(redis, keys, now),
): Promise<Record<string, HourAndDay>> {
  const read = async (scope: string): Promise<[string, HourAndDay]> => {
    const [hour, day] = await Promise.all([series(scope, 'm', 60), series(scope, 'q', 96)]);
    return [scope, { hour: sumSeries(hour), day: sumSeries(day) }];
  };
  return Object.fromEntries(await Promise.all(scopes.map(read)));
}

/** Sums the minute buckets of the last `minutes` minutes (this one included) of one scope (a queue, or `api`). */
export async function readRecentMinutes(
  redis: Redis,
  keys: StatsKeys,
  scope: string,
  minutes: number,
  now = Date.now(),
): Promise<Totals> {
  return sumSeries(await readSeries(redis, keys, scope, 'm', minutes, now));
}
