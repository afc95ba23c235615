import type { ActiveAlert } from '../alerts/state.ts';
import { formatPortalTime } from '../hubspot/daily-reset.ts';
import type { HubSpotDailyOverview } from '../stats/hubspot-daily.ts';
import type { Overview } from '../stats/overview.ts';

/** Formats an age in seconds for people: "—", "42 s", "12 min", "3.5 h", "2.1 d". */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** Formats a rate per minute with sensible precision. */
export function formatRate(perMinute: number): string {
  if (perMinute === 0) return '0';
  if (perMinute < 0.1) return perMinute.toFixed(3);
  if (perMinute < 10) return perMinute.toFixed(1);
  return String(Math.round(perMinute));
}

/** Formats a share as a percentage, "—" when there is nothing to divide. */
export function formatShare(share: number | null): string {
  if (share === null) return '—';
  const pct = share * 100;
  return pct === 0 || pct >= 10 ? `${Math.round(pct)} %` : `${pct.toFixed(1)} %`;
}

/** HubSpot's daily limit in words: the banner while paused (empty otherwise), the usage, the state. */
export function hubSpotDailyCells(d: HubSpotDailyOverview): Record<string, string> {
  const until = d.until ? Date.parse(d.until) : undefined;
  const when = until ? `${formatPortalTime(until, d.timeZone)} (portal time zone ${d.timeZone ?? 'unknown'})` : '';
  const n = (x: number) => x.toLocaleString('en-US');
  return {
    'hubspot.daily.banner': d.paused
      ? `HubSpot daily API limit reached — HubSpot work paused until ${when}; jobs kept`
      : '',
    'hubspot.daily.usage':
      d.usage !== undefined && d.limit
        ? `${n(d.usage)} of ${n(d.limit)} (${formatShare(Math.min(1, d.usage / d.limit))})`
        : '—',
    'hubspot.daily.state': d.paused ? `reached: paused until ${when}` : 'not reached',
  };
}

/**
 * Every figure of the overview page, formatted, by the `data-cell` name of the element showing it.
 * The server renders the page with these and the page's script refreshes them from
 * /admin/api/overview, so both always format alike.
 */
export function overviewCells(o: Overview, alerts: ActiveAlert[]): Record<string, string> {
  const cells: Record<string, string> = {
    generatedAt: o.generatedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
    quarantine: String(o.quarantine),
    alertCount: alerts.length ? `${alerts.length} firing` : 'none firing',
    ...hubSpotDailyCells(o.hubspotDaily),
  };
  for (const q of o.queues) {
    const p = q.name;
    cells[`${p}.waiting`] = String(q.counts.waiting);
    cells[`${p}.active`] = String(q.counts.active);
    cells[`${p}.delayed`] = String(q.counts.delayed);
    cells[`${p}.failed`] = String(q.counts.failed);
    cells[`${p}.perMinuteHour`] = formatRate(q.jobsPerMinute.hour);
    cells[`${p}.perMinuteDay`] = formatRate(q.jobsPerMinute.day);
    cells[`${p}.failureHour`] = formatShare(q.failureRate.hour);
    cells[`${p}.failureDay`] = formatShare(q.failureRate.day);
    cells[`${p}.oldestWaiting`] = formatAge(q.oldestWaitingSeconds);
    cells[`${p}.deadLetters`] = String(q.deadLetters);
  }
  for (const a of o.apis) {
    for (const period of ['hour', 'day'] as const) {
      const f = a.figures[period];
      cells[`${a.api}.${period}.calls`] = String(f.calls);
      cells[`${a.api}.${period}.rateLimited`] = String(f.rateLimited);
      cells[`${a.api}.${period}.authErrors`] = String(f.authErrors);
      cells[`${a.api}.${period}.serverErrors`] = String(f.serverErrors);
    }
  }
  for (const period of ['hour', 'day'] as const) {
    const e = o.email[period];
    for (const k of ['sent', 'delivered', 'deferred', 'bounced', 'dropped', 'spamReports'] as const)
      cells[`email.${period}.${k}`] = String(e[k]);
    cells[`email.${period}.bounceRate`] = formatShare(e.bounceRate);
  }
  return cells;
}
