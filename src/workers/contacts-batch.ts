import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { JobOutcome } from '../api-failure.ts';
import type { ContactPropertyMapping } from '../hubspot/contact-mapping-apply.ts';
import { mapEnrollment, mergeByEmail, type MappedContact } from '../hubspot/contact-mapping.ts';
import { syncContacts, type ContactOutcome, type ContactSyncDeps } from '../hubspot/contacts-sync.ts';
import type { CourseRecords } from '../hubspot/courses-sync.ts';
import { accountWait, HubSpotCallError } from '../hubspot/errors.ts';
import { maskEmail } from '../privacy/email.ts';
import { maskPersonalData, personalDataRemoved } from '../privacy/mask.ts';
import { SuppressionList } from '../privacy/suppression.ts';
import { maskErrorText, maskText } from '../privacy/text.ts';
import type { EnrollmentJob, EmailStatusJob } from '../queues/jobs.ts';
import { QUEUES } from '../queues/names.ts';
import { linkCourses, type JobLink } from './contacts-courses.ts';
import type { WorkerDeps } from './deps.ts';
import { StatusWriter } from './email-status-writer.ts';
import { logFailure } from './start.ts';

/** What a completed crm-contacts job returns: the HubSpot contact it wrote. */
export type ContactJobResult =
  | { contactId: string; created: boolean }
  /** Not written: the student is suppressed, or the job's personal data was removed (done before, or forgotten). */
  | { skipped: 'suppressed' | 'personal data removed' };

/** What the crm-contacts queue holds: enrollments, and welcome email statuses to write. */
export type ContactsJob = EnrollmentJob | EmailStatusJob;

type ValidContact = { job: Job<EnrollmentJob>; m: Extract<MappedContact, { ok: true }> };

/**
 * Handles one micro-batch of crm-contacts jobs: maps each enrollment (a bad e-mail is dead-lettered
 * at once), writes the batch through `syncContacts`, and settles every job with its own outcome. A
 * failure of the whole call settles the batch together: a 429 gives the jobs back and rate-limits the
 * queue, a 401/403 pauses it, both without using an attempt; other failures count an attempt each.
 */
export class ContactsBatchHandler {
  private readonly queueName = QUEUES.contacts;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly sync: ContactSyncDeps & { mapping: ContactPropertyMapping },
    /** The Courses object: each written student associated with the course record (HUBSPOT_COURSES_OBJECT). */
    private readonly courses: CourseRecords,
    private readonly queue: Queue,
    /** Aborted when the worker stops: jobs in hand go back to the queue. */
    private readonly stopping: AbortSignal,
  ) {
    this.suppression = new SuppressionList(deps.redis, deps.config.redis.prefix, deps.config.trace.piiHashKey);
    this.statuses = new StatusWriter(
      deps,
      sync,
      this.suppression,
      (jobs, err, token, signal) => this.batchFailed(jobs, err, token, signal),
      (job, err, token) => this.fail(job, err, token),
      (jobs) => this.done(jobs),
    );
  }

  private readonly statuses: StatusWriter;
  private readonly suppression: SuppressionList;

  async handle(all: Job<ContactsJob>[], token: string, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const statusJobs = all.filter((j): j is Job<EmailStatusJob> => (j.data as EmailStatusJob).kind === 'email-status');
    const enrollments = all.filter((j): j is Job<EnrollmentJob> => (j.data as EmailStatusJob).kind !== 'email-status');
    await this.deps.pending.resolve(enrollments);
    const jobs = await this.withoutSkipped(enrollments, token);
    const valid: ValidContact[] = [];
    let outcome: JobOutcome = 'completed';
    for (const job of jobs) {
      const m = mapEnrollment(job.data.enrollment, {
        phoneRegion: this.deps.config.hubspot.phoneRegion,
        extraSources: this.sync.mapping.extraSources,
      });
      if (m.ok) valid.push({ job, m });
      else {
        outcome = 'partial';
        await this.fail(
          job,
          new UnrecoverableError(`${m.reason}: "${maskEmail(String(job.data.enrollment?.user?.email ?? ''))}"`),
          token,
        );
      }
    }
    if (valid.length) {
      try {
        const outcomes = await syncContacts(this.sync, mergeByEmail(valid.map((v) => v.m)));
        const linked = await linkCourses(
          this.courses,
          valid.map(({ job, m }) => ({ job, course: job.data.enrollment!.course, outcome: outcomes.get(m.input.id)! })),
        );
        await this.keepCalls(
          valid,
          (m) => {
            const o = outcomes.get(m.input.id)!;
            return o.status === 'written'
              ? { outcome: 'written', contactId: o.contactId, created: o.created }
              : { outcome: o.status, error: maskText(o.message) };
          },
          linked,
        );
        const done: Job<EnrollmentJob>[] = [];
        for (const { job, m } of valid) {
          const o = linked.get(job.id!)?.outcome ?? outcomes.get(m.input.id)!;
          if (o.status !== 'written') outcome = 'partial';
          if (await this.settle(job, o, token)) done.push(job);
        }
        await this.done(done);
      } catch (err) {
        const failure = err instanceof HubSpotCallError ? err.failure : undefined;
        await this.keepCalls(valid, () => ({
          outcome: 'batch failed',
          status: failure?.status,
          error: maskText(err instanceof Error ? err.message : String(err)),
        }));
        outcome = await this.batchFailed(
          valid.map((v) => v.job),
          err,
          token,
          signal,
        );
      }
    }
    if (statusJobs.length) {
      const statuses = await this.statuses.write(statusJobs, token, signal);
      if (statuses !== 'completed') outcome = outcome === 'completed' && !jobs.length ? statuses : 'partial';
    }
    const seconds = (performance.now() - started) / 1000;
    this.deps.metrics.jobDuration.observe({ queue: this.queueName, outcome }, seconds);
    this.deps.log.debug(
      { queue: this.queueName, jobs: all.length, outcome, ms: Math.round(seconds * 1000) },
      'contacts batch done',
    );
  }

  /**
   * Completes, without writing, the jobs of suppressed students and jobs whose personal data was
   * removed (a re-run of a done job, a forgotten student); returns the others.
   */
  private async withoutSkipped(jobs: Job<EnrollmentJob>[], token: string): Promise<Job<EnrollmentJob>[]> {
    const removed = jobs.map((j) => personalDataRemoved(j.data));
    const suppressed = await this.suppression.has(
      jobs.map((j, i) => (removed[i] ? '' : String(j.data.enrollment?.user?.email ?? ''))),
    );
    const rest: Job<EnrollmentJob>[] = [];
    const done: Job<EnrollmentJob>[] = [];
    for (const [i, job] of jobs.entries()) {
      const skipped = removed[i] ? 'personal data removed' : suppressed[i] ? 'suppressed' : undefined;
      if (!skipped) {
        rest.push(job);
        continue;
      }
      if (skipped === 'suppressed') this.deps.metrics.suppressed.inc({ queue: this.queueName });
      const result: ContactJobResult = { skipped };
      await job.moveToCompleted(result, token, false);
      done.push(job);
    }
    await this.done(done);
    return rest;
  }

  /**
   * Keeps, in each job's trace, its own part of the batch upsert: the properties asked for (as the
   * contact mapping sends them, masked) and its own result; then its course record and association calls.
   */
  private async keepCalls(
    valid: ValidContact[],
    response: (m: ValidContact['m']) => Record<string, unknown>,
    linked?: Map<string, JobLink>,
  ): Promise<void> {
    const entries = valid.map(({ job, m }) => ({
      queue: this.queueName,
      jobId: job.id!,
      attempt: job.attemptsMade + 1,
      calls: [
        {
          api: 'hubspot' as const,
          operation: 'contacts.upsert',
          request: maskPersonalData(this.sync.mapping.toHubSpot(m.input.properties)) as Record<string, unknown>,
          response: response(m),
        },
        ...(linked?.get(job.id!)?.calls ?? []),
      ],
    }));
    await this.deps.calls
      ?.recorded(entries)
      .catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'calls not kept in the trace'));
  }

  /**
   * Fails one job (every failure of this queue comes through here). HubSpot's message can quote the
   * address or phone: masked before BullMQ stores it as the job's failedReason and stack.
   */
  private async fail(job: Job<ContactsJob>, err: Error, token: string): Promise<void> {
    maskErrorText(err);
    await job.moveToFailed(err, token, false);
    logFailure(
      this.deps,
      this.queueName,
      job,
      err,
      await this.deps.deadLetters.recordFailure(this.queueName, job, err),
    );
  }

  /** Completes or fails one job with its outcome; true when it completed (see `done`). */
  private async settle(job: Job<EnrollmentJob>, outcome: ContactOutcome, token: string): Promise<boolean> {
    if (outcome.status === 'written') {
      const result: ContactJobResult = { contactId: outcome.contactId, created: outcome.created };
      await job.moveToCompleted(result, token, false);
      return true;
    }
    await this.fail(
      job,
      outcome.status === 'rejected' ? new UnrecoverableError(outcome.message) : new Error(outcome.message),
      token,
    );
    return false;
  }

  /**
   * Completed jobs let go of their enrollment's data (see PendingEvents.done), all at once; should
   * Redis fail it here, the data goes at the end of its record's lifetime.
   */
  private async done(jobs: Job[]): Promise<void> {
    const failed = (await Promise.allSettled(jobs.map((job) => this.deps.pending.done(this.queueName, job)))).filter(
      (r) => r.status === 'rejected',
    );
    if (failed.length)
      this.deps.log.warn(
        { queue: this.queueName, jobs: failed.length, err: String((failed[0] as PromiseRejectedResult).reason) },
        'completed jobs did not let go of their data; it expires with its record',
      );
  }

  /** Settles a batch whose HubSpot call failed as a whole; returns how it ended. */
  private async batchFailed(
    jobs: Job<ContactsJob>[],
    err: unknown,
    token: string,
    signal: AbortSignal,
  ): Promise<JobOutcome> {
    const { log } = this.deps;
    const failure = err instanceof HubSpotCallError ? err.failure : undefined;
    if (signal.aborted || this.stopping.aborted) {
      await Promise.all(jobs.map((j) => j.moveToWait(token)));
      return 'deferred';
    }
    const wait = accountWait(failure);
    if (wait !== undefined) {
      await this.queue.rateLimit(wait);
      await Promise.all(jobs.map((j) => j.moveToWait(token)));
      const why =
        failure?.kind === 'rate_limited'
          ? 'HubSpot rate limit (429)'
          : `HubSpot account unavailable (${failure?.status})`;
      log.warn(
        {
          queue: this.queueName,
          waitMs: wait,
          status: failure?.status,
          policy: failure?.kind === 'rate_limited' ? failure.policy : undefined,
          jobs: jobs.length,
        },
        `${why}: queue paused for the time HubSpot asked; jobs keep their attempts`,
      );
      return failure?.kind === 'rate_limited' ? 'rate_limited' : 'transient';
    }
    if (failure?.kind === 'auth') {
      await this.queue.pause();
      await Promise.all(jobs.map((j) => j.moveToWait(token)));
      log.error(
        { queue: this.queueName, status: failure.status, reason: failure.message },
        'HubSpot refused the access token: crm-contacts queue PAUSED (jobs keep their attempts). Fix HUBSPOT_ACCESS_TOKEN or its scopes, then resume the queue (dashboard /admin/queues)',
      );
      return 'auth';
    }
    const reason = err instanceof Error ? err : new Error(String(err));
    for (const job of jobs) await this.fail(job, reason, token);
    return failure?.kind ?? 'transient';
  }
}
