import type { Client } from '@hubspot/api-client';
import { UnrecoverableError, type Job } from 'bullmq';
import { maskEmail } from '../log.ts';
import { createHubSpotCall } from '../hubspot/call.ts';
import { createHubSpotClient } from '../hubspot/client.ts';
import { ContactCourses } from '../hubspot/contact-courses.ts';
import { mapEnrollment, mergeByEmail, type MappedContact } from '../hubspot/contact-mapping.ts';
import { syncContacts, type ContactOutcome, type ContactSyncDeps } from '../hubspot/contacts-sync.ts';
import { CourseOptions } from '../hubspot/course-options.ts';
import { HubSpotCallError } from '../hubspot/errors.ts';
import { RequestBudget } from '../hubspot/request-budget.ts';
import { setupOnce } from '../hubspot/setup.ts';
import type { EnrollmentJob } from '../queues/jobs.ts';
import { QUEUES } from '../queues/names.ts';
import type { RunningWorker, WorkerDeps } from './deps.ts';
import { MicroBatchWorker } from './micro-batch.ts';

/** What a completed crm-contacts job returns: the HubSpot contact it wrote. */
export interface ContactJobResult {
  contactId: string;
  created: boolean;
}

export interface ContactsWorkerOptions {
  /** The HubSpot client; default one built from `config.hubspot`. */
  client?: Client;
  /** Batches in hand at once in this process (default 8: enough to keep a 190/10 s budget busy). */
  concurrency?: number;
}

type BatchOutcome = 'completed' | 'partial' | 'failed' | 'rate_limited' | 'paused' | 'returned';

/** Starts the `crm-contacts` worker: micro-batched upserts of enrolled students into HubSpot contacts. */
export async function startContactsWorker(deps: WorkerDeps, opts: ContactsWorkerOptions = {}): Promise<RunningWorker> {
  const { config, log, metrics } = deps;
  const name = QUEUES.contacts;
  if (!opts.client && !config.hubspot.accessToken) {
    log.error({ queue: name }, 'crm-contacts worker NOT started: HUBSPOT_ACCESS_TOKEN is not set and no HubSpot emulator was given; enrollments wait in the queue');
    return { name: `${name} (not started)`, close: async () => undefined };
  }
  const queue = deps.queues.work[name];
  const client = opts.client ?? createHubSpotClient(config.hubspot);
  const budget = new RequestBudget(deps.redis, config.redis.prefix, { max: config.hubspot.requestsPer10s });
  const abort = new AbortController();
  const call = createHubSpotCall({ budget, metrics, signal: abort.signal });
  const setup = setupOnce(client, call, ['contacts']);
  const sync: ContactSyncDeps = {
    client,
    call,
    setup,
    courses: new ContactCourses(deps.redis, config.redis.prefix),
    options: new CourseOptions(client, call, deps.redis, config.redis.prefix),
  };

  async function fail(job: Job<EnrollmentJob>, err: Error, token: string): Promise<void> {
    await job.moveToFailed(err, token, false);
    const dead = await deps.deadLetters.recordFailure(name, job, err);
    // HubSpot's messages can quote the address, also ones the logger's e-mail pattern would miss.
    const reason = err.message.replace(/[^\s"'[\],:]+@[^\s"'[\],:]+/g, (m) => maskEmail(m));
    const fields = { queue: name, jobId: job.id, attemptsMade: job.attemptsMade, reason, correlationId: job.data.correlationId };
    if (dead) log.warn(fields, 'job moved to the dead-letter queue');
    else log.info(fields, 'job attempt failed; will retry');
  }

  async function settle(job: Job<EnrollmentJob>, outcome: ContactOutcome, token: string): Promise<void> {
    if (outcome.status === 'written') {
      const result: ContactJobResult = { contactId: outcome.contactId, created: outcome.created };
      await job.moveToCompleted(result, token, false);
    } else if (outcome.status === 'rejected') await fail(job, new UnrecoverableError(outcome.message), token);
    else await fail(job, new Error(outcome.message), token);
  }

  /** Handles a whole-batch failure; returns how the batch ended. */
  async function batchFailed(jobs: Job<EnrollmentJob>[], err: unknown, token: string, signal: AbortSignal): Promise<BatchOutcome> {
    const failure = err instanceof HubSpotCallError ? err.failure : undefined;
    if (signal.aborted || abort.signal.aborted) {
      await Promise.all(jobs.map((j) => j.moveToWait(token)));
      return 'returned';
    }
    if (failure?.kind === 'rate-limit') {
      await queue.rateLimit(failure.waitMs);
      await Promise.all(jobs.map((j) => j.moveToWait(token)));
      log.warn({ queue: name, waitMs: failure.waitMs, policy: failure.policy, jobs: jobs.length }, 'HubSpot rate limit (429): queue paused for the time HubSpot asked; jobs keep their attempts');
      return 'rate_limited';
    }
    if (failure?.kind === 'auth') {
      await queue.pause();
      await Promise.all(jobs.map((j) => j.moveToWait(token)));
      log.error({ queue: name, status: failure.status, reason: failure.message }, 'HubSpot refused the access token: crm-contacts queue PAUSED (jobs keep their attempts). Fix HUBSPOT_ACCESS_TOKEN or its scopes, then resume the queue (dashboard /admin/queues)');
      return 'paused';
    }
    const reason = err instanceof Error ? err : new Error(String(err));
    for (const job of jobs) await fail(job, reason, token);
    return 'failed';
  }

  async function handle(jobs: Job<EnrollmentJob>[], token: string, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const mapped = jobs.map((job) => ({ job, m: mapEnrollment(job.data.enrollment, { phoneRegion: config.hubspot.phoneRegion }) }));
    const valid: { job: Job<EnrollmentJob>; m: Extract<MappedContact, { ok: true }> }[] = [];
    let rejected = 0;
    for (const { job, m } of mapped) {
      if (m.ok) valid.push({ job, m });
      else {
        rejected++;
        await fail(job, new UnrecoverableError(`${m.reason}: "${maskEmail(String(job.data.enrollment?.user?.email ?? ''))}"`), token);
      }
    }
    let outcome: BatchOutcome = rejected ? 'partial' : 'completed';
    if (valid.length) {
      const drafts = mergeByEmail(valid.map((v) => v.m));
      try {
        const outcomes = await syncContacts(sync, drafts);
        for (const { job, m } of valid) {
          const o = outcomes.get(m.input.id)!;
          if (o.status !== 'written') outcome = 'partial';
          await settle(job, o, token);
        }
      } catch (err) {
        outcome = await batchFailed(valid.map((v) => v.job), err, token, signal);
      }
    }
    metrics.jobDuration.observe({ queue: name, outcome }, (performance.now() - started) / 1000);
    log.debug({ queue: name, jobs: jobs.length, outcome, ms: Math.round(performance.now() - started) }, 'contacts batch done');
  }

  const batches = new MicroBatchWorker<EnrollmentJob>({
    queue,
    connection: deps.connect(),
    prefix: config.redis.prefix,
    batchSize: config.hubspot.batchSize,
    waitMs: config.hubspot.batchWaitMs,
    concurrency: opts.concurrency ?? 8,
    handle,
    onError: (err) => log.error({ queue: name, err: err.message }, 'crm-contacts worker error'),
  });
  // Create the group and properties now, so a new portal needs no manual step; a failure here is
  // retried before the first batch.
  void setup.ensure().then(
    (report) => report.created.length && log.info({ created: report.created }, 'HubSpot properties created'),
    (err) => log.warn({ err: (err as Error).message }, 'HubSpot property set-up failed; will retry before the first batch'),
  );
  await batches.start();
  log.info({ queue: name, batchSize: config.hubspot.batchSize, batchWaitMs: config.hubspot.batchWaitMs, requestsPer10s: config.hubspot.requestsPer10s }, 'crm-contacts worker started');
  return {
    name,
    close: async () => {
      abort.abort();
      await batches.close();
    },
  };
}
