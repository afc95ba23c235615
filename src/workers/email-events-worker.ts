import type { Job } from 'bullmq';
import type { JobOutcome } from '../api-failure.ts';
import { maskEmail, maskEmails, normalizeEmail } from '../privacy/email.ts';
import type { EmailEventsJob, EmailStatusJob } from '../queues/jobs.ts';
import { QUEUES } from '../queues/names.ts';
import { EmailEventLog } from '../sendgrid/email-status.ts';
import { eventReason, type EmailEvent } from '../sendgrid/events.ts';
import type { RunningWorker, WorkerDeps } from './deps.ts';
import { startQueueWorker } from './start.ts';

/**
 * What an email-events job returns: how many of its events were taken in (of them, matched by
 * address), duplicates, not ours, without message id and matched to nothing, and status changes.
 */
export interface EmailEventsResult {
  applied: number;
  byAddress: number;
  duplicates: number;
  notOurs: number;
  unmatched: number;
  statusChanges: number;
}

/** The trace step's reason: the event's own (addresses masked), saying when it was matched by address. */
function stepReason(e: EmailEvent, byAddress: boolean): string | undefined {
  const reason = eventReason(e);
  const masked = reason === undefined ? undefined : maskEmails(reason);
  return byAddress ? `${masked ? `${masked} ` : ''}(no message id: matched by address)` : masked;
}

/** The crm-contacts job that writes an enrollment's welcome email status to HubSpot (one pending per enrollment at a time). */
export function emailStatusJob(enrollmentId: string, email: string) {
  const data: EmailStatusJob = { kind: 'email-status', enrollmentId, email: normalizeEmail(email) };
  return { name: 'email-status', data, opts: { deduplication: { id: `email-status-${enrollmentId}` } } };
}

/**
 * Starts the `email-events` worker: each job is a batch SendGrid posted. Its events are deduplicated,
 * matched to their enrollments and applied to the welcome email statuses (EmailEventLog); status
 * changes are queued for HubSpot on crm-contacts — one pending write per enrollment, which writes the
 * latest status when it runs, so many events cost one batched contact write — and shown in the
 * traces and the overview.
 */
export async function startEmailEventsWorker(deps: WorkerDeps): Promise<RunningWorker> {
  const { config, metrics, log } = deps;
  const events = new EmailEventLog(
    deps.redis,
    config.redis.prefix,
    config.sendgrid.events.dedupeTtlSeconds,
    config.sendgrid.sentRecordTtlSeconds,
    {
      sends: deps.sendsByAddress,
      windowSeconds: config.sendgrid.messageIndexTtlSeconds,
    },
  );
  const contacts = deps.queues.work[QUEUES.contacts];

  async function process(job: Job<EmailEventsJob>): Promise<EmailEventsResult> {
    const started = performance.now();
    const applied = await events.apply(job.data.events ?? []);
    const result: EmailEventsResult = {
      applied: 0,
      byAddress: 0,
      duplicates: 0,
      notOurs: 0,
      unmatched: 0,
      statusChanges: 0,
    };
    const changed = new Map<string, string>();
    const lost: EmailEvent[] = [];
    for (const a of applied) {
      if (a.outcome === 'duplicate') {
        result.duplicates++;
        metrics.emailEventsIgnored.inc({ reason: 'duplicate' });
        continue;
      }
      metrics.emailEvents.inc({ event: a.event.event });
      if (a.outcome === 'unmatched') {
        if (a.reason === 'not_ours') result.notOurs++;
        else lost.push(a.event);
        metrics.emailEventsIgnored.inc({ reason: a.reason });
        continue;
      }
      result.applied++;
      if (a.by === 'address') result.byAddress++;
      if (a.status) changed.set(a.enrollmentId, a.event.email);
    }
    result.unmatched = lost.length;
    if (lost.length) {
      // Possibly a welcome email's late bounce whose send is no longer known by address (a trace past
      // TRACE_RETENTION_DAYS, a forgotten student), possibly another app's: kept in EmailEventLog's stream.
      log.warn(
        {
          jobId: job.id,
          count: lost.length,
          kept: events.unmatchedKey,
          sample: lost.slice(0, 5).map((e) => ({ event: e.event, to: maskEmail(e.email), sgEventId: e.sgEventId })),
        },
        'SendGrid events without sg_message_id or custom_args matched no welcome email by address: counted and kept',
      );
    }
    result.statusChanges = changed.size;
    if (changed.size) await contacts.addBulk([...changed].map(([id, email]) => emailStatusJob(id, email)));
    const observed = applied.flatMap((a) =>
      a.outcome === 'applied'
        ? [
            {
              id: a.event.sgEventId,
              enrollmentId: a.enrollmentId,
              event: a.event.event,
              at: a.event.timestamp * 1000,
              status: a.status,
              reason: stepReason(a.event, a.by === 'address'),
            },
          ]
        : [],
    );
    await deps.emailEvents
      ?.observed(observed)
      .catch((err) => log.warn({ err: (err as Error).message }, 'SendGrid events not shown in the traces'));
    const outcome: JobOutcome = 'completed';
    metrics.jobDuration.observe({ queue: QUEUES.emailEvents, outcome }, (performance.now() - started) / 1000);
    return result;
  }

  return startQueueWorker<EmailEventsJob, EmailEventsResult>(deps, {
    queue: QUEUES.emailEvents,
    processor: process,
    concurrency: 4,
  });
}
