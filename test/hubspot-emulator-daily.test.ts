import { Client } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startHubSpotEmulator,
  type HubSpotEmulator,
  type HubSpotEmulatorOptions,
} from '../src/emulators/hubspot/index.ts';
import { readDailyUsage, readPortalDetails } from '../src/hubspot/account-info.ts';

let em: HubSpotEmulator | undefined;
afterEach(async () => {
  await em?.close();
  em = undefined;
});

/** A clock the test moves: 2024-05-01 18:00 in Taipei. */
function clock(start = Date.parse('2024-05-01T10:00:00Z')) {
  let t = start;
  return { now: () => t, set: (iso: string) => void (t = Date.parse(iso)) };
}

async function start(opts: HubSpotEmulatorOptions) {
  em = await startHubSpotEmulator(opts);
  return { em, hs: new Client({ accessToken: em.token, basePath: em.url }) };
}

/** The error the real client throws for `p`. */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('the call should fail'),
    (e: any) => e as { code: number; body: any; headers: Record<string, string> },
  );

describe('HubSpot emulator: the daily limit', () => {
  it('sends X-HubSpot-RateLimit-Daily and -Daily-Remaining on every answer, 250,000 a day by default', async () => {
    const { hs } = await start({});
    const first = await hs.crm.properties.groupsApi.getAllWithHttpInfo('contacts');
    const second = await hs.crm.properties.groupsApi.getAllWithHttpInfo('contacts');
    expect(first.headers).toMatchObject({
      'x-hubspot-ratelimit-daily': '250000',
      'x-hubspot-ratelimit-daily-remaining': '249999',
      'x-hubspot-ratelimit-max': '100',
    });
    expect(second.headers['x-hubspot-ratelimit-daily-remaining']).toBe('249998');
  });

  it("answers 429 DAILY past the limit, with HubSpot's body and Daily-Remaining 0, until the portal's midnight", async () => {
    const c = clock();
    const { em, hs } = await start({ now: c.now, portal: { timeZone: 'Asia/Taipei', dailyLimit: 2 } });
    await hs.crm.properties.groupsApi.getAll('contacts');
    await hs.crm.properties.groupsApi.getAll('contacts');
    const e = await failure(hs.crm.properties.groupsApi.getAll('contacts'));
    expect(e.code).toBe(429);
    expect(e.body).toEqual({
      status: 'error',
      message: 'You have reached your daily limit.',
      errorType: 'RATE_LIMIT',
      category: 'RATE_LIMITS',
      correlationId: expect.any(String),
      policyName: 'DAILY',
    });
    expect(e.headers).toMatchObject({ 'x-hubspot-ratelimit-daily': '2', 'x-hubspot-ratelimit-daily-remaining': '0' });

    c.set('2024-05-01T15:59:59Z'); // 23:59:59 in Taipei: still the same day
    expect((await failure(hs.crm.properties.groupsApi.getAll('contacts'))).code).toBe(429);
    c.set('2024-05-01T16:00:00Z'); // midnight in Taipei: a new day
    const fresh = await hs.crm.properties.groupsApi.getAllWithHttpInfo('contacts');
    expect(fresh.headers['x-hubspot-ratelimit-daily-remaining']).toBe('1');
    expect(em.state.requests.map((r) => r.status)).toEqual([200, 200, 429, 429, 200]);
  });

  it('exhausts the day until a given instant when told: refused until then, resetsAt says it, answered after', async () => {
    const c = clock();
    const { em, hs } = await start({
      now: c.now,
      portal: { timeZone: 'Asia/Taipei', accountInfoOverDailyLimit: 'answered' },
    });
    em.exhaustDaily(Date.parse('2024-05-01T10:00:05Z'));
    expect((await failure(hs.crm.properties.groupsApi.getAll('contacts'))).body.policyName).toBe('DAILY');
    const usage = (await hs
      .apiRequest({ method: 'GET', path: '/account-info/v3/api-usage/daily/private-apps' })
      .then((r) => r.json())) as { results: { resetsAt: string }[] };
    expect(usage.results[0]!.resetsAt).toBe('2024-05-01T10:00:05.000Z');
    c.set('2024-05-01T10:00:05Z');
    expect((await hs.crm.properties.groupsApi.getAllWithHttpInfo('contacts')).httpStatusCode).toBe(200);
  });

  it('takes a new limit or an exhausted day from the test: setDailyLimit, exhaustDaily', async () => {
    const { em, hs } = await start({});
    em.exhaustDaily();
    expect((await failure(hs.crm.properties.groupsApi.getAll('contacts'))).body.policyName).toBe('DAILY');
    em.setDailyLimit(1_250_000); // a capacity pack bought: today's count stays, the limit is higher
    const ok = await hs.crm.properties.groupsApi.getAllWithHttpInfo('contacts');
    expect(ok.headers).toMatchObject({
      'x-hubspot-ratelimit-daily': '1250000',
      'x-hubspot-ratelimit-daily-remaining': '999999',
    });
    em.setDailyLimit(undefined);
    expect(
      (await hs.crm.properties.groupsApi.getAllWithHttpInfo('contacts')).headers['x-hubspot-ratelimit-daily'],
    ).toBeUndefined();
  });

  it('does not count a call the burst limit refused', async () => {
    const { em, hs } = await start({ requestsPer10s: 1, portal: { dailyLimit: 10 } });
    await hs.crm.properties.groupsApi.getAll('contacts');
    const burst = await failure(hs.crm.properties.groupsApi.getAll('contacts'));
    expect(burst.body.policyName).toBe('TEN_SECONDLY_ROLLING');
    em.setLimit(undefined);
    expect(
      (await hs.crm.properties.groupsApi.getAllWithHttpInfo('contacts')).headers['x-hubspot-ratelimit-daily-remaining'],
    ).toBe('8');
  });
});

describe('HubSpot emulator: account information', () => {
  it("serves the account details with the portal's time zone and offset", async () => {
    const c = clock();
    const { hs } = await start({ now: c.now, portal: { timeZone: 'Asia/Taipei', portalId: 4242 } });
    const res = await hs.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      portalId: 4242,
      accountType: 'STANDARD',
      timeZone: 'Asia/Taipei',
      utcOffset: '+08:00',
      utcOffsetMilliseconds: 28_800_000,
    });
    expect(await readPortalDetails(hs)).toEqual({ portalId: 4242, timeZone: 'Asia/Taipei' });
  });

  it("defaults to US/Eastern, as HubSpot's documentation shows, with its DST offset", async () => {
    const c = clock();
    const { hs } = await start({ now: c.now });
    expect(await (await hs.apiRequest({ method: 'GET', path: '/account-info/v3/details' })).json()).toMatchObject({
      timeZone: 'US/Eastern',
      utcOffset: '-04:00',
    });
  });

  it("serves the private apps' daily usage with the reset at the portal's next midnight; the call itself counts", async () => {
    const c = clock();
    const { hs } = await start({ now: c.now, portal: { timeZone: 'Asia/Taipei', dailyLimit: 500 } });
    await hs.crm.properties.groupsApi.getAll('contacts');
    const res = await hs.apiRequest({ method: 'GET', path: '/account-info/v3/api-usage/daily/private-apps' });
    expect(await res.json()).toEqual({
      results: [
        {
          name: 'private-apps-api-calls-daily',
          usageLimit: 500,
          currentUsage: 2,
          collectedAt: '2024-05-01T10:00:00.000Z',
          fetchStatus: 'SUCCESS',
          resetsAt: '2024-05-01T16:00:00.000Z',
        },
      ],
    });
    expect(await readDailyUsage(hs)).toEqual({
      usage: 3,
      limit: 500,
      resetsAt: '2024-05-01T16:00:00.000Z',
      fetchStatus: 'SUCCESS',
    });
  });

  it('refuses account information past the daily limit by default, and answers it when told to', async () => {
    const refused = await start({ portal: { dailyLimit: 1 } });
    refused.em.exhaustDaily();
    const err = await failure(readDailyUsage(refused.hs));
    expect(err).toMatchObject({ code: 429, body: { policyName: 'DAILY' } });
    await refused.em.close();

    const answered = await start({ portal: { dailyLimit: 1, accountInfoOverDailyLimit: 'answered' } });
    answered.em.exhaustDaily();
    expect(await readDailyUsage(answered.hs)).toMatchObject({ usage: 2, limit: 1 });
    expect((await failure(answered.hs.crm.properties.groupsApi.getAll('contacts'))).code).toBe(429);
  });
});
