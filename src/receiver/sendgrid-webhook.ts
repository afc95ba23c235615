import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import type { Config } from '../config.ts';
import { bodyHashKey } from '../events/idempotency-key.ts';
import { HttpError } from '../http-error.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { EmailEventsJob } from '../queues/jobs.ts';
import { QUEUES } from '../queues/names.ts';
import type { QueueSet } from '../queues/registry.ts';
import { EventBatchError, parseEventBatch } from '../sendgrid/events.ts';
import type { Quarantine } from '../quarantine/store.ts';
import { readWebhookBody } from '../raw-body.ts';
import { EventSignatureError, EventWebhookSignature } from '../sendgrid-signature.ts';

export interface SendGridWebhookDeps {
  config: Config;
  queues: QueueSet;
  quarantine: Quarantine;
  log: Logger;
  metrics?: Metrics;
}

/** SendGrid batches are up to about 768 KB; leave room. */
const MIN_BODY_LIMIT = 2 * 1024 * 1024;
const TYPE = 'sendgrid-events';

/**
 * `POST /webhooks/sendgrid`, SendGrid's Event Webhook, taken in as carefully as Loopwise's: content
 * type (415) → size (413) → ECDSA signature and age (401) → a JSON array (400) → the batch stored
 * as one `email-events` job (200 only once Redis has it; 503 otherwise, and SendGrid retries for 24 h).
 * Every refusal, and every event of a batch that is not an event, is kept in quarantine. In
 * production without SENDGRID_WEBHOOK_PUBLIC_KEY the endpoint does not exist (404).
 */
export function sendgridWebhookHandler({ config, queues, quarantine, log, metrics }: SendGridWebhookDeps) {
  const { publicKeys, maxAgeSeconds } = config.sendgrid.events;
  const signature = publicKeys.length ? new EventWebhookSignature(publicKeys, maxAgeSeconds) : undefined;
  const off = !signature && config.env === 'production';
  const limit = Math.max(config.webhook.maxBodyBytes, MIN_BODY_LIMIT);
  const queue = queues.work[QUEUES.emailEvents];
  const count = (outcome: string) => metrics?.webhookRequests.inc({ type: TYPE, outcome });

  async function keep(status: number, reason: string, body: Buffer, source: string): Promise<void> {
    await quarantine
      .add({ status, reason, eventType: TYPE, body, replayable: false, source })
      .catch((err) =>
        log.error({ err: (err as Error).message }, 'could not keep the refused SendGrid batch in quarantine'),
      );
  }

  return async function handleSendGridEvents(ctx: Context): Promise<void> {
    if (off) {
      ctx.status = 404;
      ctx.body = { error: 'Not found' };
      return;
    }
    const correlationId = randomUUID();
    ctx.set('X-Request-Id', correlationId);
    let body: Buffer | undefined;
    try {
      body = await readWebhookBody(ctx, limit);
      try {
        signature?.verify(body, ctx.headers);
      } catch (err) {
        if (err instanceof EventSignatureError) throw new HttpError(401, err.message);
        throw err;
      }
      let parsed;
      try {
        parsed = parseEventBatch(body);
      } catch (err) {
        if (err instanceof EventBatchError) throw new HttpError(400, err.message);
        throw err;
      }
      if (parsed.invalid.length)
        await keep(
          422,
          `${parsed.invalid.length} event(s) not taken: ${parsed.invalid
            .slice(0, 5)
            .map((i) => `#${i.index} ${i.reason}`)
            .join('; ')}`,
          body,
          ctx.ip,
        );
      const key = bodyHashKey(body, 'sg');
      const job: EmailEventsJob = { key, receivedAt: new Date().toISOString(), correlationId, events: parsed.events };
      try {
        if (parsed.events.length) await queue.add(TYPE, job, { jobId: key });
      } catch (err) {
        log.error({ correlationId, err: (err as Error).message }, 'SendGrid events not persisted: Redis unavailable');
        throw new HttpError(503, 'Events could not be persisted, retry later');
      }
      ctx.status = 200;
      ctx.body = { accepted: parsed.events.length, notTaken: parsed.invalid.length, key };
      ctx.state.log = { eventType: TYPE, key, events: parsed.events.length };
      count('accepted');
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      ctx.status = err.status;
      ctx.body = err.body();
      if (err.status === 503) ctx.set('Retry-After', '30');
      count(`rejected_${err.status}`);
      log.warn({ correlationId, eventType: TYPE, status: err.status, reason: err.message }, 'SendGrid events rejected');
      if (err.status !== 503) await keep(err.status, err.message, body ?? Buffer.alloc(0), ctx.ip);
    }
  };
}
