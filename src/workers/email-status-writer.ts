import { UnrecoverableError, type Job } from 'bullmq';
import type { JobOutcome } from '../api-failure.ts';
import { enrollmentKey } from '../events/idempotency-key.ts';
import type { ContactSyncDeps } from '../hubspot/contacts-sync.ts';
import { writeEmailStatuses } from '../hubspot/email-status-write.ts';
import { maskEmail } from '../privacy/email.ts';
import type { EmailStatusJob } from '../queues/jobs.ts';
import { QUEUES } from '../queues/names.ts';
import { EmailEventLog } from '../sendgrid/email-status.ts';
import type { WorkerDeps } from './deps.ts';
import { emailStatusJob } from './email-events-worker.ts';
import type { SuppressionList } from '../privacy/suppression.ts';

/** The label of a welcome email status write among an enrollment's call details. */
export const EMAIL_STATUS_CALLS = 'email-status';

type Settle<J> = (jobs: Job<J>[], err: unknown, token: string, signal: AbortSignal) => Promise<JobOutcome>;
type Fail<J> = (job: Job<J>, err: Error, token: string) => Promise<void>;
/** Lets completed jobs go of their data (never throws: see ContactsBatchHandler). */
type Done = (jobs: Job[]) => Promise<void>;

/**
 * The crm-contacts batches' part for welcome email statuses: reads each enrollment's status as it is
 * now (so a write never moves HubSpot's value back, whatever order the jobs ran in), writes them in
 * batch upserts, settles each job with its own result, and queues again an enrollment whose status
 * moved while it was being written (its job was deduplicated meanwhile).
 */
export class StatusWriter {
  private readonly events: EmailEventLog;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly sync: ContactSyncDeps,
    private readonly suppression: SuppressionList,
    private readonly batchFailed: Settle<EmailStatusJob>,
    private readonly fail: Fail<EmailStatusJob>,
    private readonly done: Done,
  ) {
    this.events = new EmailEventLog(
      deps.redis,
      deps.config.redis.prefix,
      deps.config.sendgrid.events.dedupeTtlSeconds,
      deps.config.sendgrid.sentRecordTtlSeconds,
    );
  }

  async write(jobs: Job<EmailStatusJob>[], token: string, signal: AbortSignal): Promise<JobOutcome> {
    const ids = jobs.map((j) => j.data.enrollmentId);
    const [before, suppressed] = await Promise.all([
      this.events.read(ids),
      this.suppression.has(jobs.map((j) => j.data.email)),
    ]);
    // A suppressed student's status is not written either (the job completes with status "none").
    const writes = jobs.map((j, i) => ({
      job: j,
      email: j.data.email,
      status: suppressed[i] ? undefined : before[i]!.status,
    }));
    let results;
    try {
      results = await writeEmailStatuses(
        this.sync,
        writes.filter((w) => w.status).map((w) => ({ email: w.email, status: w.status! })),
      );
    } catch (err) {
      return this.batchFailed(jobs, err, token, signal);
    }
    await this.deps.calls
      // A field of its own ("email-status"), not the enrollment's crm-contacts attempt, whose contact write it would replace.
      ?.recorded(
        writes.map((w) => ({
          queue: EMAIL_STATUS_CALLS,
          late: true,
          jobId: enrollmentKey(w.job.data.enrollmentId),
          attempt: w.job.attemptsMade + 1,
          calls: [
            {
              api: 'hubspot',
              operation: 'contacts.upsert (welcome email status)',
              request: { email: maskEmail(w.email), status: w.status },
              response: { ...results.get(w.email) },
            },
          ],
        })),
      )
      .catch(() => undefined);
    let outcome: JobOutcome = 'completed';
    const completed: Job[] = [];
    for (const w of writes) {
      const r = w.status ? results.get(w.email) : undefined;
      if (!w.status || (r && 'id' in r)) {
        await w.job.moveToCompleted(
          { status: w.status ?? 'none', contactId: r && 'id' in r ? r.id : undefined },
          token,
          false,
        );
        completed.push(w.job);
      } else {
        outcome = 'partial';
        const message =
          r && 'rejected' in r
            ? r.rejected
            : r && 'retry' in r
              ? r.retry
              : `HubSpot says contact ${r && 'conflict' in r ? r.conflict : '?'} holds this address`;
        // `fail` masks HubSpot's message before BullMQ stores it.
        await this.fail(w.job, r && 'rejected' in r ? new UnrecoverableError(message) : new Error(message), token);
      }
    }
    await this.done(completed);
    const after = await this.events.read(ids);
    const moved = writes.filter((w, i) => after[i]!.status !== w.status);
    if (moved.length)
      await this.deps.queues.work[QUEUES.contacts].addBulk(
        moved.map((w) => emailStatusJob(w.job.data.enrollmentId, w.email)),
      );
    return outcome;
  }
}
