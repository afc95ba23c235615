import type { EnrollmentJob } from '../queues/jobs.ts';
import { QUEUES } from '../queues/names.ts';
import { createSendGridMail, SEND_TIMEOUT_MS, type SendGridMail } from '../sendgrid/client.ts';
import { SuppressionList } from '../privacy/suppression.ts';
import { SentMarkers } from '../sendgrid/sent-markers.ts';
import type { RunningWorker, WorkerDeps } from './deps.ts';
import { notStarted, startQueueWorker } from './start.ts';
import { welcomeEmailProcessor, type WelcomeEmailResult } from './welcome-email-job.ts';

export interface EmailWorkerOptions {
  /** The SendGrid client; default a fresh `@sendgrid/mail` built from `config.sendgrid`. */
  mail?: SendGridMail;
  /** Per-request timeout of the default client. */
  timeoutMs?: number;
}

/** Starts the `email-welcome` worker: one welcome email per enrollment, `config.sendgrid.concurrency` at a time. */
export async function startEmailWorker(deps: WorkerDeps, opts: EmailWorkerOptions = {}): Promise<RunningWorker> {
  const { config, log } = deps;
  const queue = QUEUES.email;
  if (!opts.mail && !config.sendgrid.apiKey) {
    return notStarted(
      deps,
      queue,
      'SENDGRID_API_KEY is not set and no SendGrid emulator was given; welcome emails wait in the queue',
    );
  }
  const timeoutMs = opts.timeoutMs ?? SEND_TIMEOUT_MS;
  const mail =
    opts.mail ?? createSendGridMail({ apiKey: config.sendgrid.apiKey!, baseUrl: config.sendgrid.baseUrl, timeoutMs });
  // A claim must outlive the longest send, so a slow send is never overtaken by a duplicate job.
  // With SendGrid's Event Webhook on, a send whose outcome is unknown waits for its event (see SentMarkers).
  const graceMs = config.sendgrid.events.publicKeys.length ? config.sendgrid.events.graceSeconds * 1000 : 0;
  const markers = new SentMarkers(
    deps.redis,
    config.redis.prefix,
    timeoutMs * 2 + 5_000,
    graceMs,
    config.sendgrid.sentRecordTtlSeconds,
    config.sendgrid.messageIndexTtlSeconds,
  );
  const processor = welcomeEmailProcessor({
    mail,
    markers,
    settings: config.sendgrid,
    queue: deps.queues.work[queue],
    metrics: deps.metrics,
    log,
    calls: deps.calls,
    suppression: new SuppressionList(deps.redis, config.redis.prefix, config.trace.piiHashKey),
    pending: deps.pending,
  });
  return startQueueWorker<EnrollmentJob, WelcomeEmailResult>(deps, {
    queue,
    processor,
    concurrency: config.sendgrid.concurrency,
    details: { template: config.sendgrid.templateId ?? 'built-in', language: config.sendgrid.language },
  });
}
