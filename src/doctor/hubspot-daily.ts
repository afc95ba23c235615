import type { Client } from '@hubspot/api-client';
import { readDailyUsage, readPortalDetails, type DailyUsage } from '../hubspot/account-info.ts';
import { dailyResetAt, formatPortalTime } from '../hubspot/daily-reset.ts';
import { classifyHubSpotError, type HubSpotFailure } from '../hubspot/errors.ts';
import { connectRedis, waitReady } from '../redis/connection.ts';
import { readHubSpotDaily, type HubSpotDailyOverview } from '../stats/hubspot-daily.ts';
import { ok, problem, unknown, type CheckResult } from './check.ts';

const NAME = 'HubSpot daily API limit';
const RAISE =
  'HubSpot work resumes by itself at the reset, every job kept; to resume sooner raise the limit in HubSpot (API limit increase or capacity pack) — a probe every 15 min notices';

const n = (x: number) => x.toLocaleString('en-US');

/**
 * The pause the workers recorded in Redis (REDIS_URL, QUEUE_PREFIX), if they did; undefined when
 * there is no REDIS_URL or Redis does not answer (the other Redis lines say why).
 */
export async function readRecordedPause(
  url: string | undefined,
  prefix: string,
  cluster: boolean,
): Promise<HubSpotDailyOverview | undefined> {
  if (!url) return undefined;
  const redis = connectRedis(url, 'producer', cluster);
  try {
    await waitReady(redis, 3_000);
    return await readHubSpotDaily(redis, prefix);
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

async function attempt<T>(read: () => Promise<T>): Promise<T | HubSpotFailure> {
  try {
    return await read();
  } catch (err) {
    return classifyHubSpotError(err);
  }
}
const failed = (x: unknown): x is HubSpotFailure => typeof (x as HubSpotFailure)?.kind === 'string';

/**
 * HubSpot's daily API limit: the private apps' usage today and when it starts again (the usage
 * endpoint, and the portal's time zone), and whether HubSpot work is paused for it — said plainly
 * when the limit is reached, with when work resumes.
 */
export async function checkHubSpotDailyLimit(
  client: Client,
  recorded?: HubSpotDailyOverview,
  now = Date.now(),
): Promise<CheckResult> {
  const [usage, details] = await Promise.all([
    attempt(() => readDailyUsage(client)),
    attempt(() => readPortalDetails(client)),
  ]);
  const timeZone = failed(details) ? recorded?.timeZone : details.timeZone;
  const zone = `portal time zone ${timeZone ?? 'unknown'}`;
  if (recorded?.paused && recorded.until) {
    const since = recorded.since ? formatPortalTime(Date.parse(recorded.since), timeZone) : 'earlier';
    return problem(
      NAME,
      `reached: HubSpot work paused since ${since} until ${formatPortalTime(Date.parse(recorded.until), timeZone)} (${zone}); jobs kept`,
      RAISE,
    );
  }
  if (failed(usage)) {
    if (usage.kind === 'rate_limited' && usage.policy === 'DAILY')
      return problem(NAME, `reached: HubSpot answers 429 DAILY until the portal's daily reset (${zone})`, RAISE);
    if (usage.status === 401) return unknown(NAME, 'not checked: the token was refused (401)');
    if (usage.kind === 'auth')
      return unknown(
        NAME,
        `the token may not read the daily usage (${usage.status})`,
        'no scope is documented for GET /account-info/v3/api-usage/daily/private-apps; check the private app in HubSpot (Settings → Integrations → Private apps → Logs)',
      );
    return unknown(NAME, `not read (${usage.message.slice(0, 160)})`);
  }
  return usageResult(usage, timeZone, now);
}

function usageResult(u: DailyUsage, timeZone: string | undefined, now: number): CheckResult {
  const reset = dailyResetAt({ resetsAt: u.resetsAt, timeZone }, now);
  const resets = `resets ${formatPortalTime(reset.at, timeZone)} (portal time zone ${timeZone ?? 'unknown'})`;
  const share = u.limit ? ` (${((u.usage / u.limit) * 100).toFixed(1)} %)` : '';
  if (u.limit && u.usage >= u.limit)
    return problem(
      NAME,
      `reached: ${n(u.usage)} of ${n(u.limit)} calls used today; HubSpot answers 429 until it ${resets}`,
      RAISE,
    );
  return ok(NAME, `${n(u.usage)} of ${n(u.limit)} calls used today${share}; ${resets}`);
}
