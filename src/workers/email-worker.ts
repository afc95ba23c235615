import { Worker } from 'bullmq';
import type { EnrollmentJob } from '../queues/jobs.ts';
import { QUEUES } from '../queues/names.ts';
import { createSendGridMail, SEND_TIMEOUT_MS, type SendGridMail } from '../sendgrid/client.ts';
import { SentMarkers } from '../sendgrid/sent-markers.ts';
import { attachDeadLetters } from './dead-letter-hook.ts';
import type { RunningWorker, WorkerDeps } from './deps.ts';
import { welcomeEmailProcessor, type WelcomeEmailResult } from './welcome-email-job.ts';

export interface EmailWorkerOptions {
  /** The SendGrid client; default a fresh `@sendgrid/mail` built from `config.sendgrid`. */
  mail?: SendGridMail;
  /** Per-request timeout of the default client. */
  timeoutMs?: number;
}

/**
 * A ceiling far above any real send rate. It must exist: BullMQ only honours `queue.rateLimit()`
 * (used on a SendGrid 429) when the worker has a limiter.
 */
const LIMITER = { max: 10_000, duration: 1000 };

/** Starts the `email-welcome` worker: one welcome email per enrollment, `config.sendgrid.concurrency` at a time. */
export async function startEmailWorker(deps: WorkerDeps, opts: EmailWorkerOptions = {}): Promise<RunningWorker> {
  const { config, log } = deps;
  const name = QUEUES.email;
  if (!opts.mail && !config.sendgrid.apiKey) {
    log.error({ queue: name }, 'email-welcome worker NOT started: SENDGRID_API_KEY is not set and no SendGrid emulator was given; welcome emails wait in the queue');
    return { name: `${name} (not started)`, close: async () => undefined };
  }
  const timeoutMs = opts.timeoutMs ?? SEND_TIMEOUT_MS;
  const mail = opts.mail ?? createSendGridMail({ apiKey: config.sendgrid.apiKey!, baseUrl: config.sendgrid.baseUrl, timeoutMs });
  // A claim must outlive the longest send, so a slow send is never overtaken by a duplicate job.
  const markers = new SentMarkers(deps.redis, config.redis.prefix, timeoutMs * 2 + 5_000);

  const processor = welcomeEmailProcessor({
    mail,
    markers,
    settings: config.sendgrid,
    queue: deps.queues.work[name],
    metrics: deps.metrics,
    log,
  });
  const worker = new Worker<EnrollmentJob, WelcomeEmailResult>(name, processor, {
    connection: deps.connect(),
    prefix: config.redis.prefix,
    concurrency: config.sendgrid.concurrency,
    limiter: LIMITER,
  });
  const deadLetters = attachDeadLetters(worker, name, deps);
  await worker.waitUntilReady();
  log.info({ queue: name, concurrency: config.sendgrid.concurrency, template: config.sendgrid.templateId ?? 'built-in', language: config.sendgrid.language }, 'email-welcome worker started');

  return {
    name,
    close: async () => {
      await worker.close();
      await deadLetters.settled();
    },
  };
}
