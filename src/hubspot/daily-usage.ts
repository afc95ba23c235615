import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { DailyLimitStore } from './daily-limit-store.ts';

/** Writes to Redis at most this often per process; a limit reached, raised or reset is written at once. */
const WRITE_EVERY_MS = 5_000;

/**
 * Follows the portal's daily usage from the headers HubSpot sends with every answer,
 * `X-HubSpot-RateLimit-Daily` (calls allowed a day) and `X-HubSpot-RateLimit-Daily-Remaining`
 * (HubSpot changelog 2018-11-06, "Rate limit information headers will be included in HTTP
 * responses"), and keeps the last figures in Redis for the overview, /metrics and `doctor` — so
 * usage shows long before the limit is reached, at no extra request.
 */
export class DailyUsageMeter {
  private last?: { limit: number; remaining: number; writtenAt: number };
  private pending?: { limit: number; remaining: number; at: number };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Pick<DailyLimitStore, 'writeUsage'>,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  /** Takes the headers of one answer (names in lower case); ignores answers without them. */
  seen(headers: Record<string, string | string[] | undefined>): void {
    const limit = Number(headers['x-hubspot-ratelimit-daily'] ?? NaN);
    const remaining = Number(headers['x-hubspot-ratelimit-daily-remaining'] ?? NaN);
    if (!Number.isFinite(limit) || !Number.isFinite(remaining) || limit <= 0) return;
    const at = this.now();
    const l = this.last;
    const urgent = !l || remaining === 0 || limit !== l.limit || remaining > l.remaining;
    if (urgent || at - l.writtenAt >= WRITE_EVERY_MS) return this.write({ limit, remaining, at });
    // Between writes the latest figures wait, and go out on their own if no answer comes after them.
    this.pending = { limit, remaining, at };
    this.timer ??= setTimeout(() => this.pending && this.write(this.pending), WRITE_EVERY_MS).unref();
  }

  private write(u: { limit: number; remaining: number; at: number }): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.last = { limit: u.limit, remaining: u.remaining, writtenAt: u.at };
    this.store
      .writeUsage({ limit: u.limit, remaining: Math.max(0, u.remaining), at: u.at, source: 'headers' })
      .catch((err: unknown) => this.onError(err as Error));
  }
}

/**
 * Hands `meter` the headers of every answer from `baseUrl`'s host, whoever asked (contacts,
 * products, properties, account reads). @hubspot/api-client 13 gives a call's headers only to its
 * `...WithHttpInfo` variant and does not run middleware set on the client (only per call), so the
 * answers are read where Node's HTTP client announces them: the documented diagnostics channel
 * `http.client.response.finish`. Returns the unsubscribe.
 */
export function followDailyUsage(baseUrl: string, meter: Pick<DailyUsageMeter, 'seen'>): () => void {
  const host = new URL(baseUrl).host;
  const onAnswer = (message: unknown) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    if (request.getHeader('host') === host) meter.seen(response.headers);
  };
  subscribe('http.client.response.finish', onAnswer);
  return () => void unsubscribe('http.client.response.finish', onAnswer);
}
