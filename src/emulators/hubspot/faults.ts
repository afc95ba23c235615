/** What a fault matcher sees of a request. */
export interface FaultRequest {
  method: string;
  path: string;
  body: unknown;
}

/**
 * A fault for the next `count` matching requests (default 1; Infinity for "until cleared"):
 * - `status`: answer with this status (e.g. 423, 477, 500, 502, 503, 504, 403) and HubSpot's body for it;
 * - `retryAfterSeconds`: with `status`, a `Retry-After` header (HubSpot sends one with 423 and 477);
 * - `reset`: destroy the connection without an answer (the client sees a network error);
 * - `delayMs`: hold the request this long first (alone: then answer it normally).
 */
export interface Fault {
  status?: number;
  retryAfterSeconds?: number;
  reset?: boolean;
  delayMs?: number;
  count?: number;
  match?: (req: FaultRequest) => boolean;
}

/** The fault injection options of the emulator: `down` closes the port until `down: false`. */
export interface FaultOptions extends Fault {
  down?: boolean;
}

/** Pending faults, consumed in order by matching requests. */
export class FaultQueue {
  private faults: (Fault & { left: number })[] = [];

  add(f: Fault): void {
    this.faults.push({ ...f, left: f.count ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault that applies to `req`, using up one of its count. */
  take(req: FaultRequest): Fault | undefined {
    const i = this.faults.findIndex((f) => !f.match || f.match(req));
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    if (--f.left <= 0) this.faults.splice(i, 1);
    return f;
  }
}

/**
 * Answers HubSpot's error-handling guide lists as common to every API ("Common error responses"),
 * in its words: each asks the client to wait and try again, never to give up on the request.
 */
const COMMON: Record<number, { category: string; message: string }> = {
  423: {
    category: 'LOCKED',
    message:
      'The record is locked while a large volume of data syncs; wait at least 2 seconds (Retry-After) and try again.',
  },
  477: {
    category: 'MIGRATION_IN_PROGRESS',
    message:
      'This HubSpot account is being migrated between data hosting locations; retry after the time given in Retry-After.',
  },
  502: {
    category: 'BAD_GATEWAY',
    message: "HubSpot's processing limits were met (timeout); pause for a few seconds and try again.",
  },
  503: {
    category: 'SERVICE_UNAVAILABLE',
    message: 'HubSpot is temporarily unavailable; pause for a few seconds and try again.',
  },
  504: {
    category: 'GATEWAY_TIMEOUT',
    message: "HubSpot's processing limits were met (timeout); pause for a few seconds and try again.",
  },
};

/** The headers of an injected answer: `Retry-After` when the fault asks for one. */
export function faultHeaders(f: Fault): Record<string, string> {
  return f.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(f.retryAfterSeconds) };
}

/** A HubSpot-like error body for an injected status. */
export function faultBody(status: number, correlationId: string): Record<string, unknown> {
  const common = COMMON[status];
  if (common) return { status: 'error', message: common.message, correlationId, category: common.category };
  if (status === 401)
    return {
      status: 'error',
      message: 'Authentication credentials not found.',
      correlationId,
      category: 'INVALID_AUTHENTICATION',
    };
  if (status === 403) {
    return {
      status: 'error',
      message: "This app hasn't been granted all required scopes to make this call.",
      correlationId,
      category: 'MISSING_SCOPES',
      errors: [
        {
          message: 'One or more of the following scopes are required.',
          context: { requiredGranularScopes: ['crm.objects.contacts.write'] },
        },
      ],
    };
  }
  return {
    status: 'error',
    message: status >= 500 ? 'internal error' : 'injected fault',
    correlationId,
    category: status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR',
  };
}
