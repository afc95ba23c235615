import type { Redis } from 'ioredis';
import { seriesReader, type Bucket, type SeriesRead } from '../stats/counters.ts';
import { StatsKeys } from '../stats/keys.ts';
import { WORK_QUEUES } from '../queues/names.ts';
import { renderBarChart } from './charts.ts';

/** Every picture of the overview, by the `data-chart` id of the element showing it (SVG, already escaped). */
export type Pictures = Record<string, string>;

const field = (b: Bucket, name: string) => b.counts[name] ?? 0;
/** Calls of one API in a bucket whose status matches. */
const calls = (b: Bucket, api: string, status: (s: string) => boolean) =>
  Object.entries(b.counts).reduce(
    (n, [f, v]) => (f.startsWith(`${api}:`) && status(f.slice(api.length + 1)) ? n + v : n),
    0,
  );
const ok = (s: string) => /^2/.test(s);
const limited = (s: string) => s === '429';

function queueChart(title: string, series: Bucket[]): string {
  return renderBarChart({
    title,
    starts: series.map((b) => b.start),
    bars: [
      { name: 'completed', values: series.map((b) => field(b, 'completed')), className: 'ok' },
      { name: 'failed', values: series.map((b) => field(b, 'failed')), className: 'bad' },
    ],
    line: { name: 'waiting', values: series.map((b) => field(b, 'waiting')) },
  });
}

function sendgridChart(title: string, series: Bucket[]): string {
  return renderBarChart({
    title,
    starts: series.map((b) => b.start),
    bars: [
      { name: 'sent', values: series.map((b) => calls(b, 'sendgrid', ok)), className: 'ok' },
      { name: 'rate limited', values: series.map((b) => calls(b, 'sendgrid', limited)), className: 'warn' },
      {
        name: 'failed',
        values: series.map((b) => calls(b, 'sendgrid', (s) => !ok(s) && !limited(s))),
        className: 'bad',
      },
    ],
  });
}

/**
 * The overview's pictures from the time-bucketed counters: per work queue, completed and failed
 * jobs per minute over the last hour and per 15 minutes over the last day, with the waiting depth;
 * HubSpot requests per 10 s over the last 30 minutes against the budget, 429s marked; SendGrid
 * sends and failures per minute and per 15 minutes.
 */
export async function readPictures(
  redis: Redis,
  prefix: string,
  hubspotBudget: number,
  now = Date.now(),
  series: SeriesRead = seriesReader(redis, new StatsKeys(prefix), now),
): Promise<Pictures> {
  const out: Pictures = {};
  await Promise.all(
    WORK_QUEUES.map(async (q) => {
      const [hour, day] = await Promise.all([series(q, 'm', 60), series(q, 'q', 96)]);
      out[`${q}.hour`] = queueChart(`${q}, last hour, per minute`, hour);
      out[`${q}.day`] = queueChart(`${q}, last day, per 15 minutes`, day);
    }),
  );
  const [tens, hour, day] = await Promise.all([
    series('api', 's', 180),
    series('api', 'm', 60),
    series('api', 'q', 96),
  ]);
  out['hubspot.budget'] = renderBarChart({
    title: 'HubSpot requests per 10 s, last 30 minutes',
    starts: tens.map((b) => b.start),
    bars: [{ name: 'requests', values: tens.map((b) => calls(b, 'hubspot', () => true)), className: 'info' }],
    limit: { name: 'budget', value: hubspotBudget },
    marks: { name: '429 rate limited', at: tens.map((b) => calls(b, 'hubspot', limited) > 0) },
  });
  out['sendgrid.hour'] = sendgridChart('SendGrid, last hour, per minute', hour);
  out['sendgrid.day'] = sendgridChart('SendGrid, last day, per 15 minutes', day);
  return out;
}
