import { randomUUID } from 'node:crypto';
import { idempotencyKey } from '../events/idempotency-key.ts';
import { SchemaError, validateEvent, type FieldError } from '../events/schemas.ts';
import { EVENT_TYPES, isKnownType, type LoopwiseEvent } from '../events/types.ts';
import { EnvelopeError, parseEnvelope } from '../events/envelope.ts';
import type { Logger } from '../log.ts';
import type { EventIntake, IntakeOutcome } from '../queues/intake.ts';
import { canReplay, type Quarantine } from '../quarantine/store.ts';

/** What replaying a quarantined delivery came to. */
export type QuarantineReplayResult =
  | { status: 'replayed'; id: string; key: string; outcome: IntakeOutcome; correlationId: string }
  | { status: 'not-found'; id: string }
  | { status: 'not-replayable'; id: string; reason: string }
  | { status: 'invalid'; id: string; errors: FieldError[] };

export interface QuarantineReplayDeps {
  quarantine: Quarantine;
  intake: EventIntake;
  log?: Logger;
}

/** True for a well-formed quarantine entry id (a Redis stream id such as 1700000000000-0). */
export function isQuarantineId(id: string): boolean {
  return /^\d{1,20}-\d{1,20}$/.test(id);
}

/** Checks a stored raw body as the receiver does, with the current schema; returns the event or the field errors. */
function revalidate(
  body: string,
): { event: LoopwiseEvent; errors?: undefined } | { event?: undefined; errors: FieldError[] } {
  try {
    const { type, data } = parseEnvelope(body);
    if (!isKnownType(type))
      return {
        errors: [
          { field: 'type', message: `type must be one of ${EVENT_TYPES.join(', ')}, got ${JSON.stringify(type)}` },
        ],
      };
    return { event: validateEvent(type, data) };
  } catch (err) {
    if (err instanceof EnvelopeError)
      return { errors: err.errors.length ? err.errors : [{ field: 'body', message: err.message }] };
    if (err instanceof SchemaError) return { errors: err.errors };
    throw err;
  }
}

/**
 * Replays one quarantined delivery (a 422) after the mapping or the payload was fixed: re-validates
 * its raw body with the current schema and, if valid, enqueues it through EventIntake exactly as the
 * receiver would (same idempotency key, so an event already delivered stays a duplicate), then
 * removes it from quarantine. Shared by the admin API and the CLI.
 */
export async function replayQuarantined(deps: QuarantineReplayDeps, id: string): Promise<QuarantineReplayResult> {
  const entry = isQuarantineId(id) ? await deps.quarantine.get(id) : undefined;
  if (!entry) return { status: 'not-found', id };
  if (!canReplay(entry)) {
    return {
      status: 'not-replayable',
      id,
      reason: `only schema-invalid (422) deliveries kept whole can be replayed; this one was ${entry.status}: ${entry.reason}`,
    };
  }
  const checked = revalidate(entry.body);
  if (!checked.event) return { status: 'invalid', id, errors: checked.errors };
  const key = idempotencyKey(checked.event);
  const correlationId = randomUUID();
  const outcome = await deps.intake.accept(checked.event, key, correlationId);
  await deps.quarantine.remove(id);
  deps.log?.info(
    { correlationId, quarantineId: id, key, outcome, eventType: checked.event.type },
    'quarantined webhook replayed',
  );
  return { status: 'replayed', id, key, outcome, correlationId };
}
