import { createHash } from 'node:crypto';
import type { Client } from '@hubspot/api-client';
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { instantOf } from '../events/timestamps.ts';
import type { HubSpotCall } from '../hubspot/call.ts';
import { labelCourseOption, type OptionChange } from '../hubspot/course-option-label.ts';
import { CourseVersions, type KeptLease } from '../hubspot/course-versions.ts';
import { HubSpotCallError } from '../hubspot/errors.ts';
import { productInputs, type ProductMappingOptions, type ProductUpsertInput } from '../hubspot/product-mapping.ts';
import { archiveProducts, findProducts, upsertProducts, type ProductRecordError } from '../hubspot/products-api.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { CourseJob } from '../queues/jobs.ts';
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
    }
  | { status: 'skipped'; skipped: 'stale' | 'duplicate'; courseId: string; updatedAt: string; appliedAt: string };

/** What the crm-products processor is given (all injected, so tests run it against the emulator). */
export interface ProductsJobContext {
  client: Client;
  /** Every HubSpot request goes through this (shared request budget, metrics, classification). */
  call: HubSpotCall;
  versions: CourseVersions;
  /** Makes sure the custom product properties exist (once per process). */
  setup: { ensure(): Promise<unknown> };
  mapping: ProductMappingOptions;
  redis: Redis;
  prefix: string;
  /** The crm-products queue: rate-limited on a 429, paused on a 401/403. */
  queue: Pick<Queue, 'rateLimit' | 'pause'>;
  metrics: Pick<Metrics, 'jobDuration'>;
  log: Logger;
}

/** How long a job waits before looking again when another job holds its course. */
const LOCK_RETRY_MS = 250;
/** HubSpot categories that mean the record as sent is invalid: retrying cannot help. */
const INVALID = new Set(['VALIDATION_ERROR', 'INVALID_PROPERTY', 'PROPERTY_DOESNT_EXIST']);

function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

function describe(errors: ProductRecordError[]): string {
  return errors.map((e) => `plan ${e.planIds.join(', ')}: ${e.category}: ${e.message}`).join('; ');
}

/**
 * The processor of `crm-products` jobs: one course event → one HubSpot product per plan. Under a
 * per-course Redis lock it compares the event's `updated_at` instant with the last applied one:
 * older → completes as skipped ('stale'); same instant and same content → skipped ('duplicate');
 * otherwise upserts the products by loopwise_plan_id, archives products of plans that left the
 * course, relabels the course's contact-property option on create/rename, and records the version.
 */
export function productsProcessor(ctx: ProductsJobContext) {
  const { client, versions, metrics, log, queue } = ctx;

  return async function processProducts(job: Job<CourseJob>, token?: string): Promise<ProductsJobResult> {
    const started = performance.now();
    const observe = (outcome: string) => metrics.jobDuration.observe({ queue: QUEUES.products, outcome }, (performance.now() - started) / 1000);
    const course = job.data?.course;
    if (!course?.id || !course.updated_at || !Array.isArray(course.plans)) throw new UnrecoverableError('Job data has no course id, updated_at or plans');
    const ids = { jobId: job.id, courseId: course.id, correlationId: job.data.correlationId };
    let at: number;
    let inputs: ProductUpsertInput[];
    try {
      at = instantOf(course.updated_at);
      inputs = productInputs(course, ctx.mapping);
    } catch (err) {
      // A bad timestamp or amount in job data (e.g. an edited replay) will not get better by retrying.
      throw new UnrecoverableError(`Course ${course.id} cannot be mapped: ${(err as Error).message}`);
    }
    const planIds = inputs.map((i) => i.id);
    const digest = digestOf({ name: course.name, inputs });

    const lease = await versions.lock(course.id);
    if (!lease) {
      observe('deferred');
      await job.moveToDelayed(Date.now() + LOCK_RETRY_MS + Math.floor(Math.random() * LOCK_RETRY_MS), token);
      throw new DelayedError();
    }
    const kept = versions.keepAlive(lease);
    try {
      const decision = await versions.decide(course.id, at, digest, planIds);
      if (decision.action === 'skip') {
        observe(`skipped_${decision.reason}`);
        log.info({ ...ids, reason: decision.reason, updatedAt: course.updated_at }, 'course event not applied: an equal or newer version is in HubSpot');
        return { status: 'skipped', skipped: decision.reason, courseId: course.id, updatedAt: course.updated_at, appliedAt: new Date(decision.previous.at).toISOString() };
      }
      const call = leasedCall(ctx.call, kept);
      await ctx.setup.ensure();
      const option = decision.previous?.name === course.name ? 'kept' : await labelCourseOption({ client, call, redis: ctx.redis, prefix: ctx.prefix }, course);
      const upserted = await upsertProducts(client, call, inputs);
      const archived = await archiveRemoved(client, call, course.id, decision.removedPlanIds);

      const invalid = upserted.errors.filter((e) => INVALID.has(e.category));
      const complete = upserted.errors.length === 0;
      // An incomplete write is recorded without its digest, so a retry or replay applies it again.
      if (!(await versions.commit(lease, { at, digest: complete ? digest : '', planIds, name: course.name }))) {
        throw new Error('lost the course lock before recording the version; retrying');
      }
      if (invalid.length) {
        observe('rejected');
        throw new UnrecoverableError(`HubSpot rejected ${describe(invalid)}`);
      }
      if (!complete) {
        observe('partial');
        throw new Error(`HubSpot could not write ${describe(upserted.errors)}`);
      }
      observe('written');
      log.info({ ...ids, products: upserted.written.length, archived: archived.length, option }, 'course products written to HubSpot');
      return { status: 'written', courseId: course.id, updatedAt: course.updated_at, products: upserted.written, archived, option };
    } catch (err) {
      if (!(err instanceof HubSpotCallError)) throw err;
      if (err.cause instanceof LeaseLostError) throw err.cause;
      return await handleHubSpotError(err);
    } finally {
      kept.stop();
      await versions.release(lease).catch(() => undefined);
    }

    async function handleHubSpotError(err: HubSpotCallError): Promise<never> {
      const f = err.failure;
      if (f.kind === 'rate-limit') {
        observe('rate_limited');
        log.warn({ ...ids, waitMs: f.waitMs, policy: f.policy }, 'HubSpot rate limit: pausing the crm-products queue');
        await queue.rateLimit(f.waitMs);
        throw Worker.RateLimitError();
      }
      if (f.kind === 'auth') {
        observe('auth');
        log.error({ ...ids, status: f.status, reason: f.message }, 'HubSpot refused the access token: crm-products queue PAUSED (jobs keep their attempts). Fix HUBSPOT_ACCESS_TOKEN or its scopes, then resume the queue (dashboard /admin/queues)');
        // Back to the (now paused) queue without using an attempt; it runs again once resumed.
        await queue.pause();
        await job.moveToWait(token);
        throw new WaitingError();
      }
      observe(f.kind);
      if (f.kind === 'rejected') throw new UnrecoverableError(err.message);
      throw new Error(err.message);
    }
  };
}

/** The course lock lapsed before a request: another job may own the course now, so write nothing. */
class LeaseLostError extends Error {
  constructor() {
    super('lost the course lock before a HubSpot request; retrying');
    this.name = 'LeaseLostError';
  }
}

/** A HubSpotCall that refuses to send once the course lock is lost (checked after the budget wait). */
function leasedCall(call: HubSpotCall, kept: KeptLease): HubSpotCall {
  return (operation, request) =>
    call(operation, () => {
      if (kept.lost) throw new LeaseLostError();
      return request();
    });
}

/** Archives the live products of `planIds` that still belong to `courseId`. */
async function archiveRemoved(client: Client, call: HubSpotCall, courseId: string, planIds: string[]): Promise<{ planId: string; productId: string }[]> {
  if (!planIds.length) return [];
  const found = await findProducts(client, call, planIds);
  const gone = [...found].filter(([, p]) => !p.courseId || p.courseId === courseId).map(([planId, p]) => ({ planId, productId: p.productId }));
  if (gone.length) await archiveProducts(client, call, gone.map((g) => g.productId));
  return gone;
}
