import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import { readHubSpotDaily, type HubSpotDailyOverview } from '../stats/hubspot-daily.ts';

/**
 * The gauges of HubSpot's daily API limit, read from Redis at scrape time (the workers' records),
 * so any process serving /metrics shows the pause every worker process obeys:
 * `course_sync_hubspot_daily_limit_paused` (the rule CourseSyncHubSpotDailyLimitReached),
 * `course_sync_hubspot_daily_limit_reset_timestamp_seconds`, and the usage as last seen,
 * `course_sync_hubspot_daily_calls_limit` / `course_sync_hubspot_daily_calls_remaining` (0 until known).
 */
export function registerHubSpotDailyGauges(registry: Registry, redis: Redis, prefix: string): void {
  const registers = [registry];
  // Two small hashes read per gauge and scrape; undefined while Redis is away.
  const read = () => readHubSpotDaily(redis, prefix).catch(() => undefined);
  const gauge = (name: string, help: string, value: (d: HubSpotDailyOverview) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const d = await read();
        // While Redis is away the gauge keeps its last value (course_sync_redis_up says why).
        if (d) this.set(value(d));
      },
    });
  gauge(
    'course_sync_hubspot_daily_limit_paused',
    "Whether HubSpot work is paused (1) until the portal's daily reset because HubSpot answered 429 DAILY; jobs are kept",
    (d) => (d.paused ? 1 : 0),
  );
  gauge(
    'course_sync_hubspot_daily_limit_reset_timestamp_seconds',
    "When the paused HubSpot work resumes: the portal's daily reset (0 when not paused)",
    (d) => (d.paused && d.until ? Date.parse(d.until) / 1000 : 0),
  );
  gauge(
    'course_sync_hubspot_daily_calls_limit',
    'HubSpot API calls the private app may make a day, as last seen (0 until known)',
    (d) => d.limit ?? 0,
  );
  gauge(
    'course_sync_hubspot_daily_calls_remaining',
    'HubSpot API calls left today, as last seen (X-HubSpot-RateLimit-Daily-Remaining; 0 until known)',
    (d) => (d.limit === undefined ? 0 : Math.max(0, d.limit - (d.usage ?? 0))),
  );
}
