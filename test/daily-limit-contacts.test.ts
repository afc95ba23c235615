import { afterEach, describe, expect, it, vi } from 'vitest';
import { overviewCells } from '../src/admin/overview-cells.ts';
import { renderAdminPage } from '../src/admin/overview-page.ts';
import { DailyLimitPause, PROBE_INTERVAL_MS } from '../src/hubspot/daily-limit.ts';
import { DailyLimitStore } from '../src/hubspot/daily-limit-store.ts';
import { QUEUES } from '../src/queues/names.ts';
import { Quarantine } from '../src/quarantine/store.ts';
import { readOverview } from '../src/stats/overview.ts';
import { TestClock } from './support/clock.ts';
import { SETTLE } from './support/env.ts';
import { contactsRig, enrollment, type ContactsRig } from './support/hubspot.ts';

// A HubSpot portal in Taipei at 18:00 local time (10:00 UTC): its day starts again at 16:00 UTC.
const START = '2024-05-01T10:00:00Z';
const TAIPEI_MIDNIGHT = Date.parse('2024-05-01T16:00:00Z');
const PROBE_PATH = '/crm/v3/objects/contacts';

let rig: ContactsRig | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await rig?.stop();
  rig = undefined;
});

/**
 * A contacts rig whose workers, budget and emulator share one TestClock, the daily-limit check
 * running every 100 ms of real time (on the test's clock) and counted, so the test can wait for
 * checks to have happened instead of sleeping.
 */
async function dailyRig(accountInfo: 'answered' | 'refused') {
  const clock = new TestClock(Date.parse(START));
  const checks = vi.spyOn(DailyLimitPause.prototype, 'check');
  const r = await contactsRig(
    { HUBSPOT_BATCH_SIZE: '5', HUBSPOT_BATCH_WAIT_MS: '20' },
    { now: clock.now, portal: { timeZone: 'Asia/Taipei', accountInfoOverDailyLimit: accountInfo } },
  );
  rig = r;
  const store = new DailyLimitStore(r.deps.redis, r.config.redis.prefix);
  const start = () => r.startWorker({ clock, dailyCheckIntervalMs: 100 });
  /** Waits until `n` more checks (of any worker) have finished. */
  const checked = async (n = 3) => {
    const target = checks.mock.results.length + n;
    await vi.waitFor(async () => {
      expect(checks.mock.results.length).toBeGreaterThanOrEqual(target);
      await Promise.all(checks.mock.results.slice(0, target).map((x) => x.value));
    }, SETTLE);
  };
  const requests = () => r.em.state.requests.length;
  const probes = () => r.em.state.requests.filter((q) => q.method === 'GET' && q.path === PROBE_PATH);
  const students = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => enrollment(`${prefix}${i}`, { email: `${prefix}${i}@example.com` }));
  /** Waits until HubSpot work is paused, the jobs given back to the waiting list. */
  const paused = async (jobs: number) => {
    const pause = await vi.waitFor(async () => {
      const p = await store.readPause();
      expect(p?.resetSource, 'the pause and its reset time').toMatch(/^(api-usage|time-zone|utc)$/);
      return p!;
    }, SETTLE);
    await vi.waitFor(
      async () => expect(await r.queue.getJobCounts('waiting', 'active')).toEqual({ waiting: jobs, active: 0 }),
      SETTLE,
    );
    return pause;
  };
  return { r, clock, store, start, checked, requests, probes, students, paused };
}

describe("crm-contacts under HubSpot's daily limit", () => {
  it("pauses all HubSpot work until the portal's midnight read from resetsAt, keeps every job unharmed, and resumes at the reset", async () => {
    const t = await dailyRig('answered');
    await t.start();
    // A first day of work: its answers carry the daily usage headers, which are kept for the overview.
    await t.r.settled(await t.r.add(...t.students('early', 2)));
    const usage = await vi.waitFor(
      async () => (await t.store.readUsage()) ?? expect.unreachable('no usage yet'),
      SETTLE,
    );
    expect(usage).toMatchObject({ limit: 250_000, source: 'headers' });
    expect(usage.remaining).toBeLessThan(250_000);

    t.r.em.exhaustDaily();
    const jobs = await t.r.add(...t.students('late', 12));
    const pause = await t.paused(12);
    expect(pause).toMatchObject({
      policy: 'DAILY',
      until: TAIPEI_MIDNIGHT,
      resetSource: 'api-usage',
      timeZone: 'Asia/Taipei',
      limit: 250_000,
    });
    expect(pause.usage).toBeGreaterThanOrEqual(250_000);
    // Both HubSpot queues are held; the welcome e-mails (SendGrid) are not.
    expect(await t.r.queue.getRateLimitTtl(1)).toBeGreaterThan(0);
    expect(await t.r.deps.queues.work[QUEUES.products].getRateLimitTtl(1)).toBeGreaterThan(0);
    expect(await t.r.deps.queues.work[QUEUES.email].getRateLimitTtl(1)).toBe(0);

    // The next minute: checks go on, HubSpot hears nothing.
    const sent = t.requests();
    for (let s = 0; s < 6; s++) {
      t.clock.advance(10_000);
      await t.checked();
    }
    expect(t.requests()).toBe(sent);
    // The daily 429, the usage and account reads, and the 429s of batches already on their way: a few calls, no more.
    expect(
      t.r.em.state.requests.filter((q) => q.status === 429 || q.path.startsWith('/account-info/')).length,
    ).toBeLessThanOrEqual(6);

    for (const job of await Promise.all(jobs.map((j) => t.r.queue.getJob(j.id!)))) {
      expect([await job!.getState(), job!.attemptsMade, job!.failedReason]).toEqual(['waiting', 0, undefined]);
    }
    expect(await t.r.deps.deadLetters.list(QUEUES.contacts)).toEqual([]);

    // What the overview shows meanwhile.
    const overview = await readOverview(
      {
        redis: t.r.deps.redis,
        prefix: t.r.config.redis.prefix,
        queues: t.r.deps.queues,
        quarantine: new Quarantine(t.r.deps.redis, t.r.config.redis.prefix, 10),
      },
      t.clock.now(),
    );
    expect(overview.hubspotDaily).toMatchObject({
      paused: true,
      until: '2024-05-01T16:00:00.000Z',
      timeZone: 'Asia/Taipei',
      resetSource: 'api-usage',
      limit: 250_000,
    });
    const cells = overviewCells(overview, []);
    expect(cells['hubspot.daily.banner']).toBe(
      'HubSpot daily API limit reached — HubSpot work paused until 2024-05-02 00:00 Asia/Taipei (portal time zone Asia/Taipei); jobs kept',
    );
    const html = renderAdminPage({
      overview,
      cells,
      charts: {},
      alerts: [],
      sandbox: false,
      user: { name: 'ops', role: 'operator' },
      audit: [],
      refreshSeconds: 10,
    });
    expect(html).toContain(
      '<span data-cell="hubspot.daily.banner">HubSpot daily API limit reached — HubSpot work paused until 2024-05-02 00:00 Asia/Taipei (portal time zone Asia/Taipei); jobs kept</span>',
    );

    // Midnight in Taipei: HubSpot's day starts again and so does the work, every job completing on its first attempt.
    t.clock.set('2024-05-01T16:00:01Z');
    const done = await t.r.settled(jobs, 30_000);
    expect(done.map((j) => [j.finishedOn !== undefined, j.attemptsMade, j.failedReason])).toEqual(
      done.map(() => [true, 1, undefined]),
    );
    expect(t.r.em.state.contacts.size).toBe(14);
    expect(await t.store.readPause()).toBeUndefined();
    expect(await t.r.deps.deadLetters.list(QUEUES.contacts)).toEqual([]);
  }, 60_000);

  it("without the account reads (refused too), waits for midnight UTC, and its probe every 15 minutes finds the portal's real reset first", async () => {
    const t = await dailyRig('refused');
    await t.start();
    await t.start(); // a second worker process: still one probe per 15 minutes between them
    await t.r.settled(await t.r.add(...t.students('warm', 1)));
    t.r.em.exhaustDaily();
    const jobs = await t.r.add(...t.students('held', 6));
    const pause = await t.paused(6);
    expect(pause).toMatchObject({
      until: Date.parse('2024-05-02T00:00:00Z'),
      resetSource: 'utc',
      timeZone: undefined,
      probedAt: expect.any(Number),
    });
    expect(t.r.em.state.requests.filter((q) => q.path.startsWith('/account-info/')).map((q) => q.status)).toEqual([
      429, 429,
    ]);

    // 14 minutes on: no probe yet.
    t.clock.advance(PROBE_INTERVAL_MS - 60_000);
    await t.checked();
    expect(t.probes()).toEqual([]);
    // 15 minutes: one probe, refused, for both processes together.
    t.clock.advance(60_000);
    await vi.waitFor(() => expect(t.probes()).toHaveLength(1), SETTLE);
    await t.checked(6);
    expect(t.probes().map((q) => q.status)).toEqual([429]);

    // Just past midnight in Taipei (16:00 UTC), long before midnight UTC: the next probe succeeds and the work resumes.
    t.clock.set('2024-05-01T16:05:00Z');
    const done = await t.r.settled(jobs, 30_000);
    expect(done.every((j) => j.finishedOn !== undefined && j.attemptsMade === 1 && !j.failedReason)).toBe(true);
    expect(t.probes().map((q) => q.status)).toEqual([429, 200]);
    expect(t.clock.now()).toBeLessThan(pause.until);
    expect(await t.store.readPause()).toBeUndefined();
  }, 60_000);

  it('resumes early when the limit is raised (a capacity pack): the probe succeeds', async () => {
    const t = await dailyRig('answered');
    await t.start();
    t.r.em.exhaustDaily();
    const jobs = await t.r.add(...t.students('raised', 3));
    await t.paused(3);
    t.r.em.setDailyLimit(1_250_000);
    t.clock.advance(PROBE_INTERVAL_MS);
    const done = await t.r.settled(jobs, 30_000);
    expect(done.every((j) => j.finishedOn !== undefined && j.attemptsMade === 1)).toBe(true);
    expect(t.probes().map((q) => q.status)).toEqual([200]);
    expect(t.clock.now()).toBeLessThan(TAIPEI_MIDNIGHT);
  }, 60_000);
});
