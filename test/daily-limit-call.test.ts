import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { createHubSpotCall } from '../src/hubspot/call.ts';
import { createHubSpotClient } from '../src/hubspot/client.ts';
import { DailyLimitPause } from '../src/hubspot/daily-limit.ts';
import { DailyLimitStore } from '../src/hubspot/daily-limit-store.ts';
import { HubSpotCallError } from '../src/hubspot/errors.ts';
import { RequestBudget } from '../src/hubspot/request-budget.ts';
import { createLogger } from '../src/log.ts';
import { openQueues } from '../src/queues/registry.ts';
import { openPrivacy } from '../src/student-data/deps.ts';
import { TestClock } from './support/clock.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

let em: HubSpotEmulator;
let redis: Redis;
const config = () =>
  testConfig({ HUBSPOT_ACCESS_TOKEN: em.token, HUBSPOT_BASE_URL: em.url, SENDGRID_API_KEY: 'SG.unused' });
beforeAll(async () => {
  em = await startHubSpotEmulator({ portal: { timeZone: 'Asia/Taipei' } });
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await em.close();
  await redis.quit();
});

/** A pause recorded as the workers record it, until `until`, with the budget blocked. */
async function pausedUntil(prefix: string, clock: TestClock, until: number) {
  const store = new DailyLimitStore(redis, prefix);
  await store.writePause(
    {
      since: clock.now(),
      until,
      policy: 'DAILY',
      resetSource: 'api-usage',
      timeZone: 'Asia/Taipei',
      probedAt: clock.now(),
    },
    clock.now(),
  );
  const budget = new RequestBudget(redis, prefix, { max: 100, clock });
  await budget.block(until - clock.now());
  return { store, budget };
}

describe('a HubSpot call while the daily limit holds', () => {
  it('fails at once, unsent, as rate limited for a slice of the pause (the job goes back, no attempt used)', async () => {
    const clock = new TestClock(Date.parse('2024-05-01T10:00:00Z'));
    const { prefix } = config().redis;
    const { store, budget } = await pausedUntil(prefix, clock, Date.parse('2024-05-01T16:00:00Z'));
    const client = createHubSpotClient({ accessToken: em.token, baseUrl: em.url });
    const daily = new DailyLimitPause({
      client,
      store,
      budget,
      probe: async () => undefined,
      log: createLogger('silent'),
      now: clock.now,
    });
    const call = createHubSpotCall({ budget, daily });
    const sent = em.state.requests.length;
    const err = await call('contacts.upsert', () => client.crm.contacts.basicApi.getPage(1)).catch((e) => e);
    expect(err).toBeInstanceOf(HubSpotCallError);
    expect(err.failure).toEqual({
      kind: 'rate_limited',
      status: 429,
      policy: 'DAILY',
      waitMs: 60_000,
      message: 'HubSpot daily API limit reached: HubSpot work paused until 2024-05-02 00:00 Asia/Taipei; jobs kept',
    });
    expect(em.state.requests.length).toBe(sent);
    expect(clock.now()).toBe(Date.parse('2024-05-01T10:00:00Z')); // it did not wait for the budget
    await dropPrefix(redis, prefix);
  });

  it('makes `forget --hubspot` fail at once saying until when, instead of waiting hours for the budget', async () => {
    const c = config();
    const now = Date.now();
    await pausedUntil(c.redis.prefix, new TestClock(now), now + 3 * 3_600_000);
    const queues = openQueues(redis, c);
    try {
      const privacy = await openPrivacy(c, redis, queues);
      const err = await privacy.gdprDelete!('student@example.com').catch((e) => e);
      expect(err).toBeInstanceOf(HubSpotCallError);
      expect(err.message).toMatch(
        /HubSpot daily API limit reached: HubSpot work paused until \d{4}-\d\d-\d\d \d\d:\d\d Asia\/Taipei; jobs kept$/,
      );
    } finally {
      await queues.close();
      await dropPrefix(redis, c.redis.prefix);
    }
  });

  it('falls back to the plain block when the pause cannot be recorded', async () => {
    const clock = new TestClock();
    const { prefix } = config().redis;
    const budget = new RequestBudget(redis, prefix, { max: 100, clock });
    const failing = {
      reached: () => Promise.reject(new Error('Redis away')),
      current: async () => undefined,
      failure: () => expect.unreachable(),
    };
    const limited = await startHubSpotEmulator({ portal: { dailyLimit: 0 } });
    try {
      const client = createHubSpotClient({ accessToken: limited.token, baseUrl: limited.url });
      const err = await createHubSpotCall({ budget, daily: failing })('contacts.read', () =>
        client.crm.contacts.basicApi.getPage(1),
      ).catch((e) => e);
      expect(err.failure).toMatchObject({ kind: 'rate_limited', policy: 'DAILY', waitMs: 3_600_000 });
      expect(await budget.blockedFor()).toBe(3_600_000);
    } finally {
      await limited.close();
      await dropPrefix(redis, prefix);
    }
  });
});
