import { DelayedError, UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { JobOutcome } from '../api-failure.ts';
import type { MailDataRequired } from '@sendgrid/mail';
import type { Logger } from '../log.ts';
import { maskEmail } from '../privacy/email.ts';
import { personalDataRemoved } from '../privacy/mask.ts';
import type { SuppressionList } from '../privacy/suppression.ts';
import type { CallObserver } from './deps.ts';
import type { Metrics } from '../metrics.ts';
import type { EnrollmentJob } from '../queues/jobs.ts';
import type { PendingEvents } from '../queues/pending-events.ts';
import { QUEUES } from '../queues/names.ts';
import type { SendGridMail } from '../sendgrid/client.ts';
import { classifySendError } from '../sendgrid/send-errors.ts';
import type { SentMarkers } from '../sendgrid/sent-markers.ts';
import { welcomeMail, type WelcomeSettings } from '../sendgrid/welcome-mapping.ts';

/** What a welcome-email job returns: sent now, skipped because it was sent before, or not sent at all (suppressed student, personal data removed). */
export interface WelcomeEmailResult {
  status: 'sent' | 'skipped' | 'suppressed' | 'personal data removed';
  enrollmentId: string;
  messageId: string;
  sentAt: string;
  /** The job that sent it (differs from this job when skipped as a duplicate). */
  jobId: string;
}

export interface WelcomeEmailContext {
  mail: SendGridMail;
  markers: SentMarkers;
  settings: WelcomeSettings;
  /** The email-welcome queue, rate-limited as a whole on a 429. */
  queue: Pick<Queue, 'rateLimit'>;
  metrics: Metrics;
  log: Logger;
  /** Keeps each send, as far as this enrollment is concerned, in its trace. */
  calls?: CallObserver;
  /** Students who asked not to be e-mailed any more. */
  suppression?: Pick<SuppressionList, 'has'>;
  /** Where the enrollment of a job that holds only a reference is read from. */
  pending: Pick<PendingEvents, 'resolve'>;
}

/** The enrollment's part of a Mail Send request, for its trace: recipient (masked), template or subject, custom args. */
function callRequest(mail: MailDataRequired): Record<string, unknown> {
  const p = mail.personalizations?.[0];
  const to = [p?.to].flat().map((a) => maskEmail(typeof a === 'string' ? a : (a?.email ?? '')));
  return {
    to,
    ...(mail.templateId ? { templateId: mail.templateId } : { subject: mail.subject }),
    customArgs: p?.customArgs,
  };
}

function header(value: unknown): string {
  return Array.isArray(value) ? String(value[0] ?? '') : value === undefined || value === null ? '' : String(value);
}

/**
 * The processor of `email-welcome` jobs. Exactly once per enrollment id: the sent marker is
 * checked (and the enrollment claimed) before sending and written right after SendGrid's 2xx, so
 * redeliveries, duplicate jobs and replays complete as `skipped`. The only duplicate windows are a
 * crash between the 2xx and the marker write, and a timeout after SendGrid accepted the request
 * (SendGrid has no idempotency key). 429 → the queue waits until X-RateLimit-Reset (no attempt
 * used); other 4xx → UnrecoverableError (dead letter); 5xx/timeouts → retried with backoff.
 */
export function welcomeEmailProcessor(ctx: WelcomeEmailContext) {
  const { mail, markers, settings, queue, metrics, log } = ctx;
  const api = { api: 'sendgrid', operation: 'mail.send' } as const;

  return async function processWelcomeEmail(job: Job<EnrollmentJob>, token?: string): Promise<WelcomeEmailResult> {
    const started = performance.now();
    const observe = (outcome: JobOutcome) =>
      metrics.jobDuration.observe({ queue: QUEUES.email, outcome }, (performance.now() - started) / 1000);
    await ctx.pending.resolve([job]);
    const enrollment = job.data?.enrollment;
    const enrollmentId = enrollment?.id;
    const nothing = (status: 'suppressed' | 'personal data removed'): WelcomeEmailResult => ({
      status,
      enrollmentId: enrollmentId ?? '',
      messageId: '',
      sentAt: '',
      jobId: job.id!,
    });
    if (personalDataRemoved(job.data)) {
      // A re-run of a done job (or a forgotten student's): never sent to a masked address.
      observe('skipped');
      const marker = enrollmentId ? await markers.get(enrollmentId) : undefined;
      return marker ? { status: 'skipped', enrollmentId: enrollmentId!, ...marker } : nothing('personal data removed');
    }
    if (!enrollment || !enrollmentId || !enrollment.user?.email)
      throw new UnrecoverableError('Job data has no enrollment id or student e-mail');
    const ids = { jobId: job.id, enrollmentId, correlationId: job.data.correlationId };
    if ((await ctx.suppression?.has([enrollment.user.email]))?.[0]) {
      observe('skipped');
      metrics.suppressed.inc({ queue: QUEUES.email });
      return nothing('suppressed');
    }

    const claim = await markers.claim(enrollmentId, job.id!);
    if (claim.state === 'sent') {
      observe('skipped');
      log.info(
        { ...ids, messageId: claim.marker.messageId, sentBy: claim.marker.jobId },
        'welcome email already sent; skipped',
      );
      return { status: 'skipped', enrollmentId, ...claim.marker };
    }
    if (claim.state === 'busy' || claim.state === 'unsure') {
      // Another job is sending this enrollment's email, or an earlier attempt may have sent it (SendGrid's
      // event will say): look again shortly, without using an attempt.
      observe('deferred');
      if (claim.state === 'unsure')
        log.info(
          { ...ids },
          "an earlier attempt may have sent this welcome email: waiting for SendGrid's event before sending again",
        );
      await job.moveToDelayed(Date.now() + claim.retryInMs, token);
      throw new DelayedError();
    }

    const request = welcomeMail({ enrollment }, settings);
    const keep = (response: Record<string, unknown>) =>
      ctx.calls
        ?.recorded([
          {
            queue: QUEUES.email,
            jobId: job.id!,
            attempt: job.attemptsMade + 1,
            calls: [{ ...api, request: callRequest(request), response }],
          },
        ])
        .catch((err) => log.warn({ err: (err as Error).message }, 'calls not kept in the trace'));
    let response;
    try {
      [response] = await mail.send(request);
    } catch (err) {
      const failure = classifySendError(err);
      await keep({ status: failure.status ?? 'no answer', error: failure.message });
      metrics.apiCalls.inc({ ...api, status: failure.status ? String(failure.status) : 'error' });
      await markers.release(enrollmentId, job.id!);
      if (failure.kind === 'rate_limited') {
        observe('rate_limited');
        log.warn({ ...ids, waitMs: failure.waitMs }, 'SendGrid rate limit: pausing the email-welcome queue');
        await queue.rateLimit(failure.waitMs);
        throw Worker.RateLimitError();
      }
      observe(failure.kind);
      if (failure.kind === 'rejected') throw new UnrecoverableError(failure.message);
      throw new Error(failure.message, { cause: err });
    }

    metrics.apiCalls.inc({ ...api, status: String(response.statusCode) });
    const marker = {
      messageId: header(response.headers?.['x-message-id']),
      sentAt: new Date().toISOString(),
      jobId: job.id!,
    };
    await markers.record(enrollmentId, marker);
    await keep({ status: response.statusCode, messageId: marker.messageId });
    observe('completed');
    log.debug({ ...ids, messageId: marker.messageId }, 'welcome email sent');
    return { status: 'sent', enrollmentId, ...marker };
  };
}
