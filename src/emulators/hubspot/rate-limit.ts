/** What one request got from the burst limit. */
export interface WindowDecision {
  allowed: boolean;
  /** The limit, or undefined when unlimited (then no rate-limit headers are sent). */
  max?: number;
  remaining: number;
  intervalMs: number;
}

/**
 * HubSpot's burst limit: at most `max` requests in any rolling `intervalMs` window
 * (policy TEN_SECONDLY_ROLLING). Refused requests do not use up the window.
 */
export class RollingWindow {
  private readonly stamps: number[] = [];

  constructor(
    private max: number | undefined,
    readonly intervalMs: number,
  ) {}

  /** Changes the limit; undefined removes it. */
  setLimit(max: number | undefined): void {
    this.max = max;
  }

  /** Counts a request at `now` if the window has room. */
  take(now = Date.now()): WindowDecision {
    while (this.stamps.length && this.stamps[0]! <= now - this.intervalMs) this.stamps.shift();
    if (this.max === undefined) return { allowed: true, remaining: Infinity, intervalMs: this.intervalMs };
    if (this.stamps.length >= this.max)
      return { allowed: false, max: this.max, remaining: 0, intervalMs: this.intervalMs };
    this.stamps.push(now);
    return { allowed: true, max: this.max, remaining: this.max - this.stamps.length, intervalMs: this.intervalMs };
  }
}

/** The X-HubSpot-RateLimit-* headers HubSpot sends with every answer. */
export function rateLimitHeaders(d: WindowDecision): Record<string, string> {
  if (d.max === undefined) return {};
  return {
    'X-HubSpot-RateLimit-Max': String(d.max),
    'X-HubSpot-RateLimit-Remaining': String(d.remaining),
    'X-HubSpot-RateLimit-Interval-Milliseconds': String(d.intervalMs),
  };
}

/**
 * HubSpot's 429 body for the ten-secondly burst limit: its documented fields (`errorType`,
 * `policyName`), and `category: "RATE_LIMITS"`, which HubSpot's answers carry too.
 */
export function rateLimitBody(correlationId: string): Record<string, string> {
  return {
    status: 'error',
    message: 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    category: 'RATE_LIMITS',
    correlationId,
    policyName: 'TEN_SECONDLY_ROLLING',
    groupName: 'publicapi:private-app:burst:emulator',
  };
}
