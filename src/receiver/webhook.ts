import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { AddressList } from '../address-list.ts';
import type { Config } from '../config.ts';
import { EnvelopeError, parseEnvelope, type Envelope } from '../events/envelope.ts';
import { bodyHashKey, idempotencyKey } from '../events/idempotency-key.ts';
import { HttpError } from '../http-error.ts';
import { SchemaError, validateEvent } from '../events/schemas.ts';
import { isKnownType } from '../events/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { EventIntake } from '../queues/intake.ts';
import type { Quarantine } from '../quarantine/store.ts';
import { readWebhookBody } from '../raw-body.ts';
import { SignatureError, WebhookSignature } from './signature.ts';

export interface WebhookDeps {
  config: Config;
  intake: EventIntake;
  quarantine: Quarantine;
  log: Logger;
  metrics?: Metrics;
}

/**
 * `POST /webhooks/loopwise`: allow-list → content type (415) → size (413) → signature (401) →
 * JSON (400) → schema (422, quarantined) → dedupe and atomic enqueue (202, 200 duplicate, 503).
 */
export function webhookHandler(deps: WebhookDeps) {
  const { config, intake, quarantine, log, metrics } = deps;
  const signature = config.webhook.secrets.length ? new WebhookSignature(config.webhook.secrets) : undefined;
  const allowlist = new AddressList(config.webhook.ipAllowlist);

  return async function handleWebhook(ctx: Context): Promise<void> {
    const correlationId = (ctx.get('x-request-id') || randomUUID()).slice(0, 64);
    ctx.set('X-Request-Id', correlationId);
    let eventType = 'unknown';
    let body: Buffer | undefined;
    try {
      if (allowlist.size && !allowlist.has(ctx.ip)) throw new HttpError(403, `Source address ${ctx.ip} is not allowed`);
      body = await readWebhookBody(ctx, config.webhook.maxBodyBytes);
      try {
        signature?.verify(body, ctx.headers);
      } catch (err) {
        if (err instanceof SignatureError) throw new HttpError(401, err.message);
        throw err;
      }
      let envelope: Envelope;
      try {
        envelope = parseEnvelope(body);
      } catch (err) {
        if (err instanceof EnvelopeError)
          throw new HttpError(err.status, err.message, err.errors.length ? { errors: err.errors } : {});
        throw err;
      }
      const { type, data } = envelope;
      eventType = type;
      if (!isKnownType(type)) {
        metrics?.webhookIgnored.inc({ type: type.slice(0, 64) });
        ctx.status = 202;
        ctx.body = {
          accepted: false,
          ignored: true,
          type,
          reason: 'event type is not handled by course-sync',
          key: bodyHashKey(body),
        };
        ctx.state.log = { eventType: type, outcome: 'ignored' };
        metrics?.webhookRequests.inc({ type: 'other', outcome: 'ignored' });
        return;
      }
      let event;
      try {
        event = validateEvent(type, data);
      } catch (err) {
        if (err instanceof SchemaError)
          throw new HttpError(422, 'Payload does not match the schema of ' + type, { errors: err.errors });
        throw err;
      }
      const key = idempotencyKey(event);
      let outcome;
      try {
        outcome = await intake.accept(event, key, correlationId);
      } catch (err) {
        log.error(
          { correlationId, eventType, err: (err as Error).message },
          'webhook not persisted: Redis unavailable',
        );
        throw new HttpError(503, 'Event could not be persisted, retry later');
      }
      ctx.status = outcome === 'accepted' ? 202 : 200;
      ctx.body = outcome === 'accepted' ? { accepted: true, key } : { accepted: true, duplicate: true, key };
      metrics?.webhookRequests.inc({ type, outcome });
      // Said once, in the request's log line (one line per webhook keeps the hot path lean).
      ctx.state.log = { eventType, key, outcome };
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      ctx.status = err.status;
      ctx.body = err.body();
      if (err.status === 503) ctx.set('Retry-After', '5');
      metrics?.webhookRequests.inc({
        type: isKnownType(eventType) ? eventType : 'other',
        outcome: `rejected_${err.status}`,
      });
      log.warn({ correlationId, eventType, status: err.status, reason: err.message }, 'webhook rejected');
      if (err.status !== 503) await keep(err, eventType, body ?? Buffer.alloc(0), correlationId, ctx.ip);
    }
  };

  async function keep(
    refusal: HttpError,
    eventType: string,
    body: Buffer,
    correlationId: string,
    source: string,
  ): Promise<void> {
    try {
      const errors = refusal.extra.errors as { field: string; message: string }[] | undefined;
      const reason = errors
        ? `${refusal.message}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`
        : refusal.message;
      const id = await quarantine.add({
        status: refusal.status,
        reason,
        eventType,
        body,
        replayable: refusal.status === 422,
        errors,
        source,
      });
      // Signed but schema-invalid: searchable by the ids it names (`course-sync trace`).
      if (refusal.status === 422)
        await intake.noteQuarantined({ id, eventType, body: body.toString('utf8'), status: refusal.status, reason });
    } catch (err) {
      log.error({ correlationId, err: (err as Error).message }, 'could not keep the rejected webhook in quarantine');
    }
  }
}
