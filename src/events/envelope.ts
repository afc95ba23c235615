import type { FieldError } from './schemas.ts';

/** The body is not a Loopwise envelope: 400 when it is not JSON, 422 when it has no usable `type`. */
export class EnvelopeError extends Error {
  constructor(
    readonly status: 400 | 422,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

/** A Loopwise envelope: `{ "type": ..., "data": {...} }` (there is no event id in it). */
export interface Envelope {
  type: string;
  data: unknown;
}

/**
 * Reads a raw body as an envelope, for the receiver and for quarantine replay alike. Throws
 * EnvelopeError: 400 not JSON; 422 not an object, or no non-empty string `type`. `data` is not
 * checked here (the event's schema does that).
 */
export function parseEnvelope(body: Buffer | string): Envelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    throw new EnvelopeError(400, 'Body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EnvelopeError(422, 'Body must be an object { "type": ..., "data": {...} }', [
      { field: 'type', message: 'type is required' },
    ]);
  }
  const { type, data } = parsed as { type?: unknown; data?: unknown };
  if (typeof type !== 'string' || type === '') {
    throw new EnvelopeError(422, 'Event type is missing', [
      { field: 'type', message: 'type must be a non-empty string' },
    ]);
  }
  return { type, data };
}
