import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';

// Every script starts by reading the time: ARGV[1] when the budget has a clock of its own (tests),
// else Redis' own TIME, so that every process shares one clock. Key TTLs only collect garbage.
const NOW = `
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
`;

/**
 * Takes one request. Two rules must both allow it: requests are spaced ARGV[5] ms apart (GCRA;
 * a request may go up to ARGV[6] ms early, which gives back time lost to timer and network
 * lateness), so they flow evenly instead of in bursts that a rolling window would repeat window
 * after window; and a rolling window of ARGV[2] requests per ARGV[3] ms is never exceeded.
 * KEYS[1] window (sorted set), KEYS[2] block marker (until when, set after a 429), KEYS[3]
 * theoretical arrival time. ARGV[4] member. Returns 0 when granted, else the milliseconds to wait.
 */
const TAKE = `${NOW}
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0') - now
if blocked > 0 then return math.max(1, math.ceil(blocked)) end
local window = tonumber(ARGV[3])
local spacing = tonumber(ARGV[5])
local tat = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), now)
local wait = tat - now - tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + window - now)
end
if wait > 0 then return math.max(1, math.ceil(wait)) end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
redis.call('SET', KEYS[3], string.format('%.3f', tat + spacing), 'PX', window)
return 0
`;

/** Blocks until now + ARGV[2] ms unless a longer block is already in place. KEYS[1] marker. */
const BLOCK = `${NOW}
local untilMs = now + tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[1]) or '0') < untilMs then
  redis.call('SET', KEYS[1], string.format('%.3f', untilMs), 'PX', ARGV[2])
end
return 0
`;

/** Milliseconds left of the block at KEYS[1], 0 when none. */
const BLOCKED = `${NOW}
return math.max(0, math.ceil(tonumber(redis.call('GET', KEYS[1]) or '0') - now))
`;

/** The budget is blocked for longer than the caller would wait (see `acquire`). */
export class BudgetBlockedError extends Error {
  constructor(readonly waitMs: number) {
    super(`HubSpot request budget blocked for ${Math.ceil(waitMs / 1000)} s`);
    this.name = 'BudgetBlockedError';
  }
}

/**
 * The time a budget goes by. Without one it uses Redis' clock (shared by every process) and real
 * timers; a test passes its own so that it moves time itself instead of racing the wall clock.
 */
export interface BudgetClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves once `ms` of this clock have passed; rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

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
  /** Default: Redis' own clock and real timers (see BudgetClock). */
  clock?: BudgetClock;
}

/**
 * The HubSpot request budget shared by every worker process (contacts and products): `max`
 * requests per `intervalMs`, evenly spaced, kept in Redis under the queue prefix. Call `acquire()`
 * before each HubSpot request (one batch call = one request); after a 429, `block(ms)` makes every
 * process wait that long. Use it through `hubSpotCall()` (call.ts), which also records metrics.
 */
export class RequestBudget {
  private readonly windowKey: string;
  private readonly blockKey: string;
  private readonly tatKey: string;
  private readonly windowMs: number;
  private readonly spacingMs: number;
  private readonly toleranceMs: number;
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
    this.tatKey = recordKey(prefix, 'hubspot', 'budget-tat');
    const intervalMs = opts.intervalMs ?? 10_000;
    this.windowMs = intervalMs + (opts.marginMs ?? 250);
    this.spacingMs = this.windowMs / opts.max;
    // Small enough that `max` requests still span more than `intervalMs`.
    this.toleranceMs = Math.min(25, this.spacingMs / 4, (opts.marginMs ?? 250) / 2);
  }

  /** Takes a request if the window has room: 0, else how many ms to wait before asking again. */
  async tryAcquire(): Promise<number> {
    const member = `${this.member}:${++this.seq}`;
    return Number(await this.redis.eval(TAKE, 3, this.windowKey, this.blockKey, this.tatKey, this.now(), this.opts.max, this.windowMs, member, this.spacingMs, this.toleranceMs));
  }

  /**
   * Waits until a request may be sent (or `signal` aborts, which rejects). With `maxWaitMs`, a wait
   * longer than that (a block, such as the daily limit's) throws a BudgetBlockedError instead, so
   * the caller can give its jobs back rather than hold them for hours.
   */
  async acquire(signal?: AbortSignal, maxWaitMs?: number): Promise<void> {
    for (;;) {
      const wait = await this.tryAcquire();
      if (wait === 0) return;
      if (maxWaitMs !== undefined && wait > maxWaitMs) throw new BudgetBlockedError(wait);
      // Ask again the moment a slot frees (plus a hair of jitter): a rolling window repeats each
      // request's lateness one window later, so sleeping longer would lose throughput for good.
      const ms = wait + Math.floor(Math.random() * 3);
      await (this.opts.clock ? this.opts.clock.sleep(ms, signal) : sleep(ms, undefined, { signal }));
    }
  }

  /** Makes every process wait `ms` before its next request (HubSpot answered 429). */
  async block(ms: number): Promise<void> {
    await this.redis.eval(BLOCK, 1, this.blockKey, this.now(), Math.max(1, Math.ceil(ms)));
  }

  /** Lifts a block at once (the daily limit was lifted before its reset). */
  async unblock(): Promise<void> {
    await this.redis.del(this.blockKey);
  }

  /** Milliseconds left of a block, 0 when none. */
  async blockedFor(): Promise<number> {
    return Number(await this.redis.eval(BLOCKED, 1, this.blockKey, this.now()));
  }

  /** The injected clock's time, or '' for the scripts to read Redis' own. */
  private now(): number | string {
    return this.opts.clock?.now() ?? '';
  }
}
