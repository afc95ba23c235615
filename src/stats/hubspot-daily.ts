import type { Redis } from 'ioredis';
import { DailyLimitStore } from '../hubspot/daily-limit-store.ts';
import type { ResetSource } from '../hubspot/daily-reset.ts';

/** HubSpot's daily API limit as the overview, /metrics, the alerts and `doctor` show it. */
export interface HubSpotDailyOverview {
  /** True while HubSpot work is paused for the daily limit (jobs kept, waiting for the reset). */
  paused: boolean;
  /** When the pause began and when HubSpot's day starts again (ISO 8601), while paused. */
  since?: string;
  until?: string;
  /** Where `until` came from: HubSpot's `resetsAt`, midnight in the portal's time zone, or midnight UTC (`pending`: being looked up). */
  resetSource?: ResetSource | 'pending';
  /** HubSpot's `policyName` ("DAILY"). */
  policy?: string;
  /** The portal's time zone, when known. */
  timeZone?: string;
  /** When the last probe request went out (ISO 8601). */
  lastProbe?: string;
  /** Calls used today and allowed a day, when known (from the last answer's headers or the usage endpoint). */
  usage?: number;
  limit?: number;
  /** When those figures were seen (ISO 8601). */
  usageAt?: string;
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

/** Reads the pause record and the last-seen daily usage (both written by the workers). */
export async function readHubSpotDaily(redis: Redis, prefix: string, now = Date.now()): Promise<HubSpotDailyOverview> {
  const store = new DailyLimitStore(redis, prefix);
  const [pause, seen] = await Promise.all([store.readPause(), store.readUsage()]);
  const usage = seen ? { usage: seen.limit - seen.remaining, limit: seen.limit, usageAt: iso(seen.at) } : {};
  if (!pause || pause.until <= now) return { paused: false, ...usage };
  return {
    paused: true,
    since: iso(pause.since),
    until: iso(pause.until),
    resetSource: pause.resetSource,
    policy: pause.policy,
    timeZone: pause.timeZone,
    lastProbe: iso(pause.probedAt),
    // What the usage endpoint said when the limit was reached, unless answers since said more.
    ...(pause.limit !== undefined && pause.usage !== undefined
      ? { usage: pause.usage, limit: pause.limit, usageAt: iso(pause.since) }
      : {}),
    ...usage,
  };
}
