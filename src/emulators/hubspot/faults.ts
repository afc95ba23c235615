/** What a fault matcher sees of a request. */
export interface FaultRequest {
  method: string;
  path: string;
  body: unknown;
}

/**
 * A fault for the next `count` matching requests (default 1; Infinity for "until cleared"):
 * - `status`: answer with this status (e.g. 500, 502, 503, 403) and a HubSpot-like error body;
 * - `reset`: destroy the connection without an answer (the client sees a network error);
 * - `delayMs`: hold the request this long first (alone: then answer it normally).
 */
export interface Fault {
  status?: number;
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

/** A HubSpot-like error body for an injected status. */
export function faultBody(status: number, correlationId: string): Record<string, unknown> {
  if (status === 401) return { status: 'error', message: 'Authentication credentials not found.', correlationId, category: 'INVALID_AUTHENTICATION' };
  if (status === 403) {
    return {
      status: 'error',
      message: 'This app hasn\'t been granted all required scopes to make this call.',
      correlationId,
      category: 'MISSING_SCOPES',
      errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: ['crm.objects.contacts.write'] } }],
    };
  }
  return { status: 'error', message: status >= 500 ? 'internal error' : 'injected fault', correlationId, category: status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR' };
}
