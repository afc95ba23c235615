/**
 * HubSpot's daily API limit for private apps, besides the burst limit (rate-limit.ts). Public facts:
 * - the limit: 250,000 a day on Free/Starter, 650,000 Professional, 1,000,000 Enterprise, plus
 *   1,000,000 with a capacity pack (developers.hubspot.com, API usage guidelines and limits);
 * - "The daily limits reset at midnight based on the time zone setting of the HubSpot account"
 *   (developers.hubspot.com/apisbytier);
 * - every answer carries `X-HubSpot-RateLimit-Daily` and `X-HubSpot-RateLimit-Daily-Remaining`
 *   (HubSpot developer changelog 2018-11-06, rate limit information headers);
 * - past the limit, 429 with `policyName: "DAILY"` in the body HubSpot's burst 429 has.
 */

/** What one request got from the daily limit. */
export interface DayDecision {
  allowed: boolean;
  /** The limit, or undefined when unlimited (then no daily headers are sent). */
  limit?: number;
  remaining: number;
}

/** Free/Starter's daily limit, the emulator's default. */
export const DEFAULT_DAILY_LIMIT = 250_000;

const formats = new Map<string, Intl.DateTimeFormat>();
function parts(timeZone: string, t: number): Record<string, number> {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    formats.set(timeZone, f);
  }
  return Object.fromEntries(
    f
      .formatToParts(t)
      .filter((p) => p.type !== 'literal')
      .map((p) => [p.type, Number(p.value)]),
  );
}

/** The portal's calendar day at `t`, as "Y-M-D". */
export function portalDay(timeZone: string, t: number): string {
  const p = parts(timeZone, t);
  return `${p.year}-${p.month}-${p.day}`;
}

/** Local time minus UTC at `t`, in ms. */
export function utcOffsetMs(timeZone: string, t: number): number {
  const p = parts(timeZone, t);
  const second = Math.floor(t / 1000) * 1000;
  return Date.UTC(p.year!, p.month! - 1, p.day, p.hour, p.minute, p.second) - second;
}

/**
 * When the portal's next day begins: local midnight of tomorrow, mapped to UTC with the offset in
 * force before and after it (the earlier that lands in the new day wins, which also covers a DST
 * change that skips midnight). Deliberately not course-sync's own computation (bisection), so the
 * two check each other.
 */
export function nextPortalMidnight(timeZone: string, now: number): number {
  const p = parts(timeZone, now);
  const midnightAsUtc = Date.UTC(p.year!, p.month! - 1, p.day! + 1);
  const today = portalDay(timeZone, now);
  const candidates = [
    midnightAsUtc - utcOffsetMs(timeZone, midnightAsUtc - 86_400_000),
    midnightAsUtc - utcOffsetMs(timeZone, midnightAsUtc + 86_400_000),
  ].sort((a, b) => a - b);
  return candidates.find((t) => t > now && portalDay(timeZone, t) !== today) ?? candidates[1]!;
}

/** Counts a portal's requests per day of its time zone; the count starts again at its midnight. */
export class DailyCounter {
  private day = '';
  private used = 0;
  private exhaustedUntil = 0;

  constructor(
    private limit: number | undefined,
    readonly timeZone: string,
  ) {}

  /** Whether a request may go now (without counting it). */
  check(now: number): DayDecision {
    this.roll(now);
    if (now < this.exhaustedUntil) return { allowed: false, limit: this.limit ?? this.used, remaining: 0 };
    if (this.limit === undefined) return { allowed: true, remaining: Infinity };
    return { allowed: this.used < this.limit, limit: this.limit, remaining: Math.max(0, this.limit - this.used) };
  }

  /** Counts a request that was answered. */
  count(now: number): DayDecision {
    this.roll(now);
    this.used++;
    return this.check(now);
  }

  /** Calls made today. */
  usage(now: number): number {
    this.roll(now);
    return this.used;
  }

  /** The limit now (undefined: unlimited). */
  get max(): number | undefined {
    return this.limit;
  }

  /** Changes the limit (a capacity pack bought, say); undefined removes it. Today's count stays. */
  setLimit(n: number | undefined): void {
    this.limit = n;
  }

  /**
   * Uses up what is left of today. With `until`, the limit holds until that instant instead of the
   * portal's midnight (a test's portal whose day ends in a few seconds); `resetsAt` reports it.
   */
  exhaust(now: number, until?: number): void {
    this.roll(now);
    if (until !== undefined) this.exhaustedUntil = until;
    else if (this.limit !== undefined) this.used = Math.max(this.used, this.limit);
  }

  /** When an exhaustion given an end lifts, if one is in force at `now`. */
  exhaustedTill(now: number): number | undefined {
    return now < this.exhaustedUntil ? this.exhaustedUntil : undefined;
  }

  private roll(now: number): void {
    const day = portalDay(this.timeZone, now);
    if (day !== this.day) {
      this.day = day;
      this.used = 0;
    }
  }
}

/** The X-HubSpot-RateLimit-Daily* headers of an answer. */
export function dailyHeaders(d: DayDecision): Record<string, string> {
  if (d.limit === undefined) return {};
  return { 'X-HubSpot-RateLimit-Daily': String(d.limit), 'X-HubSpot-RateLimit-Daily-Remaining': String(d.remaining) };
}

/** HubSpot's 429 body past the daily limit: the fields of its burst 429, with `policyName: "DAILY"`. */
export function dailyLimitBody(correlationId: string): Record<string, string> {
  return {
    status: 'error',
    message: 'You have reached your daily limit.',
    errorType: 'RATE_LIMIT',
    category: 'RATE_LIMITS',
    correlationId,
    policyName: 'DAILY',
  };
}
