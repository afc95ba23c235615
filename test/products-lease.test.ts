import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { createHubSpotCall, type HubSpotCall } from '../src/hubspot/call.ts';
import { createHubSpotClient } from '../src/hubspot/client.ts';
import { CourseOptions } from '../src/hubspot/course-options.ts';
import { CourseVersions, type CourseLease, type KeptLease } from '../src/hubspot/course-versions.ts';
import { setupOnce } from '../src/hubspot/setup.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics.ts';
import type { CourseJob } from '../src/queues/jobs.ts';
import { QUEUES } from '../src/queues/names.ts';
import { recordKey } from '../src/redis/keys.ts';
import { productsProcessor } from '../src/workers/products-job.ts';
import { dropPrefix, fixture, redisUrl, SETTLE, testConfig } from './support/env.ts';

/** CourseVersions that lets the test see the lease the job keeps alive (renewed every 100 ms). */
class WatchedVersions extends CourseVersions {
  kept?: KeptLease;
  override keepAlive(lease: CourseLease): KeptLease {
    this.kept = super.keepAlive(lease);
    return this.kept;
  }
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/**
 * The crm-products processor on a real queue and worker, against the emulator, whose HubSpot
 * calls pass through `around` first: there the test takes the course lock away, as another job
 * would after the lock lapsed during a long wait for the request budget.
 */
async function productsRig(around: (operation: string, send: () => Promise<unknown>) => Promise<unknown>) {
  const em: HubSpotEmulator = await startHubSpotEmulator({ requestsPer10s: undefined });
  closers.push(() => em.close());
  const prefix = testConfig().redis.prefix;
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  closers.push(() => redis.quit());
  closers.push(() => dropPrefix(redis, prefix));
  const client = createHubSpotClient({ accessToken: em.token, baseUrl: em.url });
  const real = createHubSpotCall({});
  const call: HubSpotCall = (operation, request) =>
    around(operation, () => real(operation, request)) as ReturnType<typeof request>;
  // A 3 s lock, renewed every second: the lock taken away is seen within a second, and a busy
  // machine stalling the renewal for a few hundred milliseconds does not lose the lease by itself.
  const versions = new WatchedVersions(redis, prefix, 3000);
  const queue = new Queue<CourseJob>(QUEUES.products, { connection: redis, prefix });
  closers.push(() => queue.close());
  const processor = productsProcessor({
    sync: {
      client,
      call,
      versions,
      options: new CourseOptions(client, call, redis, prefix),
      setup: setupOnce(client, call),
      mapping: { multiCurrency: false, currencyDigits: {} },
    },
    queue,
    metrics: createMetrics(),
    log: createLogger('silent'),
  });
  const failures: string[] = [];
  const worker = new Worker<CourseJob>(QUEUES.products, processor, {
    connection: new Redis(redisUrl(), { maxRetriesPerRequest: null }),
    prefix,
  });
  worker.on('failed', (_job, err) => failures.push(`${err.name}: ${err.message}`));
  closers.push(() => worker.close());
  return { em, redis, prefix, versions, queue, failures };
}

describe('a products job that loses its course lock', () => {
  it('writes nothing more to HubSpot once the lock is taken away, and is retried until it has the course again', async () => {
    const course = { ...fixture('course.created').data, id: `course-${randomBytes(4).toString('hex')}` };
    let stolenAt = -1;
    let r!: Awaited<ReturnType<typeof productsRig>>;
    const lockKey = () => recordKey(r.prefix, 'course-lock', course.id);
    r = await productsRig(async (operation, send) => {
      if (operation === 'products.upsert' && stolenAt < 0) {
        stolenAt = r.em.state.requests.length;
        await r.redis.set(lockKey(), 'another-job', 'PX', 60_000);
        await vi.waitFor(() => expect(r.versions.kept?.lost).toBe(true), SETTLE); // its renewal found it taken
      }
      return send();
    });
    await r.queue.add(
      'course.created',
      {
        key: `course-${course.id}`,
        eventType: 'course.created',
        receivedAt: new Date().toISOString(),
        correlationId: 'c-1',
        course,
      },
      { jobId: 'lease-1', attempts: 3, backoff: { type: 'fixed', delay: 10 } },
    );

    await vi.waitFor(
      () => expect(r.failures).toEqual(['LeaseLostError: lost the course lock before a HubSpot request; retrying']),
      SETTLE,
    );
    // Set-up and option writes went out before; from the moment the lock was gone, nothing did.
    expect(stolenAt).toBeGreaterThan(0);
    expect(r.em.state.requests.slice(stolenAt)).toEqual([]);
    expect(r.em.state.requestsTo('/products/batch/upsert')).toEqual([]);
    expect(r.em.state.objects.products.size).toBe(0);
    expect(await r.versions.get(course.id)).toBeUndefined();
    // While the other job holds the course, this one waits (deferred, no attempt used).
    expect(['delayed', 'waiting', 'active']).toContain(await r.queue.getJobState('lease-1'));

    await r.redis.del(lockKey()); // the other job is done with the course
    await vi.waitFor(async () => expect(await r.queue.getJobState('lease-1')).toBe('completed'), SETTLE);
    const job = (await r.queue.getJob('lease-1'))!;
    expect(job.returnvalue).toMatchObject({ status: 'written', courseId: course.id });
    expect(job.attemptsMade).toBe(2);
    expect(r.em.state.requestsTo('/products/batch/upsert').map((q) => q.status)).toEqual([200]);
    expect(r.em.state.objects.products.size).toBe(course.plans.length);
    expect((await r.versions.get(course.id))?.planIds).toHaveLength(course.plans.length);
  });

  it('records no version when the lock is lost after the products were written, and writes them again on retry', async () => {
    const course = { ...fixture('course.created').data, id: `course-${randomBytes(4).toString('hex')}` };
    let stolen = false;
    const r: Awaited<ReturnType<typeof productsRig>> = await productsRig(async (operation, send) => {
      const answer = await send();
      if (operation === 'products.upsert' && !stolen) {
        stolen = true;
        await r.redis.set(recordKey(r.prefix, 'course-lock', course.id), 'another-job', 'PX', 300);
        await vi.waitFor(() => expect(r.versions.kept?.lost).toBe(true), SETTLE);
      }
      return answer;
    });
    await r.queue.add(
      'course.created',
      {
        key: `course-${course.id}`,
        eventType: 'course.created',
        receivedAt: new Date().toISOString(),
        correlationId: 'c-2',
        course,
      },
      { jobId: 'lease-2', attempts: 3, backoff: { type: 'fixed', delay: 10 } },
    );

    await vi.waitFor(async () => expect(await r.queue.getJobState('lease-2')).toBe('completed'), SETTLE);
    expect(r.failures).toEqual(['LeaseLostError: lost the course lock before recording the version; retrying']);
    // Written twice (the upsert is idempotent by plan id): once under the lost lock, once on retry.
    expect(r.em.state.requestsTo('/products/batch/upsert').map((q) => q.status)).toEqual([200, 200]);
    expect(r.em.state.objects.products.size).toBe(course.plans.length);
    expect((await r.queue.getJob('lease-2'))!.attemptsMade).toBe(2);
  });
});
