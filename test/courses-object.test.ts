import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { createHubSpotCall } from '../src/hubspot/call.ts';
import { createHubSpotClient } from '../src/hubspot/client.ts';
import { CoursesObject, type CoursesMode } from '../src/hubspot/courses-object.ts';
import { recordKey } from '../src/redis/keys.ts';
import { TestClock } from './support/clock.ts';
import { dropPrefix, redisUrl } from './support/env.ts';

// HUBSPOT_COURSES_OBJECT's switch on the real Redis and the emulator, on a clock of the test's:
// checked at start and once per 5 minutes for every process, never under off.
let em: HubSpotEmulator;
let redis: Redis;
let n = 0;
beforeAll(async () => {
  em = await startHubSpotEmulator({ coursesObject: 'active' });
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await em.close();
  await redis.quit();
});

function switchFor(mode: CoursesMode, prefix: string, clock: TestClock): CoursesObject {
  const client = createHubSpotClient({ accessToken: em.token, baseUrl: em.url });
  return new CoursesObject({ mode, client, call: createHubSpotCall({}), redis, prefix, now: clock.now });
}
const checks = () => em.state.requests.filter((r) => r.path === '/crm/v3/object-library/enablement/0-410').length;

describe('CoursesObject', () => {
  it('checks at start, holds the answer 5 minutes for every process, then asks again', async () => {
    const prefix = `tco${++n}`;
    const clock = new TestClock();
    em.setObjectActive('0-410', true);
    const before = checks();
    const one = switchFor('auto', prefix, clock);
    const two = switchFor('auto', prefix, clock);
    await Promise.all([one.start(), two.start()]);
    expect(checks() - before).toBe(1);
    expect(await one.active()).toBe(true);

    em.setObjectActive('0-410', false);
    clock.advance(299_000);
    expect(await two.active()).toBe(true);
    expect(checks() - before).toBe(1);
    clock.advance(2_000);
    expect(await two.active()).toBe(false);
    expect(await one.active()).toBe(false);
    expect(checks() - before).toBe(2);
    expect(await one.whyNot()).toBe('not active in the portal');

    const kept = JSON.parse((await redis.get(recordKey(prefix, 'hubspot', 'courses-object')))!);
    expect(kept).toMatchObject({ active: false, usable: false, holdsMs: 300_000 });
    const ttl = await redis.pttl(recordKey(prefix, 'hubspot', 'courses-object'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300_000);
    await dropPrefix(redis, prefix);
  });

  it('under on refuses to start only when HubSpot says inactive, and under off never asks', async () => {
    const clock = new TestClock();
    em.setObjectActive('0-410', false);
    await expect(switchFor('on', `tco${++n}`, clock).start()).rejects.toThrow(
      /^config HUBSPOT_COURSES_OBJECT: is "on"/,
    );
    const before = checks();
    const off = switchFor('off', `tco${++n}`, clock);
    await off.start();
    expect(await off.active()).toBe(false);
    expect(await off.whyNot()).toBe('HUBSPOT_COURSES_OBJECT=off');
    expect(checks()).toBe(before);
  });

  it('asks again after a minute when HubSpot did not answer', async () => {
    const prefix = `tco${++n}`;
    const clock = new TestClock();
    em.setObjectActive('0-410', true);
    await em.injectFaults({
      status: 503,
      count: 1,
      match: (r) => r.path === '/crm/v3/object-library/enablement/0-410',
    });
    const s = switchFor('auto', prefix, clock);
    await s.start();
    expect(await s.whyNot()).toMatch(/^not checked: HubSpot 503/);
    clock.advance(61_000);
    expect(await s.active()).toBe(true);
    await dropPrefix(redis, prefix);
  });
});
