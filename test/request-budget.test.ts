import { Client } from '@hubspot/api-client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { createHubSpotCall } from '../src/hubspot/call.ts';
import { HubSpotCallError } from '../src/hubspot/errors.ts';
import { RequestBudget } from '../src/hubspot/request-budget.ts';
import { createMetrics } from '../src/metrics.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

// Two connections stand for two worker processes sharing one Redis.
let a: Redis;
let b: Redis;
let prefix: string;
beforeAll(() => {
  a = new Redis(redisUrl());
  b = new Redis(redisUrl());
  prefix = testConfig().redis.prefix;
});
afterAll(async () => {
  await dropPrefix(a, prefix);
  await Promise.all([a.quit(), b.quit()]);
});

describe('RequestBudget', () => {
  it('grants one request at a time across processes and says how long the others must wait', async () => {
    const p = `${prefix}-spacing`;
    const budgets = [new RequestBudget(a, p, { max: 5, intervalMs: 1000 }), new RequestBudget(b, p, { max: 5, intervalMs: 1000 })];
    const waits = await Promise.all(Array.from({ length: 10 }, (_, i) => budgets[i % 2]!.tryAcquire()));
    expect(waits.filter((w) => w === 0)).toHaveLength(1);
    expect(waits.filter((w) => w > 0)).toHaveLength(9);
  });

  it('never lets more than `max` requests into one window', async () => {
    const p = `${prefix}-window`;
    const budgets = [new RequestBudget(a, p, { max: 4, intervalMs: 300, marginMs: 0 }), new RequestBudget(b, p, { max: 4, intervalMs: 300, marginMs: 0 })];
    const windowKey = `${p}:cs:hubspot:budget`;
    for (let i = 0; i < 12; i++) {
      await budgets[i % 2]!.acquire();
      expect(await a.zcard(windowKey)).toBeLessThanOrEqual(4);
    }
  });

  it('makes every process wait after block() (a 429 seen by one of them)', async () => {
    const p = `${prefix}-block`;
    const one = new RequestBudget(a, p, { max: 100 });
    const other = new RequestBudget(b, p, { max: 100 });
    await one.block(5000);
    expect(await other.tryAcquire()).toBeGreaterThan(4000);
    expect(await other.blockedFor()).toBeGreaterThan(4000);
    await one.block(10); // a shorter block never cuts a longer one short
    expect(await one.blockedFor()).toBeGreaterThan(4000);
  });

  it('keeps two processes sharing it under HubSpot\'s burst limit: no 429', async () => {
    const em = await startHubSpotEmulator({ requestsPer10s: 5, intervalMs: 500 });
    const hs = new Client({ accessToken: em.token, basePath: em.url });
    const p = `${prefix}-hubspot`;
    const metrics = createMetrics();
    const calls = [a, b].map((r) => createHubSpotCall({ budget: new RequestBudget(r, p, { max: 5, intervalMs: 500, marginMs: 50 }), metrics }));
    try {
      await Promise.all(Array.from({ length: 16 }, (_, i) => calls[i % 2]!('properties.groups.list', () => hs.crm.properties.groupsApi.getAll('contacts'))));
      expect(em.state.requests.map((r) => r.status)).toEqual(Array(16).fill(200));
      expect((await metrics.apiCalls.get()).values).toEqual([expect.objectContaining({ labels: { api: 'hubspot', operation: 'properties.groups.list', status: '2xx' }, value: 16 })]);
    } finally {
      await em.close();
    }
  });
});

describe('createHubSpotCall on a 429', () => {
  it('throws a rate-limit failure with HubSpot\'s wait and blocks the budget for everyone', async () => {
    const em = await startHubSpotEmulator({ requestsPer10s: 1, intervalMs: 2000 });
    const hs = new Client({ accessToken: em.token, basePath: em.url });
    const p = `${prefix}-429`;
    const budget = new RequestBudget(a, p, { max: 100 });
    const call = createHubSpotCall({ budget });
    try {
      await call('groups', () => hs.crm.properties.groupsApi.getAll('contacts'));
      const err = await call('groups', () => hs.crm.properties.groupsApi.getAll('contacts')).catch((e) => e);
      expect(err).toBeInstanceOf(HubSpotCallError);
      expect(err.failure).toMatchObject({ kind: 'rate_limited', status: 429, waitMs: 2000, policy: 'TEN_SECONDLY_ROLLING' });
      expect(await new RequestBudget(b, p, { max: 100 }).blockedFor()).toBeGreaterThan(1000);
    } finally {
      await em.close();
    }
  });
});
