/**
 * When HubSpot's daily API limit starts again. HubSpot: "The daily limits reset at midnight based on
 * the time zone setting of the HubSpot account" (developers.hubspot.com/apisbytier), and
 * `GET /account-info/v3/api-usage/daily/private-apps` names the instant itself as `resetsAt`
 * (developers.hubspot.com/docs/api-reference/legacy/account/account-information/get-usage-details).
 */

/** Where a reset instant came from: HubSpot's `resetsAt`, midnight in the portal's time zone, or midnight UTC. */
export type ResetSource = 'api-usage' | 'time-zone' | 'utc';

const DAY_MS = 86_400_000;
/** A local day lasts at most 25 hours (a DST change); a `resetsAt` further off than that is not today's. */
const LONGEST_DAY_MS = 25 * 3_600_000;

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar date at `t` in `timeZone`, "YYYY-MM-DD"; throws RangeError for a zone ICU does not know. */
function localDate(timeZone: string, t: number): string {
  let f = dayFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, f);
  }
  return f.format(t);
}

/**
 * The first instant after `now` at which the calendar date in `timeZone` (an IANA name, such as
 * HubSpot's "US/Eastern") changes: the next local midnight, or the first instant of the day when a
 * DST change skips midnight (America/Santiago). Found by bisection on the local date, so days of 23
 * or 25 hours need no special case. Throws RangeError for an unknown zone.
 */
export function nextMidnight(timeZone: string, now: number): number {
  const today = localDate(timeZone, now);
  let before = now;
  let after = now + DAY_MS;
  while (localDate(timeZone, after) === today) after += DAY_MS / 2;
  while (after - before > 1) {
    const mid = Math.floor((before + after) / 2);
    if (localDate(timeZone, mid) === today) before = mid;
    else after = mid;
  }
  return after;
}

/** What is known about the portal when its daily limit is reached; every field may be missing. */
export interface ResetHints {
  /** `resetsAt` of the private-apps daily usage (ISO 8601). */
  resetsAt?: string;
  /** The portal's time zone (`timeZone` of `GET /account-info/v3/details`). */
  timeZone?: string;
}

/**
 * When the daily limit starts again, best source first: HubSpot's own `resetsAt` when it is a
 * time within the coming day; else the next midnight in the portal's time zone; else the next
 * midnight UTC (then the 15-minute probe finds the real reset).
 */
export function dailyResetAt(hints: ResetHints, now: number): { at: number; source: ResetSource } {
  const resetsAt = hints.resetsAt ? Date.parse(hints.resetsAt) : NaN;
  if (Number.isFinite(resetsAt) && resetsAt > now && resetsAt - now <= LONGEST_DAY_MS)
    return { at: resetsAt, source: 'api-usage' };
  if (hints.timeZone) {
    try {
      return { at: nextMidnight(hints.timeZone, now), source: 'time-zone' };
    } catch {
      // An unknown zone name: fall through to UTC.
    }
  }
  return { at: nextMidnight('UTC', now), source: 'utc' };
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * An instant as people in the portal read it: "2024-05-02 00:00 Asia/Taipei"; in UTC
 * ("2024-05-01 16:00 UTC") when the zone is unknown.
 */
export function formatPortalTime(at: number, timeZone?: string): string {
  const zone = timeZone && isKnownZone(timeZone) ? timeZone : 'UTC';
  let f = timeFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    timeFormats.set(zone, f);
  }
  return `${f.format(at).replace(', ', ' ')} ${zone}`;
}

function isKnownZone(timeZone: string): boolean {
  try {
    localDate(timeZone, 0);
    return true;
  } catch {
    return false;
  }
}
