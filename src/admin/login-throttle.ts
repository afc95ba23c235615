import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { luaScript } from '../redis/scripts.ts';

export interface LoginThrottleOptions {
  /** Failed logins from one address that close the door (default 10). */
  maxFailures?: number;
  /** The window they count in, from the first failure (default 5 minutes). */
  windowMs?: number;
}

// Counts a failed login; the window starts with the first. → {failures, ms left of the window}
const FAIL = luaScript<[failuresKey: string, windowMs: number], [number, number]>(
  import.meta.url,
  'scripts/count-login-failure.lua',
  1,
);

/**
 * Throttles password guessing on /admin: after `maxFailures` failed logins from one source address
 * within the window, that address is refused (429) until the window passes, whatever it sends.
 * The counts live in Redis (one key per address, expiring with its window), so every receiver
 * process shares them.
 */
export class LoginThrottle {
  readonly maxFailures: number;
  readonly windowMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    opts: LoginThrottleOptions = {},
  ) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 5 * 60_000;
  }

  private key(address: string): string {
    return recordKey(this.prefix, 'admin-login-failures', address);
  }

  /** Milliseconds until `address` may try again; 0 when it may now. */
  async retryAfterMs(address: string): Promise<number> {
    const key = this.key(address);
    const [[, n], [, ttl]] = (await this.redis.multi().get(key).pttl(key).exec()) as [
      [unknown, string | null],
      [unknown, number],
    ];
    return Number(n ?? 0) >= this.maxFailures ? Math.max(1, ttl) : 0;
  }

  /** Counts a failed login of `address`: how many in this window, and whether it was the first. */
  async fail(address: string): Promise<{ failures: number; retryAfterMs: number }> {
    const [failures, ttl] = await FAIL.run(this.redis, this.key(address), this.windowMs);
    return { failures, retryAfterMs: failures >= this.maxFailures ? Math.max(1, ttl) : 0 };
  }
}
