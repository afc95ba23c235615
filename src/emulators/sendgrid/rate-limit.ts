/** A request budget: `limit` requests per `windowMs`. */
export interface RateLimitOptions {
  limit: number;
  windowMs: number;
}

/** What the emulator answers in SendGrid's rate-limit headers. */
export interface RateLimitState {
  allowed: boolean;
  headers: Record<'X-RateLimit-Limit' | 'X-RateLimit-Remaining' | 'X-RateLimit-Reset', string>;
}

/**
 * Fixed-window limiter with SendGrid's headers: `X-RateLimit-Reset` is the Unix time, in
 * seconds, when the window ends (rounded up, as SendGrid reports whole seconds).
 */
export class FixedWindowLimiter {
  private windowStart = 0;
  private used = 0;

  constructor(readonly opts: RateLimitOptions) {
    if (!(opts.limit >= 0) || !(opts.windowMs > 0)) throw new Error('Rate limit needs limit >= 0 and windowMs > 0');
  }

  /** Counts one request and says whether it is within the budget. */
  take(now = Date.now()): RateLimitState {
    if (now >= this.windowStart + this.opts.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    const allowed = this.used < this.opts.limit;
    if (allowed) this.used++;
    return { allowed, headers: this.headers(this.windowStart + this.opts.windowMs) };
  }

  private headers(resetAtMs: number): RateLimitState['headers'] {
    return {
      'X-RateLimit-Limit': String(this.opts.limit),
      'X-RateLimit-Remaining': String(Math.max(0, this.opts.limit - this.used)),
      'X-RateLimit-Reset': String(Math.ceil(resetAtMs / 1000)),
    };
  }
}

/** The headers of a one-off 429 (an injected fault): the budget is spent until `resetInMs` from now. */
export function exhaustedHeaders(limit: number, resetInMs: number, now = Date.now()): RateLimitState['headers'] {
  return {
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset': String(Math.ceil((now + resetInMs) / 1000)),
  };
}
