import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.ts';
import { ApiStatsShipper } from '../src/stats/counters.ts';
import { bucketsOf, StatsKeys } from '../src/stats/keys.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

let redis: Redis;
let keys: StatsKeys;
/** 10:15:30 UTC: the next minutes fall in the same hour. */
const T0 = Date.UTC(2024, 0, 1, 10, 15, 30);
const MINUTE = 60_000;

beforeAll(() => {
  redis = new Redis(redisUrl());
  keys = new StatsKeys(testConfig().redis.prefix);
});
afterAll(async () => {
  await dropPrefix(redis, keys.prefix);
  await redis.quit();
});

/** The minute bucket of `at`, and the hour bucket, as numbers per field. */
async function buckets(k: StatsKeys, at: number): Promise<{ minute: Record<string, number>; hour: Record<string, number> }> {
  const { minute, hour } = bucketsOf(at);
  const num = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([f, v]) => [f, Number(v)]));
  return { minute: num(await redis.hgetall(k.api('m', minute))), hour: num(await redis.hgetall(k.api('h', hour))) };
}

const call = (api: string, operation: string, status: string) => ({ api, operation, status });

describe('ApiStatsShipper', () => {
  it('adds only what was counted since the last ship, per api and status', async () => {
    const k = new StatsKeys(`${keys.prefix}-deltas`);
    const { apiCalls } = createMetrics();
    const shipper = new ApiStatsShipper(redis, k, apiCalls);
    apiCalls.inc(call('hubspot', 'contacts.upsert', '200'), 2);
    apiCalls.inc(call('hubspot', 'products.read', '200'), 3); // operations add up in one field
    apiCalls.inc(call('hubspot', 'contacts.upsert', '401'));
    apiCalls.inc(call('sendgrid', 'mail.send', '202'), 4);
    await shipper.ship(T0);
    expect(await buckets(k, T0)).toEqual({
      minute: { 'hubspot:200': 5, 'hubspot:401': 1, 'sendgrid:202': 4 },
      hour: { 'hubspot:200': 5, 'hubspot:401': 1, 'sendgrid:202': 4 },
    });

    apiCalls.inc(call('hubspot', 'contacts.upsert', '200'), 2);
    apiCalls.inc(call('sendgrid', 'mail.send', '429'));
    await shipper.ship(T0 + MINUTE);
    expect(await buckets(k, T0 + MINUTE)).toEqual({
      minute: { 'hubspot:200': 2, 'sendgrid:429': 1 },
      hour: { 'hubspot:200': 7, 'hubspot:401': 1, 'sendgrid:202': 4, 'sendgrid:429': 1 },
    });
    expect((await buckets(k, T0)).minute).toEqual({ 'hubspot:200': 5, 'hubspot:401': 1, 'sendgrid:202': 4 });

    // Nothing new: nothing written.
    await shipper.ship(T0 + 2 * MINUTE);
    expect(await redis.exists(k.api('m', bucketsOf(T0 + 2 * MINUTE).minute))).toBe(0);
    expect((await buckets(k, T0)).hour['hubspot:200']).toBe(7);
  });

  it('lets its buckets expire: minutes after two hours, hours after two days', async () => {
    const k = new StatsKeys(`${keys.prefix}-ttl`);
    const { apiCalls } = createMetrics();
    apiCalls.inc(call('hubspot', 'contacts.upsert', '200'));
    await new ApiStatsShipper(redis, k, apiCalls).ship(T0);
    const { minute, hour } = bucketsOf(T0);
    expect(await redis.ttl(k.api('m', minute))).toBeGreaterThan(2 * 3600 - 60);
    expect(await redis.ttl(k.api('m', minute))).toBeLessThanOrEqual(2 * 3600);
    expect(await redis.ttl(k.api('h', hour))).toBeGreaterThan(2 * 86_400 - 60);
  });

  it('carries what a failed ship did not write into the next one', async () => {
    const k = new StatsKeys(`${keys.prefix}-failed`);
    const { apiCalls } = createMetrics();
    const own = new Redis(redisUrl(), { lazyConnect: true });
    await own.connect();
    const shipper = new ApiStatsShipper(own, k, apiCalls);
    try {
      apiCalls.inc(call('hubspot', 'contacts.upsert', '200'), 3);
      await shipper.ship(T0);
      apiCalls.inc(call('hubspot', 'contacts.upsert', '200'), 2);
      apiCalls.inc(call('hubspot', 'contacts.upsert', '503'));
      own.disconnect(); // Redis away for this process
      await expect(shipper.ship(T0 + MINUTE)).rejects.toThrow();
      expect(await redis.exists(k.api('m', bucketsOf(T0 + MINUTE).minute))).toBe(0);

      await own.connect();
      apiCalls.inc(call('hubspot', 'contacts.upsert', '200'));
      await shipper.ship(T0 + 2 * MINUTE);
      expect(await buckets(k, T0 + 2 * MINUTE)).toEqual({
        minute: { 'hubspot:200': 3, 'hubspot:503': 1 },
        hour: { 'hubspot:200': 6, 'hubspot:503': 1 },
      });
    } finally {
      own.disconnect();
    }
  });
});
