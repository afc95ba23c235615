import { randomBytes } from 'node:crypto';
import type { Job, JobsOptions } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BEHAVIOUR, startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import type { Course } from '../src/events/types.ts';
import { createHubSpotClient } from '../src/hubspot/client.ts';
import type { CourseJob } from '../src/queues/jobs.ts';
import { QUEUES } from '../src/queues/names.ts';
import type { RunningWorker } from '../src/workers/deps.ts';
import type { ProductsJobResult } from '../src/workers/products-job.ts';
import { startProductsWorker } from '../src/workers/products-worker.ts';
import { fixture, SETTLE, testConfig } from './support/env.ts';
import { startTestService } from './support/receiver.ts';
import { deadLetterOf, finishedJob, testWorkerDeps } from './support/worker-deps.ts';

let em: HubSpotEmulator;
let deps: ReturnType<typeof testWorkerDeps>;
let worker: RunningWorker;
let service: Awaited<ReturnType<typeof startTestService>>;

const SEED_COURSE = '550e8400-e29b-41d4-a716-446655440000';
const productsQueue = () => deps.queues.work[QUEUES.products];

/** A course event's job data: the seed course.created with `over` applied, under a fresh course id unless given. */
function courseJob(over: Partial<Course> = {}, type: CourseJob['eventType'] = 'course.updated'): CourseJob {
  const course: Course = { ...fixture('course.created').data, id: `course-${randomBytes(4).toString('hex')}`, ...over };
  return {
    key: `${type}-${course.id}-${course.updated_at}`,
    eventType: type,
    receivedAt: new Date().toISOString(),
    correlationId: `c-${course.id}`,
    course,
  };
}

const plan = (id: string, currency: string, amount: number, name = `Plan ${id}`) => ({
  id,
  name,
  description: `about ${id}`,
  currency,
  amount,
});

let seq = 0;
async function add(data: CourseJob, opts: JobsOptions = {}): Promise<string> {
  const jobId = `job-${++seq}`;
  await productsQueue().add(data.eventType, data, { jobId, ...opts });
  return jobId;
}

const finished = (jobId: string) => finishedJob<CourseJob, ProductsJobResult>(productsQueue(), jobId);

async function run(data: CourseJob, opts: JobsOptions = {}): Promise<Job<CourseJob, ProductsJobResult>> {
  return finished(await add(data, opts));
}

/** Product upserts the emulator received for `courseId`, in order. */
const upsertsFor = (courseId: string) =>
  em.state
    .requestsTo('/products/batch/upsert')
    .filter((r) => (r.body as any)?.inputs?.some((i: any) => i.properties.loopwise_course_id === courseId));

const courseOption = (courseId: string) =>
  em.state.properties.contacts.get('loopwise_enrolled_courses')?.options.filter((o) => o.value === courseId);

beforeAll(async () => {
  em = await startHubSpotEmulator({ requestsPer10s: undefined, intervalMs: 1000 });
  const env = { QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`, JOB_BACKOFF_MS: '10', JOB_ATTEMPTS: '3' };
  deps = testWorkerDeps(testConfig(env));
  worker = await startProductsWorker(deps, { client: createHubSpotClient({ accessToken: em.token, baseUrl: em.url }) });
  service = await startTestService(env, 'receiver');
});
afterEach(async () => {
  em.setLimit(undefined);
  em.setBehaviour(DEFAULT_BEHAVIOUR);
  em.clearFaults();
  await productsQueue().resume();
});
afterAll(async () => {
  await service?.stop();
  await worker?.close();
  await deps?.stop();
  await em?.close();
});

describe('crm-products worker against the HubSpot emulator', () => {
  it('turns the seed course.created then course.updated into two products with the updated names and prices', async () => {
    const created = await service.post(fixture('course.created'));
    const updated = await service.post(fixture('course.updated'));
    expect([created.status, updated.status]).toEqual([202, 202]);
    const results = await Promise.all([finished(created.json.key), finished(updated.json.key)]);
    expect(results.map((j) => j.finishedOn && j.failedReason)).toEqual([undefined, undefined]);

    const products = [em.state.product('plan_123'), em.state.product('plan_456')];
    expect(products.map((p) => [p?.properties.name, p?.properties.price])).toEqual([
      ['Advanced Programming Techniques – Standard Plan', '7500'],
      ['Advanced Programming Techniques – Premium Plan', '15000'],
    ]);
    expect(products[0]!.properties).toMatchObject({
      hs_sku: 'plan_123',
      description: '6 months access to all course materials',
      loopwise_course_id: SEED_COURSE,
      loopwise_course_slug: 'advanced-programming-techniques',
      loopwise_course_state: 'published',
      loopwise_plan_currency: 'TWD',
    });
    expect([...em.state.products.values()].filter((p) => p.properties.loopwise_course_id === SEED_COURSE)).toHaveLength(
      2,
    );
    // Whatever order the two jobs ran in, the last write HubSpot saw is the newer version.
    const last = upsertsFor(SEED_COURSE).at(-1)!.body as any;
    expect(last.inputs.map((i: any) => i.properties.price)).toEqual(['7500', '15000']);
    const written = results.find((j) => j.returnvalue.status === 'written')!.returnvalue;
    expect(written.status === 'written' && written.products.map((p) => p.productId).sort()).toEqual(
      [products[0]!.id, products[1]!.id].sort(),
    );
  });

  it('keeps the newer data when course.updated is delivered before course.created (stale one skipped)', async () => {
    const newer = courseJob({
      name: 'New name',
      updated_at: '2024-03-01T10:00:00Z',
      plans: [plan('late-1', 'TWD', 7500)],
    });
    const older = courseJob(
      {
        id: newer.course.id,
        name: 'Old name',
        updated_at: '2024-03-01T17:59:59+08:00',
        plans: [plan('late-1', 'TWD', 5000)],
      },
      'course.created',
    );
    expect((await run(newer)).returnvalue.status).toBe('written');
    const stale = await run(older);
    expect(stale.returnvalue).toMatchObject({ status: 'skipped', skipped: 'stale', courseId: newer.course.id });
    expect(em.state.product('late-1')!.properties).toMatchObject({ name: 'New name – Plan late-1', price: '7500' });
    expect(upsertsFor(newer.course.id)).toHaveLength(1);
    expect(courseOption(newer.course.id)!.map((o) => o.label)).toEqual(['New name']);
  });

  it('writes the same update once, also when it comes again with updated_at as +08:00', async () => {
    const first = courseJob({ updated_at: '2024-04-01T02:00:00Z', plans: [plan('twice-1', 'TWD', 1900)] });
    const again: CourseJob = { ...first, course: { ...first.course, updated_at: '2024-04-01T10:00:00+08:00' } };
    expect((await run(first)).returnvalue.status).toBe('written');
    expect((await run(again)).returnvalue).toMatchObject({ status: 'skipped', skipped: 'duplicate' });
    expect(upsertsFor(first.course.id)).toHaveLength(1);
  });

  it('archives the product of a plan that disappears in a newer event', async () => {
    const v1 = courseJob({
      updated_at: '2024-05-01T00:00:00Z',
      plans: [plan('keep-1', 'TWD', 100), plan('drop-1', 'TWD', 200)],
    });
    const v2 = courseJob({ id: v1.course.id, updated_at: '2024-05-02T00:00:00Z', plans: [plan('keep-1', 'TWD', 150)] });
    await run(v1);
    const dropped = em.state.product('drop-1')!;
    const done = (await run(v2)).returnvalue;
    expect(done).toMatchObject({ status: 'written', archived: [{ planId: 'drop-1', productId: dropped.id }] });
    expect(em.state.product('drop-1')).toBeUndefined();
    expect(em.state.archivedProducts.get(dropped.id)?.properties.loopwise_plan_id).toBe('drop-1');
    expect(em.state.product('keep-1')!.properties.price).toBe('150');
    expect(em.state.requestsTo('/products/batch/archive').at(-1)!.body).toEqual({ inputs: [{ id: dropped.id }] });
  });

  // A batch read in which no id exists: HubSpot is reported to answer 404, the spec lists 207.
  it.each(['404', '207'] as const)(
    'completes an update removing a plan whose product was deleted by hand (read of none answered %s)',
    async (mode) => {
      em.setBehaviour({ allMissingRead: mode });
      const v1 = courseJob({
        updated_at: '2024-08-01T00:00:00Z',
        plans: [plan(`kept-${mode}`, 'TWD', 100), plan(`gone-${mode}`, 'TWD', 200)],
      });
      const v2 = courseJob({
        id: v1.course.id,
        updated_at: '2024-08-02T00:00:00Z',
        plans: [plan(`kept-${mode}`, 'TWD', 150)],
      });
      await run(v1);
      const gone = em.state.product(`gone-${mode}`)!;
      await createHubSpotClient({ accessToken: em.token, baseUrl: em.url }).crm.products.batchApi.archive({
        inputs: [{ id: gone.id }],
      });
      const [reads, archives] = [
        em.state.requestsTo('/products/batch/read').length,
        em.state.requestsTo('/products/batch/archive').length,
      ];
      const done = await run(v2);
      expect(done.returnvalue).toMatchObject({ status: 'written', archived: [] });
      expect(
        em.state
          .requestsTo('/products/batch/read')
          .slice(reads)
          .map((r) => r.status),
      ).toEqual([Number(mode)]);
      expect(em.state.requestsTo('/products/batch/archive')).toHaveLength(archives);
      expect(em.state.product(`kept-${mode}`)!.properties.price).toBe('150');
    },
  );

  it('never lets an older version overwrite a newer one when two workers take versions of one course at once', async () => {
    const second = await startProductsWorker(deps, {
      client: createHubSpotClient({ accessToken: em.token, baseUrl: em.url }),
    });
    try {
      const id = `course-race-${randomBytes(3).toString('hex')}`;
      const versions = [1, 2, 3, 4, 5, 6].map((v) =>
        courseJob({ id, updated_at: `2024-07-0${v}T00:00:00Z`, plans: [plan('race-1', 'USD', v * 100)] }),
      );
      const order = [4, 1, 5, 0, 3, 2].map((i) => versions[i]!);
      const done = await Promise.all((await Promise.all(order.map((v) => add(v)))).map((jobId) => finished(jobId)));
      expect(done.every((j) => j.returnvalue)).toBe(true);
      expect(em.state.product('race-1')!.properties.price).toBe('6.00');
      // Every write HubSpot saw was newer than the one before it.
      const prices = upsertsFor(id).map((r) => Number((r.body as any).inputs[0].properties.price));
      expect(prices).toEqual([...prices].sort((a, b) => a - b));
      expect(new Set(prices).size).toBe(prices.length);
    } finally {
      await second.close();
    }
  });

  it('writes exact decimal prices: USD 1999 → 19.99, KWD 1234 → 1.234', async () => {
    await run(
      courseJob({ plans: [plan('usd-1', 'USD', 1999), plan('kwd-1', 'KWD', 1234), plan('jpy-1', 'JPY', 500)] }),
    );
    expect(['usd-1', 'kwd-1', 'jpy-1'].map((id) => em.state.product(id)?.properties.price)).toEqual([
      '19.99',
      '1.234',
      '500',
    ]);
  });

  it('adds the course as a contact-property option on create and relabels it on rename', async () => {
    const v1 = courseJob(
      { name: 'Option course', updated_at: '2024-06-01T00:00:00Z', plans: [plan('opt-1', 'TWD', 100)] },
      'course.created',
    );
    const v2 = courseJob({
      id: v1.course.id,
      name: 'Renamed course',
      updated_at: '2024-06-02T00:00:00Z',
      plans: [plan('opt-1', 'TWD', 100)],
    });
    const v3 = courseJob({
      id: v1.course.id,
      name: 'Renamed course',
      updated_at: '2024-06-03T00:00:00Z',
      plans: [plan('opt-1', 'TWD', 120)],
    });
    expect((await run(v1)).returnvalue).toMatchObject({ option: 'added' });
    expect(courseOption(v1.course.id)!.map((o) => o.label)).toEqual(['Option course']);
    expect((await run(v2)).returnvalue).toMatchObject({ option: 'renamed' });
    expect(courseOption(v1.course.id)!.map((o) => o.label)).toEqual(['Renamed course']);
    const patches = em.state.requestsTo('/properties/contacts/loopwise_enrolled_courses', 'PATCH').length;
    expect((await run(v3)).returnvalue).toMatchObject({ option: 'kept' });
    expect(em.state.requestsTo('/properties/contacts/loopwise_enrolled_courses', 'PATCH')).toHaveLength(patches);
  });
});

describe('crm-products errors', () => {
  /** The dead letter of `jobId`, once the worker's failed handler has recorded it. */
  const deadLetter = (jobId: string) => deadLetterOf(deps.deadLetters, QUEUES.products, jobId);

  it("sends a batch HubSpot refuses (unknown hs_price_<currency>) to the dead letter with HubSpot's message", async () => {
    const multi = { ...deps, config: { ...deps.config, hubspot: { ...deps.config.hubspot, multiCurrency: true } } };
    await worker.close();
    worker = await startProductsWorker(multi, {
      client: createHubSpotClient({ accessToken: em.token, baseUrl: em.url }),
    });
    try {
      const job = await run(courseJob({ plans: [plan('kwd-multi', 'KWD', 1234)] }));
      expect(job.failedReason).toMatch(/400.*hs_price_kwd/);
      expect((await deadLetter(job.id!)).errors.at(-1)?.message).toMatch(/PROPERTY_DOESNT_EXIST.*hs_price_kwd/);
      expect(em.state.product('kwd-multi')).toBeUndefined();
      // A currency the portal has (emulator: TWD, USD, JPY, EUR) gets its hs_price_ too.
      await run(courseJob({ plans: [plan('usd-multi', 'USD', 1999)] }));
      expect(em.state.product('usd-multi')!.properties).toMatchObject({ price: '19.99', hs_price_usd: '19.99' });
    } finally {
      await worker.close();
      worker = await startProductsWorker(deps, {
        client: createHubSpotClient({ accessToken: em.token, baseUrl: em.url }),
      });
    }
  });

  it('writes the valid plans of a 207 and dead-letters the record HubSpot rejected, with its message', async () => {
    // A portal whose product description is a number property: HubSpot refuses that value per record.
    const description = em.state.properties.products.get('description')!;
    const before = { ...description };
    Object.assign(description, { type: 'number', fieldType: 'number' });
    try {
      const data = courseJob({
        plans: [{ ...plan('ok-207', 'TWD', 100), description: null }, plan('bad-207', 'TWD', 200)],
      });
      const job = await run(data);
      expect(job.failedReason).toMatch(
        /plan bad-207: VALIDATION_ERROR: Property values were not valid.*INVALID_DECIMAL/,
      );
      expect(await deadLetter(job.id!)).toMatchObject({ unrecoverable: true, attemptsMade: 1 });
      expect(em.state.product('ok-207')!.properties.price).toBe('100');
      expect(em.state.product('bad-207')).toBeUndefined();
    } finally {
      Object.assign(description, before);
    }
  });

  it('dead-letters job data that cannot be mapped (a fractional amount) without calling HubSpot', async () => {
    const before = em.state.requests.length;
    const job = await run(courseJob({ plans: [plan('frac-1', 'USD', 19.99)] }));
    expect(job.failedReason).toMatch(/cannot be mapped: amount must be a whole number/);
    expect(await deadLetter(job.id!)).toMatchObject({ unrecoverable: true, attemptsMade: 1 });
    expect(em.state.requests.length).toBe(before);
  });

  it('waits out a 429 storm without using attempts or losing jobs', async () => {
    // HubSpot allows 5 requests per second here, far below the budget the worker paces itself to.
    em.setLimit(5);
    const jobs = Array.from({ length: 6 }, (_, i) => courseJob({ plans: [plan(`storm-${i}`, 'USD', 100 + i)] }));
    const ids = await Promise.all(jobs.map((j) => add(j, { attempts: 1 })));
    const done = await Promise.all(ids.map((id) => finished(id)));
    expect(done.map((j) => j.returnvalue?.status)).toEqual(jobs.map(() => 'written'));
    expect(em.state.requests.some((r) => r.status === 429)).toBe(true);
    expect(jobs.map((_, i) => em.state.product(`storm-${i}`)?.properties.price)).toEqual([
      '1.00',
      '1.01',
      '1.02',
      '1.03',
      '1.04',
      '1.05',
    ]);
  });

  it('retries a 503 with backoff and completes', async () => {
    await em.injectFaults({ status: 503, match: (r) => r.path.endsWith('/products/batch/upsert') });
    const job = await run(courseJob({ plans: [plan('retry-1', 'TWD', 100)] }));
    expect(job.returnvalue.status).toBe('written');
    expect(job.attemptsMade).toBe(2); // the failed one and the one that succeeded
    expect(
      em.state
        .requestsTo('/products/batch/upsert')
        .slice(-2)
        .map((r) => r.status),
    ).toEqual([503, 200]);
  });

  it('pauses the queue on a 401 without using an attempt, and finishes once resumed', async () => {
    await em.injectFaults({ status: 401, match: (r) => r.path.endsWith('/products/batch/upsert') });
    const id = await add(courseJob({ plans: [plan('auth-1', 'TWD', 100)] }), { attempts: 1 });
    await vi.waitFor(async () => expect(await productsQueue().isPaused()).toBe(true), SETTLE);
    const job = (await productsQueue().getJob(id))!;
    expect(['waiting', 'paused']).toContain(await job.getState());
    expect(job.attemptsMade).toBe(0);
    await productsQueue().resume();
    expect((await finished(id)).returnvalue.status).toBe('written');
  });
});
