import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { luaScript } from '../redis/scripts.ts';
import type { ResetSource } from './daily-reset.ts';

/**
 * HubSpot work paused for the daily API limit, as every process, the overview, /metrics and
 * `doctor` read it (`<prefix>:cs:hubspot:daily-limit`, a hash). No personal data: times, counts and
 * the portal's time zone. It lives until the reset plus PAUSE_MARGIN_MS, so it never outlasts a day.
 */
export interface DailyLimitPauseRecord {
  /** When the pause began (ms). */
  since: number;
  /** When HubSpot's daily count starts again (ms): work resumes then, or earlier after a successful probe. */
  until: number;
  /** HubSpot's `policyName` ("DAILY"). */
  policy: string;
  /** Where `until` came from; `pending` for the moments the process that met the limit first looks it up. */
  resetSource: ResetSource | 'pending';
  /** The portal's time zone, when known (times are shown in it). */
  timeZone?: string;
  /** Calls used today and the daily limit, when HubSpot said. */
  usage?: number;
  limit?: number;
  /** When the last probe request was sent (ms), 0 before the first. */
  probedAt: number;
}

/**
 * The portal's daily usage as last seen (`<prefix>:cs:hubspot:daily-usage`, a hash): from the
 * `X-HubSpot-RateLimit-Daily` / `-Daily-Remaining` headers of any answer, or from the usage endpoint.
 */
export interface DailyUsageRecord {
  limit: number;
  remaining: number;
  /** When it was seen (ms). */
  at: number;
  source: 'headers' | 'api-usage';
}

/** The pause record outlives its reset by this much, in case no process is left to end it. */
export const PAUSE_MARGIN_MS = 60 * 60_000;
/** Last-seen usage is of today only: it is dropped a day after it was written at the latest. */
const USAGE_TTL_MS = 24 * 60 * 60_000;

// Claims the probe if none was sent in the last `intervalMs` (1: this caller may probe); starts a
// pause unless one is in force (1: this caller started it). scripts/*.lua name each argument.
const CLAIM_PROBE = luaScript<[pauseKey: string, nowMs: number, intervalMs: number], 0 | 1>(
  import.meta.url,
  'scripts/claim-daily-probe.lua',
  1,
);
const START_PAUSE = luaScript<
  [pauseKey: string, nowMs: number, ttlMs: number, ...fieldsAndValues: (string | number)[]],
  0 | 1
>(import.meta.url, 'scripts/start-daily-pause.lua', 1);

const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));

/** Reads and writes the daily-limit records (see DailyLimitPauseRecord, DailyUsageRecord). */
export class DailyLimitStore {
  readonly pauseKey: string;
  readonly usageKey: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.pauseKey = recordKey(prefix, 'hubspot', 'daily-limit');
    this.usageKey = recordKey(prefix, 'hubspot', 'daily-usage');
  }

  async readPause(): Promise<DailyLimitPauseRecord | undefined> {
    const h = await this.redis.hgetall(this.pauseKey);
    const since = num(h.since);
    const until = num(h.until);
    if (since === undefined || until === undefined) return undefined;
    return {
      since,
      until,
      policy: h.policy || 'DAILY',
      resetSource: (h.resetSource as DailyLimitPauseRecord['resetSource']) || 'utc',
      timeZone: h.timeZone || undefined,
      usage: num(h.usage),
      limit: num(h.limit),
      probedAt: num(h.probedAt) ?? 0,
    };
  }

  /**
   * Writes `r` unless a pause is in force at `now` (another process got there first): true when
   * this caller's record was written. All processes meeting the limit at once so agree on one.
   */
  async startPause(r: DailyLimitPauseRecord, now: number): Promise<boolean> {
    const flat = Object.entries(fieldsOf(r)).flat();
    return Number(await START_PAUSE.run(this.redis, this.pauseKey, now, ttlOf(r, now), ...flat)) === 1;
  }

  /** Writes the pause, living until its reset plus PAUSE_MARGIN_MS from `now`. */
  async writePause(r: DailyLimitPauseRecord, now: number): Promise<void> {
    await this.redis
      .multi()
      .del(this.pauseKey)
      .hset(this.pauseKey, fieldsOf(r))
      .pexpire(this.pauseKey, ttlOf(r, now))
      .exec();
  }

  /** Removes the pause; false when there was none (another process ended it first). */
  async clearPause(): Promise<boolean> {
    return (await this.redis.del(this.pauseKey)) === 1;
  }

  /** True when this caller may send the probe now: none was sent in the last `intervalMs`, in any process. */
  async claimProbe(now: number, intervalMs: number): Promise<boolean> {
    return Number(await CLAIM_PROBE.run(this.redis, this.pauseKey, now, intervalMs)) === 1;
  }

  async readUsage(): Promise<DailyUsageRecord | undefined> {
    const h = await this.redis.hgetall(this.usageKey);
    const limit = num(h.limit);
    const remaining = num(h.remaining);
    if (limit === undefined || remaining === undefined) return undefined;
    return { limit, remaining, at: num(h.at) ?? 0, source: h.source === 'api-usage' ? 'api-usage' : 'headers' };
  }

  /** Keeps the usage for `ttlMs` at most (a day by default: after the reset it is yesterday's). */
  async writeUsage(u: DailyUsageRecord, ttlMs = USAGE_TTL_MS): Promise<void> {
    await this.redis
      .multi()
      .hset(this.usageKey, { limit: u.limit, remaining: u.remaining, at: u.at, source: u.source })
      .pexpire(this.usageKey, Math.max(1, Math.ceil(Math.min(ttlMs, USAGE_TTL_MS))))
      .exec();
  }

  async clearUsage(): Promise<void> {
    await this.redis.del(this.usageKey);
  }
}

function fieldsOf(r: DailyLimitPauseRecord): Record<string, string | number> {
  const fields: Record<string, string | number> = {
    since: r.since,
    until: r.until,
    policy: r.policy,
    resetSource: r.resetSource,
    probedAt: r.probedAt,
  };
  if (r.timeZone) fields.timeZone = r.timeZone;
  if (r.usage !== undefined) fields.usage = r.usage;
  if (r.limit !== undefined) fields.limit = r.limit;
  return fields;
}

/** A pause record lives until its reset plus PAUSE_MARGIN_MS. */
const ttlOf = (r: DailyLimitPauseRecord, now: number) => Math.max(1, Math.ceil(r.until - now + PAUSE_MARGIN_MS));
