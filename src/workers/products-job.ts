import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job, type Queue } from 'bullmq';
import type { JobOutcome } from '../api-failure.ts';
import type { OptionChange } from '../hubspot/course-options.ts';
import { accountWait, HubSpotCallError } from '../hubspot/errors.ts';
import {
  CourseMappingError,
  LeaseLostError,
  prepareCourse,
  syncCourseProducts,
  type PreparedCourse,
  type ProductsSyncDeps,
} from '../hubspot/products-sync.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { CourseJob } from '../queues/jobs.ts';
import type { CallObserver, RecordCall } from './deps.ts';
import type { CourseRecordOutcome } from '../hubspot/courses-sync.ts';
import { QUEUES } from '../queues/names.ts';

/** What a crm-products job returns: the HubSpot product ids it wrote, or why it wrote nothing. */
export type ProductsJobResult =
  | {
      status: 'written';
      courseId: string;
      updatedAt: string;
      products: { planId: string; productId: string; created: boolean }[];
      archived: { planId: string; productId: string }[];
      option: OptionChange | 'kept';
      /** The course's record in HubSpot's Courses object, when written (HUBSPOT_COURSES_OBJECT). */
      courseRecordId?: string;
    }
  | { status: 'skipped'; skipped: 'stale' | 'duplicate'; courseId: string; updatedAt: string; appliedAt: string };

/** What the crm-products processor is given (all injected, so tests run it against the emulator). */
export interface ProductsJobContext {
  sync: ProductsSyncDeps;
  /** The crm-products queue: rate-limited on a 429, paused on a 401/403. */
  queue: Pick<Queue, 'rateLimit' | 'pause'>;
  metrics: Pick<Metrics, 'jobDuration'>;
  log: Logger;
  /** Keeps the course's product calls in its trace. */
  calls?: CallObserver;
}

/** The course record write of a course event, as its trace shows it (none when the Courses object is not used). */
function courseRecordCalls(courseId: string, r: CourseRecordOutcome | undefined): RecordCall[] {
  if (r?.status !== 'written') return [];
  return [
    {
      api: 'hubspot',
      operation: 'courses.upsert',
      request: { courseId, properties: r.properties },
      response: { courseRecordId: r.recordId, created: r.created },
    },
  ];
}

/** How long a job waits before looking again when another job holds its course. */
const LOCK_RETRY_MS = 250;

/**
 * The processor of `crm-products` jobs: takes the course's lock (or waits for it, without using an
 * attempt), runs the products sync (hubspot/products-sync.ts) under it, and turns what happened
 * into the job's result or failure: rejected records and unmappable courses are dead-lettered at
 * once, incomplete writes retried, a 429 waits for the queue's rate limit and a 401/403 pauses it.
 */
export function productsProcessor(ctx: ProductsJobContext) {
  const { sync, metrics, log, queue } = ctx;

  return async function processProducts(job: Job<CourseJob>, token?: string): Promise<ProductsJobResult> {
    const started = performance.now();
    const observe = (outcome: JobOutcome) =>
      metrics.jobDuration.observe({ queue: QUEUES.products, outcome }, (performance.now() - started) / 1000);
    const course = job.data?.course;
    if (!course?.id || !course.updated_at || !Array.isArray(course.plans))
      throw new UnrecoverableError('Job data has no course id, updated_at or plans');
    const ids = { jobId: job.id, courseId: course.id, correlationId: job.data.correlationId };
    let prepared: PreparedCourse;
    try {
      prepared = prepareCourse(course, sync.mapping);
    } catch (err) {
      // A bad timestamp or amount in job data (e.g. an edited replay) will not get better by retrying.
      if (err instanceof CourseMappingError) throw new UnrecoverableError(err.message);
      throw err;
    }

    const lease = await sync.versions.lock(course.id);
    if (!lease) {
      observe('deferred');
      await job.moveToDelayed(Date.now() + LOCK_RETRY_MS + Math.floor(Math.random() * LOCK_RETRY_MS), token);
      throw new DelayedError();
    }
    const kept = sync.versions.keepAlive(lease);
    const request = {
      plans: prepared.inputs.map((i) => ({
        planId: i.id,
        name: i.properties.name,
        price: i.properties.price,
        currency: i.properties.loopwise_plan_currency,
      })),
    };
    const keep = (response: Record<string, unknown>, more: RecordCall[] = []) =>
      ctx.calls
        ?.recorded([
          {
            queue: QUEUES.products,
            jobId: job.id!,
            attempt: job.attemptsMade + 1,
            calls: [{ api: 'hubspot', operation: 'products.upsert', request, response }, ...more],
          },
        ])
        .catch((err) => log.warn({ err: (err as Error).message }, 'calls not kept in the trace'));
    try {
      const result = await syncCourseProducts(sync, prepared, lease, kept);
      if (result.status !== 'skipped')
        await keep(
          result.status === 'written'
            ? { products: result.products, archived: result.archived }
            : { error: result.message },
          result.status === 'written' ? courseRecordCalls(course.id, result.courseRecord) : [],
        );
      switch (result.status) {
        case 'skipped':
          observe('skipped');
          log.info(
            { ...ids, reason: result.reason, updatedAt: course.updated_at },
            'course event not applied: an equal or newer version is in HubSpot',
          );
          return {
            status: 'skipped',
            skipped: result.reason,
            courseId: course.id,
            updatedAt: course.updated_at,
            appliedAt: new Date(result.appliedAt).toISOString(),
          };
        case 'rejected':
          observe('rejected');
          throw new UnrecoverableError(result.message);
        case 'incomplete':
          observe('partial');
          throw new Error(result.message);
        case 'written':
          observe('completed');
          log.info(
            { ...ids, products: result.products.length, archived: result.archived.length, option: result.option },
            'course products written to HubSpot',
          );
          return {
            status: 'written',
            courseId: course.id,
            updatedAt: course.updated_at,
            products: result.products,
            archived: result.archived,
            option: result.option,
            ...(result.courseRecord?.status === 'written' ? { courseRecordId: result.courseRecord.recordId } : {}),
          };
      }
    } catch (err) {
      if (!(err instanceof HubSpotCallError)) throw err;
      if (err.cause instanceof LeaseLostError) throw err.cause;
      await keep({ status: err.failure.status ?? 'no answer', error: err.message });
      return await handleHubSpotError(err);
    } finally {
      kept.stop();
      await sync.versions.release(lease).catch(() => undefined);
    }

    async function handleHubSpotError(err: HubSpotCallError): Promise<never> {
      const f = err.failure;
      observe(f.kind);
      const wait = accountWait(f);
      if (wait !== undefined) {
        log.warn(
          { ...ids, waitMs: wait, status: f.status, policy: f.kind === 'rate_limited' ? f.policy : undefined },
          'HubSpot asked every request to wait: pausing the crm-products queue',
        );
        await queue.rateLimit(wait);
        throw Worker.RateLimitError();
      }
      if (f.kind === 'auth') {
        log.error(
          { ...ids, status: f.status, reason: f.message },
          'HubSpot refused the access token: crm-products queue PAUSED (jobs keep their attempts). Fix HUBSPOT_ACCESS_TOKEN or its scopes, then resume the queue (dashboard /admin/queues)',
        );
        // Back to the (now paused) queue without using an attempt; it runs again once resumed.
        await queue.pause();
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (f.kind === 'rejected') throw new UnrecoverableError(err.message);
      // Retried with backoff, never sooner than HubSpot's Retry-After (see WORKER_SETTINGS).
      throw Object.assign(new Error(err.message), { retryAfterMs: err.retryAfterMs });
    }
  };
}
