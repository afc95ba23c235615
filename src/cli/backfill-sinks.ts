import { randomUUID } from 'node:crypto';
import { idempotencyKey } from '../events/idempotency-key.ts';
import { SchemaError, validateEvent } from '../events/schemas.ts';
import { isKnownType } from '../events/types.ts';
import type { EventIntake } from '../queues/intake.ts';
import { postWebhook } from './post-webhook.ts';

/** What became of one line of a backfill. */
export type LineOutcome =
  | { kind: 'accepted' | 'duplicate'; key: string }
  | { kind: 'ignored'; type: string }
  | { kind: 'invalid' | 'failed'; reason: string };

/** The receiver refused the delivery itself (signature, source address): no later line can pass either. */
export class ReceiverRefusedError extends Error {
  constructor(reason: string) {
    super(`the receiver refused the delivery (${reason}); check --secret or WEBHOOK_SECRET`);
    this.name = 'ReceiverRefusedError';
  }
}

/** Sends one event (one line of JSON) through the pipeline and says what became of it. */
export type Sink = (line: string) => Promise<LineOutcome>;

/**
 * Posts each line, signed, to a running receiver, which validates, dedupes and enqueues it.
 * A 503 (Redis could not persist) is retried with backoff before the line counts as failed.
 * Throws ReceiverUnreachableError when nothing answers and ReceiverRefusedError on 401/403, so
 * the run can stop at once.
 */
export function receiverSink(url: string, secret: string | undefined, retryDelayMs = 1_000): Sink {
  return async (line) => {
    for (let attempt = 1; ; attempt++) {
      const reply = await postWebhook(url, line, secret);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(reply.body) as Record<string, unknown>;
      } catch {
        /* not JSON: reported by status below */
      }
      const key = String(json.key ?? '');
      if (reply.status === 202 && json.ignored) return { kind: 'ignored', type: String(json.type) };
      if (reply.status === 202) return { kind: 'accepted', key };
      if (reply.status === 200 && json.duplicate) return { kind: 'duplicate', key };
      const reason = describeRefusal(reply.status, json);
      if ([400, 413, 415, 422].includes(reply.status)) return { kind: 'invalid', reason };
      if (reply.status === 401 || reply.status === 403) throw new ReceiverRefusedError(reason);
      if (reply.status >= 500 && attempt < 3) {
        await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** (attempt - 1)));
        continue;
      }
      return { kind: 'failed', reason };
    }
  };
}

function describeRefusal(status: number, json: Record<string, unknown>): string {
  const errors = Array.isArray(json.errors) ? (json.errors as { field?: string; message?: string }[]) : [];
  const detail = errors.length ? `: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}` : '';
  return `HTTP ${status} ${String(json.error ?? '')}${detail}`.trim();
}

/**
 * Enqueues each line straight through EventIntake, with the receiver's checks (envelope shape,
 * known type, schema, idempotency key) but no HTTP and no signature: for a machine with Redis access.
 */
export function directSink(intake: EventIntake): Sink {
  return async (line) => {
    let envelope: unknown;
    try {
      envelope = JSON.parse(line);
    } catch {
      return { kind: 'invalid', reason: 'not valid JSON' };
    }
    if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) {
      return { kind: 'invalid', reason: 'not an object { "type": ..., "data": {...} }' };
    }
    const { type, data } = envelope as { type?: unknown; data?: unknown };
    if (typeof type !== 'string' || type === '') return { kind: 'invalid', reason: 'event type is missing' };
    if (!isKnownType(type)) return { kind: 'ignored', type };
    let key: string;
    let event;
    try {
      event = validateEvent(type, data);
      key = idempotencyKey(event);
    } catch (err) {
      const reason =
        err instanceof SchemaError
          ? err.errors.map((e) => `${e.field}: ${e.message}`).join('; ')
          : (err as Error).message;
      return { kind: 'invalid', reason };
    }
    try {
      return { kind: await intake.accept(event, key, `backfill-${randomUUID()}`), key };
    } catch (err) {
      return { kind: 'failed', reason: `Redis: ${(err as Error).message}` };
    }
  };
}
