import { maskText } from '../privacy/text.ts';

/** How a failed Mail Send call is handled (the shared vocabulary of api-failure.ts, without `auth`). */
export type SendFailure =
  /** 429: wait until `X-RateLimit-Reset`, without using up an attempt. */
  | { kind: 'rate_limited'; status: 429; waitMs: number; message: string }
  /** 4xx (400, 401, 403, 413, ...) or a request the client library refuses (status 0): retrying cannot help. */
  | { kind: 'rejected'; status: number; message: string }
  /** 5xx, timeouts, connection errors: retry with backoff. */
  | { kind: 'transient'; status?: number; message: string };

const MIN_WAIT_MS = 1000;
const MAX_WAIT_MS = 15 * 60_000;

interface ResponseErrorLike {
  code?: number | string;
  message?: string;
  isAxiosError?: boolean;
  response?: { headers?: Record<string, string | undefined>; body?: unknown };
}

/** SendGrid's `errors[]` as one line: "message (field); ..." with addresses and phone numbers masked. */
function sendGridReasons(body: unknown): string {
  const errors = (body as { errors?: { message?: unknown; field?: unknown }[] } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return '';
  return maskText(
    errors.map((e) => `${String(e.message ?? 'error')}${e.field ? ` (${String(e.field)})` : ''}`).join('; '),
  );
}

/** Milliseconds until `X-RateLimit-Reset` (Unix seconds) or `Retry-After`, within sane bounds. */
export function rateLimitWaitMs(headers: Record<string, string | undefined> = {}, now = Date.now()): number {
  const reset = Number(headers['x-ratelimit-reset']);
  const retryAfter = Number(headers['retry-after']);
  let wait = MIN_WAIT_MS;
  if (Number.isFinite(reset) && reset > 0) wait = reset * 1000 - now;
  else if (Number.isFinite(retryAfter) && retryAfter > 0) wait = retryAfter * 1000;
  return Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, Math.ceil(wait)));
}

/** Classifies an error thrown by `@sendgrid/mail`'s `send` (a ResponseError, or a network/timeout error). */
export function classifySendError(err: unknown, now = Date.now()): SendFailure {
  const e = err as ResponseErrorLike;
  if (typeof e?.code === 'number') {
    const status = e.code;
    const reasons = sendGridReasons(e.response?.body);
    const message = `SendGrid ${status}${reasons ? `: ${reasons}` : e.message ? `: ${maskText(e.message)}` : ''}`;
    if (status === 429)
      return { kind: 'rate_limited', status, waitMs: rateLimitWaitMs(e.response?.headers, now), message };
    if (status >= 400 && status < 500 && status !== 408) return { kind: 'rejected', status, message };
    return { kind: 'transient', status, message };
  }
  const text = maskText((e as Error)?.message ?? String(err));
  // No HTTP exchange happened: a network error or timeout is transient; anything else was thrown
  // while building the request (e.g. @sendgrid/mail refusing the data) and will not get better.
  if (e?.isAxiosError || typeof e?.code === 'string')
    return {
      kind: 'transient',
      message: `SendGrid unreachable: ${typeof e.code === 'string' ? `${e.code} ` : ''}${text}`,
    };
  return { kind: 'rejected', status: 0, message: `Invalid mail request: ${text}` };
}
