/** What went wrong with a HubSpot call, in the terms the workers act on (see api-failure.ts). */
export type HubSpotFailure =
  /** 429: wait `waitMs` (from the headers) without using up an attempt. */
  | { kind: 'rate_limited'; status: 429; waitMs: number; policy?: string; message: string }
  /** 401/403: the token is wrong or lacks scopes; retrying cannot help until someone fixes it. */
  | { kind: 'auth'; status: 401 | 403; message: string }
  /** 400 and other 4xx: HubSpot refused the request as sent. */
  | { kind: 'rejected'; status: number; category?: string; message: string }
  /**
   * 423, 477, 5xx (HubSpot's side), or no answer at all (refused, reset, timeout: no `status`);
   * retry with backoff, waiting at least `waitMs` (HubSpot's Retry-After). `accountWide`: the whole
   * account is unavailable (477): every HubSpot request waits `waitMs`, and no attempt is used.
   */
  | { kind: 'transient'; status?: number; message: string; waitMs?: number; accountWide?: boolean };

const DEFAULT_WAIT_MS = 10_000;
const DAILY_WAIT_MS = 60 * 60_000;
/** 423 Locked without Retry-After: HubSpot's guide asks for at least 2 seconds. */
const LOCKED_WAIT_MS = 2_000;
/** 477 Migration in Progress without Retry-After: ask again in a minute (migrations take up to hours). */
const MIGRATION_WAIT_MS = 60_000;

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as Record<string, unknown>;
  const v =
    h[name] ?? h[name.toLowerCase()] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return v === undefined || v === null ? undefined : String(v);
}

/**
 * How long a 429 asks us to wait: Retry-After when present, else the window HubSpot names in
 * X-HubSpot-RateLimit-Interval-Milliseconds (a rolling window frees up within one interval);
 * a DAILY policy waits an hour here, a placeholder: workers pause until the portal's daily reset
 * instead (daily-limit.ts).
 */
export function rateLimitWaitMs(headers: unknown, body: unknown): number {
  const policy = (body as { policyName?: string } | undefined)?.policyName;
  if (policy === 'DAILY') return DAILY_WAIT_MS;
  const retryAfter = Number(header(headers, 'retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  const interval = Number(header(headers, 'x-hubspot-ratelimit-interval-milliseconds'));
  return Number.isFinite(interval) && interval > 0 ? interval : DEFAULT_WAIT_MS;
}

/** Retry-After in milliseconds (HubSpot sends whole seconds), if the answer has a usable one. */
function retryAfterMs(headers: unknown): number | undefined {
  const seconds = Number(header(headers, 'retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

/** HubSpot's own words for an error body: "CATEGORY: message". */
export function hubSpotMessage(body: unknown, fallback: string): string {
  const b = body as { message?: string; category?: string; errorType?: string } | undefined;
  const category = b?.category ?? b?.errorType;
  const message = b?.message ?? fallback;
  return category ? `${category}: ${message}` : message;
}

/** Sorts an error thrown by @hubspot/api-client (ApiException, or a fetch error) into a HubSpotFailure. */
export function classifyHubSpotError(err: unknown): HubSpotFailure {
  const e = err as {
    code?: unknown;
    body?: unknown;
    headers?: unknown;
    message?: string;
    type?: string;
    name?: string;
  };
  const status = typeof e?.code === 'number' ? e.code : undefined;
  if (status === undefined) {
    const code = typeof e?.code === 'string' ? `${e.code} ` : '';
    return { kind: 'transient', message: `HubSpot unreachable: ${code}${(e?.message ?? String(err)).split('\n')[0]}` };
  }
  const message = `HubSpot ${status} ${hubSpotMessage(e.body, 'no message')}`;
  if (status === 429) {
    const policy = (e.body as { policyName?: string } | undefined)?.policyName;
    return { kind: 'rate_limited', status, waitMs: rateLimitWaitMs(e.headers, e.body), policy, message };
  }
  if (status === 401 || status === 403) return { kind: 'auth', status, message };
  // HubSpot's error-handling guide lists these as common answers that ask for a later retry.
  if (status === 423) return { kind: 'transient', status, message, waitMs: retryAfterMs(e.headers) ?? LOCKED_WAIT_MS };
  if (status === 477)
    return {
      kind: 'transient',
      status,
      message,
      waitMs: retryAfterMs(e.headers) ?? MIGRATION_WAIT_MS,
      accountWide: true,
    };
  if (status >= 500) {
    const waitMs = retryAfterMs(e.headers);
    return waitMs === undefined
      ? { kind: 'transient', status, message }
      : { kind: 'transient', status, message, waitMs };
  }
  return { kind: 'rejected', status, category: (e.body as { category?: string } | undefined)?.category, message };
}

/**
 * How long HubSpot asked every request to wait, with no attempt used: the time a 429 names, or a
 * 477's Retry-After (the whole account is unavailable). Undefined for every other failure.
 */
export function accountWait(failure: HubSpotFailure | undefined): number | undefined {
  if (failure?.kind === 'rate_limited') return failure.waitMs;
  if (failure?.kind === 'transient' && failure.accountWide) return failure.waitMs;
  return undefined;
}

/** An error carrying its classification, so callers up the stack need not classify again. */
export class HubSpotCallError extends Error {
  constructor(
    readonly failure: HubSpotFailure,
    readonly operation: string,
  ) {
    super(`${operation}: ${failure.message}`);
    this.name = 'HubSpotCallError';
  }

  /** The least delay before a retry HubSpot asked for (read by the jobs' backoff, see retryAfterOf). */
  get retryAfterMs(): number | undefined {
    return this.failure.kind === 'transient' ? this.failure.waitMs : undefined;
  }
}
