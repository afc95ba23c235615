import { afterEach, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { DailyLimitStore } from '../src/hubspot/daily-limit-store.ts';
import type { CourseJob } from '../src/queues/jobs.ts';
import { QUEUES } from '../src/queues/names.ts';
import type { RunningWorker } from '../src/workers/deps.ts';
import { startProductsWorker } from '../src/workers/products-worker.ts';
import { TestClock } from './support/clock.ts';
import { fixture, SETTLE, testConfig } from './support/env.ts';
import { finishedJob, testWorkerDeps } from './support/worker-deps.ts';

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

it("crm-products under HubSpot's daily limit: the course job waits with its attempts, both HubSpot queues are held, and it completes after the reset", async () => {
  // 18:00 in Taipei; the portal's day starts again at 16:00 UTC.
  const clock = new TestClock(Date.parse('2024-05-01T10:00:00Z'));
  const em: HubSpotEmulator = await startHubSpotEmulator({
    requestsPer10s: undefined,
    now: clock.now,
    portal: { timeZone: 'Asia/Taipei', accountInfoOverDailyLimit: 'answered' },
  });
  const deps = testWorkerDeps(
    testConfig({
      HUBSPOT_ACCESS_TOKEN: em.token,
      HUBSPOT_BASE_URL: em.url,
      SENDGRID_API_KEY: 'SG.unused',
      JOB_ATTEMPTS: '2',
      JOB_BACKOFF_MS: '10',
    }),
  );
  let worker: RunningWorker | undefined;
  stop = async () => {
    await worker?.close();
    await deps.stop();
    await em.close();
  };
  const products = deps.queues.work[QUEUES.products];
  const store = new DailyLimitStore(deps.redis, deps.config.redis.prefix);

  em.exhaustDaily();
  worker = await startProductsWorker(deps, { clock, dailyCheckIntervalMs: 100 });
  const course = fixture('course.created').data;
  const data: CourseJob = {
    key: 'course.created-daily',
    eventType: 'course.created',
    receivedAt: new Date().toISOString(),
    correlationId: 'c-daily',
    course,
  };
  await products.add('course.created', data, { jobId: 'course-daily' });

  const pause = await vi.waitFor(async () => {
    const p = await store.readPause();
    expect(p?.resetSource).toBe('api-usage');
    return p!;
  }, SETTLE);
  expect(pause).toMatchObject({ until: Date.parse('2024-05-01T16:00:00Z'), timeZone: 'Asia/Taipei' });
  await vi.waitFor(
    async () => expect(await (await products.getJob('course-daily'))!.getState()).toBe('waiting'),
    SETTLE,
  );
  const held = (await products.getJob('course-daily'))!;
  expect([held.attemptsMade, held.failedReason]).toEqual([0, undefined]);
  expect(await products.getRateLimitTtl(1)).toBeGreaterThan(0);
  expect(await deps.queues.work[QUEUES.contacts].getRateLimitTtl(1)).toBeGreaterThan(0);
  expect(await deps.deadLetters.list(QUEUES.products)).toEqual([]);
  // No product was written, and HubSpot heard only a few requests: the refused ones and the two account reads.
  expect(em.state.products.size).toBe(0);
  expect(em.state.requests.length).toBeLessThanOrEqual(5);

  clock.set('2024-05-01T16:00:01Z');
  const done = await finishedJob(products, 'course-daily', 30_000);
  expect([await done.getState(), done.attemptsMade, done.failedReason]).toEqual(['completed', 1, undefined]);
  expect(em.state.product('plan_123')).toBeDefined();
  expect(await store.readPause()).toBeUndefined();
}, 60_000);
