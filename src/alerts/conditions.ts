import { formatPortalTime } from '../hubspot/daily-reset.ts';

/** What the alert engine measured in one round. */
export interface AlertSnapshot {
  /** Per dead-letter queue: its size now, and the size it had when it was last quiet. */
  deadLetters: { queue: string; size: number; baseline: number }[];
  /** Per work queue: the age of its oldest waiting job in seconds, null when none waits. */
  oldestWaiting: { queue: string; seconds: number | null }[];
  /** HubSpot/SendGrid answers 401 or 403 in the recent window, per API. */
  authErrors: { api: 'hubspot' | 'sendgrid'; count: number; windowMinutes: number }[];
  /** Welcome emails in the last hour: sent (SendGrid 2xx), and bounced or dropped (SendGrid's events). */
  bounces: { sent: number; bounced: number; dropped: number };
  /** HubSpot's daily API limit: whether HubSpot work is paused until the portal's reset, and what is known of it. */
  hubspotDaily: { paused: boolean; until?: number; timeZone?: string; usage?: number; limit?: number };
}

export interface AlertThresholds {
  oldestWaitingSeconds: number;
  /** ALERT_BOUNCE_RATE and ALERT_BOUNCE_MIN_SENDS. */
  bounceRate: number;
  bounceMinSends: number;
}

/** One condition's verdict: whether it holds now, and the messages for firing and clearing. */
export interface ConditionResult {
  id: string;
  active: boolean;
  /** Sent when the condition starts to hold. */
  firing: string;
  /** Sent when it stops. */
  resolved: string;
}

const API_NAMES = { hubspot: 'HubSpot', sendgrid: 'SendGrid' } as const;

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Judges every shared condition from a snapshot (pure: the engine decides what to send). */
export function evaluateConditions(s: AlertSnapshot, t: AlertThresholds): ConditionResult[] {
  const out: ConditionResult[] = [];
  for (const d of s.deadLetters) {
    out.push({
      id: `dlq-grew:${d.queue}`,
      active: d.size > d.baseline,
      firing: `${d.queue}-dlq grew to ${d.size} dead letter(s) (was ${d.baseline}). See why: course-sync dlq list ${d.queue}`,
      resolved: `${d.queue}-dlq is back to ${d.size} dead letter(s)`,
    });
  }
  for (const w of s.oldestWaiting) {
    const seconds = w.seconds ?? 0;
    out.push({
      id: `oldest-waiting:${w.queue}`,
      active: seconds > t.oldestWaitingSeconds,
      firing: `${w.queue}: the oldest waiting job has waited ${duration(seconds)} (threshold ${duration(t.oldestWaitingSeconds)}); are its workers running?`,
      resolved: `${w.queue}: no job waits longer than ${duration(t.oldestWaitingSeconds)} any more`,
    });
  }
  for (const a of s.authErrors) {
    const name = API_NAMES[a.api];
    const fix =
      a.api === 'hubspot'
        ? 'HUBSPOT_ACCESS_TOKEN (and its scopes)'
        : 'SENDGRID_API_KEY (Mail Send permission) and the sender';
    out.push({
      id: `auth:${a.api}`,
      active: a.count > 0,
      firing: `${name} answered 401/403 ${a.count} time(s) in the last ${a.windowMinutes} min: check ${fix}`,
      resolved: `${name}: no 401/403 in the last ${a.windowMinutes} min`,
    });
  }
  const { sent, bounced, dropped } = s.bounces;
  const share = sent ? (bounced + dropped) / sent : 0;
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  out.push({
    id: 'bounce-rate',
    active: sent >= t.bounceMinSends && share > t.bounceRate,
    firing: `${bounced + dropped} of ${sent} welcome emails in the last hour bounced or were dropped (${pct(share)}, threshold ${pct(t.bounceRate)}): check the addresses Loopwise sends and SendGrid's suppression list`,
    resolved: `welcome email bounces are back under ${pct(t.bounceRate)} of the last hour's sends`,
  });
  const d = s.hubspotDaily;
  const used =
    d.usage !== undefined && d.limit
      ? ` (${d.usage.toLocaleString('en-US')} of ${d.limit.toLocaleString('en-US')} calls today)`
      : '';
  out.push({
    id: 'hubspot-daily-limit',
    active: d.paused,
    firing: `HubSpot daily API limit reached${used}: all HubSpot work is paused until ${d.until ? formatPortalTime(d.until, d.timeZone) : "the portal's daily reset"} (portal time zone ${d.timeZone ?? 'unknown'}); jobs are kept and resume by themselves. To resume sooner, raise the limit in HubSpot (a capacity pack); a probe every 15 min notices`,
    resolved: 'HubSpot daily API limit: HubSpot work resumed',
  });
  return out;
}

/** The condition a worker judges on its own, since it cannot share state through Redis then. */
export function redisCondition(worker: string, reachable: boolean, error?: string): ConditionResult {
  return {
    id: `redis-unreachable:${worker}`,
    active: !reachable,
    firing: `worker ${worker} cannot reach Redis${error ? ` (${error})` : ''}: jobs are not being processed`,
    resolved: `worker ${worker} reaches Redis again`,
  };
}
