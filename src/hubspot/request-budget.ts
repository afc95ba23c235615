import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { recordKey } from '../queues/names.ts';

/**
 * Takes one request from a rolling window kept in Redis, on Redis' own clock, so every process
 * shares it. KEYS[1] window (sorted set of request times), KEYS[2] block marker (set after a 429).
 * ARGV: max, window ms, member. Returns 0 when granted, else the milliseconds to wait.
 */
const TAKE = `
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return blocked end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

/** Sets the block marker unless a longer block is already in place. KEYS[1] marker, ARGV[1] ms. */
const BLOCK = `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
`;

export interface RequestBudgetOptions {
  /** Requests allowed per interval (config.hubspot.requestsPer10s). */
  max: number;
  /** HubSpot's window (10 000 ms). */
  intervalMs?: number;
  /**
   * Added to the window so that requests spaced by exactly one window on our side cannot land
   * inside one window on HubSpot's side after network jitter (default 250 ms, about 2.5 %).
   */
  marginMs?: number;
}

/**
 * The HubSpot request budget shared by every worker process (contacts and products): a rolling
 * window of `max` requests per `intervalMs` kept in Redis under the queue prefix. Call `acquire()`
 * before each HubSpot request (one batch call = one request); after a 429, `block(ms)` makes every
 * process wait that long. Use it through `hubSpotCall()` (call.ts), which also records metrics.
 */
export class RequestBudget {
  private readonly windowKey: string;
  private readonly blockKey: string;
  private readonly windowMs: number;
  private readonly member = randomBytes(6).toString('hex');
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly opts: RequestBudgetOptions,
  ) {
    if (!Number.isInteger(opts.max) || opts.max < 1) throw new Error('RequestBudget max must be a whole number of at least 1');
    this.windowKey = recordKey(prefix, 'hubspot', 'budget');
    this.blockKey = recordKey(prefix, 'hubspot', 'blocked');
    this.windowMs = (opts.intervalMs ?? 10_000) + (opts.marginMs ?? 250);
  }

  /** Takes a request if the window has room: 0, else how many ms to wait before asking again. */
  async tryAcquire(): Promise<number> {
    const member = `${this.member}:${++this.seq}`;
    return Number(await this.redis.eval(TAKE, 2, this.windowKey, this.blockKey, this.opts.max, this.windowMs, member));
  }

  /** Waits until a request may be sent (or `signal` aborts, which rejects). */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = await this.tryAcquire();
      if (wait === 0) return;
      // A little jitter so waiting processes do not all ask again at the same instant.
      await sleep(wait + Math.floor(Math.random() * 20), undefined, { signal });
    }
  }

  /** Makes every process wait `ms` before its next request (HubSpot answered 429). */
  async block(ms: number): Promise<void> {
    await this.redis.eval(BLOCK, 1, this.blockKey, Math.max(1, Math.ceil(ms)));
  }

  /** Milliseconds left of a block, 0 when none. */
  async blockedFor(): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.blockKey));
  }
}
