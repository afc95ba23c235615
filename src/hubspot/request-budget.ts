import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { luaScript } from '../redis/scripts.ts';

// The budget's scripts (scripts/*.lua name each argument). Each reads the time first: `clockMs`
// when the budget has a clock of its own (tests), else ('') Redis' own TIME, so that every process
// shares one clock.
type Clock = number | '';
const TAKE = luaScript<
  [
    windowKey: string,
    blockKey: string,
    tatKey: string,
    clockMs: Clock,
    max: number,
    windowMs: number,
    member: string,
    spacingMs: number,
    toleranceMs: number,
  ],
  number
>(import.meta.url, 'scripts/take-request.lua', 3);
const BLOCK = luaScript<[blockKey: string, clockMs: Clock, blockMs: number], 0>(
  import.meta.url,
  'scripts/block-requests.lua',
  1,
);
const BLOCKED = luaScript<[blockKey: string, clockMs: Clock], number>(import.meta.url, 'scripts/blocked-for.lua', 1);

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
    if (!Number.isInteger(opts.max) || opts.max < 1)
      throw new Error('RequestBudget max must be a whole number of at least 1');
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
    return Number(
      await TAKE.run(
        this.redis,
        this.windowKey,
        this.blockKey,
        this.tatKey,
        this.now(),
        this.opts.max,
        this.windowMs,
        member,
        this.spacingMs,
        this.toleranceMs,
      ),
    );
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
    await BLOCK.run(this.redis, this.blockKey, this.now(), Math.max(1, Math.ceil(ms)));
  }

  /** Lifts a block at once (the daily limit was lifted before its reset). */
  async unblock(): Promise<void> {
    await this.redis.del(this.blockKey);
  }

  /** Milliseconds left of a block, 0 when none. */
  async blockedFor(): Promise<number> {
    return Number(await BLOCKED.run(this.redis, this.blockKey, this.now()));
  }

  /** The injected clock's time, or '' for the scripts to read Redis' own. */
  private now(): Clock {
    return this.opts.clock?.now() ?? '';
  }
}
