import { Client } from '@hubspot/api-client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { createHubSpotCall } from '../src/hubspot/call.ts';
import { HubSpotCallError } from '../src/hubspot/errors.ts';
import { BudgetBlockedError, RequestBudget } from '../src/hubspot/request-budget.ts';
import { createMetrics } from '../src/metrics.ts';
import { TestClock } from './support/clock.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

// Two connections stand for two worker processes sharing one Redis.
let a: Redis;
let b: Redis;
let prefix: string;
let clock: TestClock;
beforeAll(() => {
  a = new Redis(redisUrl());
  b = new Redis(redisUrl());
  prefix = testConfig().redis.prefix;
});
beforeEach(() => {
  clock = new TestClock();
});
afterAll(async () => {
  await dropPrefix(a, prefix);
  await Promise.all([a.quit(), b.quit()]);
});

/** Differences between neighbours. */
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('RequestBudget', () => {
  it('grants one request at a time across processes and says how long the others must wait', async () => {
    const p = `${prefix}-spacing`;
    // 5 per 1000 ms + 250 ms margin: one every 250 ms, up to 25 ms early.
    const budgets = [a, b].map((r) => new RequestBudget(r, p, { max: 5, intervalMs: 1000, clock }));
    const waits = await Promise.all(Array.from({ length: 10 }, (_, i) => budgets[i % 2]!.tryAcquire()));
    expect(waits.filter((w) => w === 0)).toHaveLength(1);
    expect(waits.filter((w) => w !== 0)).toEqual(Array(9).fill(225));
    clock.advance(224);
    expect(await budgets[1]!.tryAcquire()).toBe(1);
    clock.advance(1);
    expect(await budgets[1]!.tryAcquire()).toBe(0);
  });

  it('never lets more than `max` requests into one window, and spaces them evenly', async () => {
    const p = `${prefix}-window`;
    // 5 per 10 000 ms + 250 ms margin: one every 2050 ms, each up to 25 ms early, never six in 10 250 ms.
    const budgets = [a, b].map((r) => new RequestBudget(r, p, { max: 5, intervalMs: 10_000, clock }));
    const windowKey = `${p}:cs:hubspot:budget`;
    const granted: number[] = [];
    for (let i = 0; i < 14; i++) {
      await budgets[i % 2]!.acquire();
      granted.push(clock.now());
      expect(await a.zcard(windowKey)).toBeLessThanOrEqual(5);
    }
    for (const gap of gaps(granted)) {
      expect(gap).toBeGreaterThanOrEqual(2025);
      expect(gap).toBeLessThan(2100);
    }
    // Early by 25 ms five times over would fit a sixth into one window: the window itself stops it.
    for (let i = 0; i + 5 < granted.length; i++) expect(granted[i + 5]! - granted[i]!).toBeGreaterThanOrEqual(10_250);
  });

  it('makes every process wait after block() (a 429 seen by one of them)', async () => {
    const p = `${prefix}-block`;
    const one = new RequestBudget(a, p, { max: 100, clock });
    const other = new RequestBudget(b, p, { max: 100, clock });
    await one.block(5000);
    expect(await other.tryAcquire()).toBe(5000);
    expect(await other.blockedFor()).toBe(5000);
    await one.block(10); // a shorter block never cuts a longer one short
    expect(await one.blockedFor()).toBe(5000);
    clock.advance(4999);
    expect(await other.tryAcquire()).toBe(1);
    clock.advance(1);
    expect(await other.blockedFor()).toBe(0);
    expect(await other.tryAcquire()).toBe(0);
  });

  it('gives up at once on a block longer than the caller would wait, and unblock() lifts a block', async () => {
    const p = `${prefix}-long-block`;
    const one = new RequestBudget(a, p, { max: 100, clock });
    const other = new RequestBudget(b, p, { max: 100, clock });
    await one.block(3_600_000);
    const start = clock.now();
    const err = await other.acquire(undefined, 60_000).catch((e) => e);
    expect(err).toBeInstanceOf(BudgetBlockedError);
    expect(err.waitMs).toBe(3_600_000);
    expect(clock.now()).toBe(start); // it did not sleep
    await one.unblock();
    expect(await other.blockedFor()).toBe(0);
    await other.acquire(undefined, 60_000);
  });

  it("goes by Redis' own clock when given none", async () => {
    const p = `${prefix}-redis-time`;
    const one = new RequestBudget(a, p, { max: 1 });
    const other = new RequestBudget(b, p, { max: 1 });
    expect(await one.tryAcquire()).toBe(0);
    const wait = await other.tryAcquire();
    expect(wait).toBeGreaterThan(9000); // one per 10 250 ms (window and margin)
    expect(wait).toBeLessThanOrEqual(10_250);
    await one.block(60_000);
    expect(await other.blockedFor()).toBeGreaterThan(50_000);
    expect(await other.blockedFor()).toBeLessThanOrEqual(60_000);
  });

  it("keeps two processes sharing it under HubSpot's burst limit: no 429", async () => {
    const em = await startHubSpotEmulator({ requestsPer10s: 5, now: clock.now });
    const hs = new Client({ accessToken: em.token, basePath: em.url });
    const p = `${prefix}-hubspot`;
    const metrics = createMetrics();
    const calls = [a, b].map((r) => createHubSpotCall({ budget: new RequestBudget(r, p, { max: 5, clock }), metrics }));
    try {
      // The two processes take turns; each waits for the shared budget before its request.
      for (let i = 0; i < 16; i++)
        await calls[i % 2]!('properties.groups.list', () => hs.crm.properties.groupsApi.getAll('contacts'));
      expect(em.state.requests.map((r) => r.status)).toEqual(Array(16).fill(200));
      // One per 2050 ms (10 000 ms + 250 ms margin over 5), each up to 25 ms early.
      for (const gap of gaps(em.state.requests.map((r) => r.at))) expect(gap).toBeGreaterThanOrEqual(2025);
      expect((await metrics.apiCalls.get()).values).toEqual([
        expect.objectContaining({
          labels: { api: 'hubspot', operation: 'properties.groups.list', status: '2xx' },
          value: 16,
        }),
      ]);
    } finally {
      await em.close();
    }
  });
});

describe('createHubSpotCall on a 429', () => {
  it("throws a rate-limit failure with HubSpot's wait and blocks the budget for everyone", async () => {
    const em = await startHubSpotEmulator({ requestsPer10s: 1, intervalMs: 2000, now: clock.now });
    const hs = new Client({ accessToken: em.token, basePath: em.url });
    const p = `${prefix}-429`;
    const call = createHubSpotCall({ budget: new RequestBudget(a, p, { max: 100, clock }) });
    try {
      await call('groups', () => hs.crm.properties.groupsApi.getAll('contacts'));
      const err = await call('groups', () => hs.crm.properties.groupsApi.getAll('contacts')).catch((e) => e);
      expect(err).toBeInstanceOf(HubSpotCallError);
      expect(err.failure).toMatchObject({
        kind: 'rate_limited',
        status: 429,
        waitMs: 2000,
        policy: 'TEN_SECONDLY_ROLLING',
      });
      expect(await new RequestBudget(b, p, { max: 100, clock }).blockedFor()).toBe(2000);
    } finally {
      await em.close();
    }
  });
});
