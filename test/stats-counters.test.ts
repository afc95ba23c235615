import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBarChart } from '../src/admin/charts.ts';
import { readPictures } from '../src/admin/pictures.ts';
import { createMetrics } from '../src/metrics.ts';
import { QUEUES, WORK_QUEUES } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { readSeries, readTotals, seriesReader } from '../src/stats/counters.ts';
import { bucketOf, StatsKeys } from '../src/stats/keys.ts';
import { ApiStatsShipper, sampleWaiting } from '../src/stats/shipper.ts';
import { TraceKeys } from '../src/trace/keys.ts';
import { StepLog } from '../src/trace/step-log.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

const MIN = 60_000;
const config = testConfig();
const prefix = config.redis.prefix;
const keys = new StatsKeys(prefix);
let redis: Redis;
let steps: StepLog;
let queues: QueueSet;
// "now" for the reads; the buckets expire by the real clock, so it is the real time of the run.
const now = Date.now();

let seq = 0;
const count = (at: number, field: 'completed' | 'retried' | 'failed', queue: string = QUEUES.contacts) =>
  steps.append(
    `job-${++seq}`,
    { at: new Date(at).toISOString(), kind: field === 'completed' ? 'completed' : 'failed', queue },
    `e${seq}`,
    { queue, field },
  );

beforeAll(() => {
  redis = new Redis(redisUrl());
  steps = new StepLog(redis, new TraceKeys(prefix), 3600);
  queues = openQueues(redis, config);
});
afterAll(async () => {
  await queues.close();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe('job counters in time buckets', () => {
  it('read back exactly what was counted, in the right minute and quarter-hour buckets', async () => {
    await count(now - 5 * MIN, 'completed');
    await count(now - 5 * MIN, 'completed');
    await count(now - 5 * MIN, 'failed');
    await count(now - 59 * MIN, 'completed');
    await count(now - 61 * MIN, 'completed'); // outside the hour, inside the day
    await count(now - 23 * 60 * MIN, 'retried');
    const hour = await readSeries(redis, keys, QUEUES.contacts, 'm', 60, now);
    expect(hour).toHaveLength(60);
    expect(hour[59]!.start).toBe(Math.floor(now / MIN) * MIN);
    expect(hour[54]!.counts).toEqual({ completed: 2, failed: 1 });
    expect(hour[0]!.counts).toEqual({ completed: 1 });
    expect(hour.filter((b) => Object.keys(b.counts).length).length).toBe(2);
    const day = await readSeries(redis, keys, QUEUES.contacts, 'q', 96, now);
    const quarterAgo = (ms: number) => 95 - (bucketOf(now, 'q') - bucketOf(now - ms, 'q'));
    expect(day[quarterAgo(5 * MIN)]!.counts).toMatchObject({ completed: 2, failed: 1 });
    expect(day.reduce((n, b) => n + (b.counts.completed ?? 0), 0)).toBe(4);
    expect(day.reduce((n, b) => n + (b.counts.retried ?? 0), 0)).toBe(1);
    const totals = await readTotals(redis, keys, [QUEUES.contacts], now);
    expect(totals[QUEUES.contacts]).toEqual({
      hour: { completed: 3, failed: 1 },
      day: { completed: 4, failed: 1, retried: 1 },
    });
  });

  it('ship API call deltas into 10-second, minute and quarter buckets, and sample the waiting depth', async () => {
    const metrics = createMetrics();
    const shipper = new ApiStatsShipper(redis, keys, metrics.apiCalls);
    metrics.apiCalls.inc({ api: 'hubspot', operation: 'contacts.upsert', status: '200' }, 7);
    metrics.apiCalls.inc({ api: 'hubspot', operation: 'contacts.upsert', status: '429' }, 1);
    await shipper.ship(now - 20_000);
    metrics.apiCalls.inc({ api: 'hubspot', operation: 'contacts.upsert', status: '200' }, 3);
    await shipper.ship(now);
    const tens = await readSeries(redis, keys, 'api', 's', 3, now);
    expect(tens.map((b) => b.counts)).toEqual([{ 'hubspot:200': 7, 'hubspot:429': 1 }, {}, { 'hubspot:200': 3 }]);
    await queues.work[QUEUES.email].add('x', {}, { jobId: 'w1' });
    await queues.work[QUEUES.email].add('x', {}, { jobId: 'w2' });
    await sampleWaiting(redis, keys, [queues.work[QUEUES.email]], now);
    expect((await readSeries(redis, keys, QUEUES.email, 'm', 1, now))[0]!.counts).toEqual({ waiting: 2 });
    const pictures = await readPictures(redis, prefix, 100, now);
    expect(pictures['hubspot.budget']).toContain('budget 100');
    expect(pictures['hubspot.budget']).toContain('429 rate limited in 1 bucket(s)');
  });

  it("are read once for the overview's figures and its pictures together", async () => {
    // Every command this client sends, pipelined or not, passes through sendCommand: count the
    // HGETALLs of counter buckets there (MONITOR raced ioredis' switch to monitor mode under load).
    const reads: string[] = [];
    const counted = new Redis(redisUrl());
    // Connected first: a command queued offline passes through sendCommand again once connected.
    await counted.ping();
    const send = counted.sendCommand.bind(counted);
    counted.sendCommand = (command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
      if (command.name.toLowerCase() === 'hgetall' && String(command.args[0]).startsWith(`${prefix}:cs:stats:`))
        reads.push(String(command.args[0]));
      return (send as (...a: unknown[]) => unknown)(command, ...rest);
    };
    try {
      const series = seriesReader(counted, keys, now);
      await Promise.all([
        readTotals(counted, keys, [...WORK_QUEUES, 'api'], now, series),
        readPictures(counted, prefix, 100, now, series),
      ]);
      expect(new Set(reads).size).toBe(WORK_QUEUES.length * (60 + 96) + 180 + 60 + 96);
      expect(reads.length).toBe(new Set(reads).size);
    } finally {
      counted.disconnect();
    }
  });

  it('stay bounded: after a day of simulated minutes only the buckets the pictures show are left, each expiring', async () => {
    const bounded = testConfig();
    const b = new StepLog(redis, new TraceKeys(bounded.redis.prefix), 3600);
    const shipper = new ApiStatsShipper(redis, new StatsKeys(bounded.redis.prefix), {
      get: () => ({ values: [{ labels: { api: 'hubspot', status: '200' }, value: ++shipped }] }),
    });
    let shipped = 0;
    for (let t = now - 26 * 60 * MIN; t <= now; t += MIN) {
      await b.append(
        `job-${t}`,
        { at: new Date(t).toISOString(), kind: 'completed', queue: QUEUES.contacts },
        `e${t}`,
        { queue: QUEUES.contacts, field: 'completed' },
      );
      await shipper.ship(t);
    }
    const stats = await redis.keys(`${bounded.redis.prefix}:cs:stats:*`);
    const by = (scope: string, unit: string) => stats.filter((k) => k.includes(`:stats:${scope}:${unit}:`)).length;
    // The picture windows (60 minutes, 96 quarters, 180 ten-seconds) plus the few buckets of keep margin.
    expect(by(QUEUES.contacts, 'm')).toBeLessThanOrEqual(67);
    expect(by(QUEUES.contacts, 'q')).toBeLessThanOrEqual(98);
    expect(by('api', 's')).toBeLessThanOrEqual(36);
    // Every one expires: a TTL, or gone already (-2) when its instant passed since KEYS; never -1.
    for (const k of stats) expect(await redis.ttl(k), k).not.toBe(-1);
    await dropPrefix(redis, bounded.redis.prefix);
  });
});

describe('bar charts', () => {
  it('draw one bar per bucket and value, the limit line and the marks, escaping every text', () => {
    const svg = renderBarChart({
      title: 'q<script>',
      starts: [0, 60_000, 120_000],
      bars: [
        { name: 'done', values: [1, 0, 3], className: 'ok' },
        { name: 'bad', values: [0, 2, 0], className: 'bad' },
      ],
      limit: { name: 'budget', value: 5 },
      marks: { name: '429', at: [false, true, false] },
    });
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).toContain('<line class="limit"');
    expect(svg.match(/<path class="mark"/g)).toHaveLength(1);
    expect(svg).toContain('q&lt;script&gt;: 4 done, 2 bad; 429 in 1 bucket(s)');
    expect(svg).not.toContain('<script>');
    expect(svg).not.toMatch(/style=/);
  });
});
