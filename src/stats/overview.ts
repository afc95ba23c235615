import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { WORK_QUEUES } from '../queues/names.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Quarantine } from '../quarantine/store.ts';
import { EMAIL_SCOPE, StatsKeys } from './keys.ts';
import { readTotals, type SeriesRead, type Totals } from './counters.ts';
import { readHubSpotDaily, type HubSpotDailyOverview } from './hubspot-daily.ts';

/** Two figures of one measure: over the last hour and over the last day. */
export interface HourDay<T> {
  hour: T;
  day: T;
}

/** One work queue at a glance. */
export interface QueueOverview {
  name: string;
  counts: Record<'waiting' | 'active' | 'delayed' | 'failed' | 'completed', number>;
  /** Jobs finished (completed or failed for good) per minute. */
  jobsPerMinute: HourDay<number>;
  /** Share of attempts that failed (retried or dead), 0..1; null with no attempts. */
  failureRate: HourDay<number | null>;
  /** Age of the job waiting longest, seconds; null when none waits. */
  oldestWaitingSeconds: number | null;
  deadLetters: number;
}

/** HubSpot or SendGrid calls over a period. */
export interface ApiFigures {
  calls: number;
  rateLimited: number;
  authErrors: number;
  serverErrors: number;
}

export interface ApiOverview {
  api: 'hubspot' | 'sendgrid';
  figures: HourDay<ApiFigures>;
}

/** What became of the welcome emails over a period, from SendGrid's events. */
export interface EmailFigures {
  /** Welcome emails SendGrid accepted (Mail Send 2xx). */
  sent: number;
  delivered: number;
  deferred: number;
  bounced: number;
  dropped: number;
  spamReports: number;
  /** (bounced + dropped) / sent, 0..1; null with nothing sent. */
  bounceRate: number | null;
}

/** Everything the /admin overview shows. */
export interface Overview {
  generatedAt: string;
  queues: QueueOverview[];
  quarantine: number;
  apis: ApiOverview[];
  email: HourDay<EmailFigures>;
  /** HubSpot's daily API limit: usage so far, and whether HubSpot work is paused until the portal's reset. */
  hubspotDaily: HubSpotDailyOverview;
}

export interface OverviewDeps {
  redis: Redis;
  prefix: string;
  queues: QueueSet;
  quarantine: Quarantine;
  /** The counters' series, when read together with the pictures (one read of each). */
  series?: SeriesRead;
}

/** When the oldest waiting job of `queue` started waiting (its add, or its last attempt for a retry), or undefined. */
export async function oldestWaitingSince(queue: Queue): Promise<number | undefined> {
  const [job] = await queue.getJobs(['wait'], 0, 0, true);
  return job ? Math.max(job.timestamp, job.processedOn ?? 0) : undefined;
}

const rate = (t: Totals) => {
  const failed = (t.retried ?? 0) + (t.failed ?? 0);
  const attempts = failed + (t.completed ?? 0);
  return attempts ? failed / attempts : null;
};
const perMinute = (t: Totals, minutes: number) => ((t.completed ?? 0) + (t.failed ?? 0)) / minutes;

/** Sums `<api>:<status>` fields into calls, 429s, 401/403s and 5xx. */
export function apiFigures(totals: Totals, api: string): ApiFigures {
  const out: ApiFigures = { calls: 0, rateLimited: 0, authErrors: 0, serverErrors: 0 };
  for (const [field, n] of Object.entries(totals)) {
    if (!field.startsWith(`${api}:`)) continue;
    const status = field.slice(api.length + 1);
    out.calls += n;
    if (status === '429') out.rateLimited += n;
    if (status === '401' || status === '403') out.authErrors += n;
    if (/^5\d\d$/.test(status)) out.serverErrors += n;
  }
  return out;
}

/** Welcome email figures from the `email` event counts and SendGrid's 2xx answers of one period. */
export function emailFigures(events: Totals, api: Totals): EmailFigures {
  const sent = Object.entries(api).reduce((n, [f, v]) => (/^sendgrid:2\d\d$/.test(f) ? n + v : n), 0);
  const bounced = events.bounce ?? 0;
  const dropped = events.dropped ?? 0;
  return {
    sent,
    delivered: events.delivered ?? 0,
    deferred: events.deferred ?? 0,
    bounced,
    dropped,
    spamReports: events.spamreport ?? 0,
    bounceRate: sent ? (bounced + dropped) / sent : null,
  };
}

/** Reads the overview: live queue counts, counters of the last hour and day, DLQ and quarantine sizes. */
export async function readOverview(deps: OverviewDeps, now = Date.now()): Promise<Overview> {
  const { redis, queues, quarantine } = deps;
  const keys = new StatsKeys(deps.prefix);
  const totals = await readTotals(redis, keys, [...WORK_QUEUES, 'api', EMAIL_SCOPE], now, deps.series);
  const queueViews = await Promise.all(
    WORK_QUEUES.map(async (name): Promise<QueueOverview> => {
      const work = queues.work[name];
      const [c, since, deadLetters] = await Promise.all([
        work.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'),
        oldestWaitingSince(work),
        queues.deadLetter[name].count(),
      ]);
      const t = totals[name]!;
      return {
        name,
        counts: {
          waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
          active: c.active ?? 0,
          delayed: c.delayed ?? 0,
          failed: c.failed ?? 0,
          completed: c.completed ?? 0,
        },
        jobsPerMinute: { hour: perMinute(t.hour, 60), day: perMinute(t.day, 1440) },
        failureRate: { hour: rate(t.hour), day: rate(t.day) },
        oldestWaitingSeconds: since === undefined ? null : Math.max(0, Math.round((now - since) / 1000)),
        deadLetters,
      };
    }),
  );
  const api = totals.api!;
  return {
    generatedAt: new Date(now).toISOString(),
    queues: queueViews,
    quarantine: await quarantine.size(),
    apis: (['hubspot', 'sendgrid'] as const).map((name) => ({
      api: name,
      figures: { hour: apiFigures(api.hour, name), day: apiFigures(api.day, name) },
    })),
    email: {
      hour: emailFigures(totals[EMAIL_SCOPE]!.hour, api.hour),
      day: emailFigures(totals[EMAIL_SCOPE]!.day, api.day),
    },
    hubspotDaily: await readHubSpotDaily(redis, deps.prefix, now),
  };
}
