import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { luaScript } from '../redis/scripts.ts';
import { bucketOf, expiresAt, StatsKeys } from '../stats/keys.ts';
import type { TraceKeys } from './keys.ts';
import { maskStepTexts, type TraceStep } from './model.ts';

// Writes a step once, and bumps its counter only then (scripts/append-step.lua names each argument).
const APPEND_STEP = luaScript<
  [
    traceKey: string,
    minuteCounterKey: string,
    quarterCounterKey: string,
    stepField: string,
    stepJson: string,
    ttlSeconds: number,
    counterField: string,
    minuteExpiresAt: number | '',
    quarterExpiresAt: number | '',
    onceField: string,
  ],
  0 | 1
>(import.meta.url, 'scripts/append-step.lua', 3);

/** A job counter a step bumps: `field` (completed, retried, failed) of `queue`'s minute and quarter-hour buckets. */
export interface StepCounter {
  /** A work queue, or `email` for SendGrid's events. */
  queue: string;
  /** completed, retried, failed — or the SendGrid event's type. */
  field: string;
}

/** The hash field of a step: sortable by time, unique per source event. */
function stepField(atMs: number, unique: string): string {
  return `s:${String(atMs).padStart(13, '0')}-${unique}`;
}

/** Appends steps to traces, each exactly once however many processes see the same event. */
export class StepLog {
  private readonly stats: StatsKeys;

  constructor(
    private readonly redis: Redis,
    private readonly keys: TraceKeys,
    private readonly retentionSeconds: number,
  ) {
    this.stats = new StatsKeys(keys.prefix);
  }

  /**
   * Stores `step` of trace `key` under a field made of its time and `unique` (an event-stream id)
   * unless already there, and unless `once` (a marker such as "retry of attempt 2 in crm-contacts")
   * was seen before; bumps `counter` only then. Resolves true when the step is new. Its texts (an
   * API's error, a bounce reason) are stored with addresses and phone numbers masked.
   */
  async append(key: string, step: TraceStep, unique: string, counter?: StepCounter, once?: string): Promise<boolean> {
    const at = Date.parse(step.at);
    const b = counter ? this.buckets(counter.queue, at) : undefined;
    const trace = this.keys.trace(key);
    const added = await APPEND_STEP.run(
      this.redis,
      trace,
      b?.minute ?? trace,
      b?.quarter ?? trace,
      stepField(at, unique),
      JSON.stringify(maskStepTexts(step)),
      this.retentionSeconds,
      counter?.field ?? '',
      b?.minuteExpires ?? '',
      b?.quarterExpires ?? '',
      once ? `o:${once}` : '',
    );
    return added === 1;
  }

  /** The minute and quarter-hour counter keys of `queue` at `atMs`, and when each expires. */
  private buckets(queue: string, atMs: number) {
    const minute = bucketOf(atMs, 'm');
    const quarter = bucketOf(atMs, 'q');
    return {
      minute: this.stats.queue(queue, 'm', minute),
      quarter: this.stats.queue(queue, 'q', quarter),
      minuteExpires: expiresAt(minute, 'm'),
      quarterExpires: expiresAt(quarter, 'q'),
    };
  }

  /**
   * Bumps `counter` alone, for a job that has no trace of its own (a welcome email status write, a
   * SendGrid event batch). Unlike `append` it cannot tell a re-read event: a tracer taking over may
   * count again the few seconds of events after the last saved cursor.
   */
  async count(counter: StepCounter, atMs: number): Promise<void> {
    const b = this.buckets(counter.queue, atMs);
    await this.redis
      .multi()
      .hincrby(b.minute, counter.field, 1)
      .expireat(b.minute, b.minuteExpires)
      .hincrby(b.quarter, counter.field, 1)
      .expireat(b.quarter, b.quarterExpires)
      .exec();
  }

  /** Appends a step that has no event-stream id of its own (receiver decisions). */
  async appendNow(key: string, step: Omit<TraceStep, 'at'>): Promise<void> {
    await this.append(key, { at: new Date().toISOString(), ...step }, `r${randomBytes(4).toString('hex')}`);
  }
}
