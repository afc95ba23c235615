import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.ts';
import { readSeries, sumSeries } from '../src/stats/counters.ts';
import { bucketOf, StatsKeys } from '../src/stats/keys.ts';
import { ApiStatsShipper } from '../src/stats/shipper.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

let redis: Redis;
const prefix = testConfig().redis.prefix;
let n = 0;
/** Counter keys of their own per test. */
const freshKeys = () => new StatsKeys(`${prefix}-${++n}`);
// The buckets expire by the real clock (EXPIREAT), so the ships happen at the real time of the run.
const NOW = Date.now();

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  for (let i = 1; i <= n; i++) await dropPrefix(redis, `${prefix}-${i}`);
  await redis.quit();
});

const call = (api: string, operation: string, status: string) => ({ api, operation, status });
/** The ten-second buckets at NOW - 20 s, NOW - 10 s and NOW, and everything in the minute buckets around them. */
async function shipped(keys: StatsKeys) {
  const tens = (await readSeries(redis, keys, 'api', 's', 3, NOW)).map((b) => b.counts);
  return { tens, total: sumSeries(await readSeries(redis, keys, 'api', 'm', 2, NOW)) };
}

describe('ApiStatsShipper', () => {
  it('adds only what was counted since the last ship, per api and status', async () => {
    const keys = freshKeys();
    const { apiCalls } = createMetrics();
    const shipper = new ApiStatsShipper(redis, keys, apiCalls);
    apiCalls.inc(call('hubspot', 'contacts.upsert', '200'), 2);
    apiCalls.inc(call('hubspot', 'products.read', '200'), 3); // operations add up in one field
    apiCalls.inc(call('hubspot', 'contacts.upsert', '401'));
    apiCalls.inc(call('sendgrid', 'mail.send', '202'), 4);
    await shipper.ship(NOW - 20_000);
    apiCalls.inc(call('hubspot', 'contacts.upsert', '200'), 2);
    apiCalls.inc(call('sendgrid', 'mail.send', '429'));
    await shipper.ship(NOW);
    await shipper.ship(NOW); // nothing new: nothing added
    expect(await shipped(keys)).toEqual({
      tens: [{ 'hubspot:200': 5, 'hubspot:401': 1, 'sendgrid:202': 4 }, {}, { 'hubspot:200': 2, 'sendgrid:429': 1 }],
      total: { 'hubspot:200': 7, 'hubspot:401': 1, 'sendgrid:202': 4, 'sendgrid:429': 1 },
    });
    const ttl = await redis.ttl(keys.api('s', bucketOf(NOW, 's')));
    expect(ttl).toBeGreaterThan(30 * 60);
    expect(ttl).toBeLessThanOrEqual(35 * 60 + 10);
  });

  it('carries what a failed ship did not write into the next one', async () => {
    const keys = freshKeys();
    const { apiCalls } = createMetrics();
    const own = new Redis(redisUrl(), { lazyConnect: true });
    await own.connect();
    const shipper = new ApiStatsShipper(own, keys, apiCalls);
    try {
      apiCalls.inc(call('hubspot', 'contacts.upsert', '200'), 3);
      await shipper.ship(NOW - 20_000);
      apiCalls.inc(call('hubspot', 'contacts.upsert', '200'), 2);
      apiCalls.inc(call('hubspot', 'contacts.upsert', '503'));
      own.disconnect(); // Redis away for this process
      await expect(shipper.ship(NOW - 10_000)).rejects.toThrow();

      await own.connect();
      apiCalls.inc(call('hubspot', 'contacts.upsert', '200'));
      await shipper.ship(NOW);
      expect(await shipped(keys)).toEqual({
        tens: [{ 'hubspot:200': 3 }, {}, { 'hubspot:200': 3, 'hubspot:503': 1 }],
        total: { 'hubspot:200': 6, 'hubspot:503': 1 },
      });
    } finally {
      own.disconnect();
    }
  });
});
