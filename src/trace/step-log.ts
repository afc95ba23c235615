import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { bucketOf, expiresAt, StatsKeys } from '../stats/keys.ts';
import type { TraceKeys } from './keys.ts';
import { maskStepTexts, type TraceStep } from './model.ts';

// Writes a step once: HSETNX on its field makes a second writer (another worker process's tracer,
// or a re-read of the same event stream entry) a no-op, and only the first writer counts it.
// ARGV[7], when given, is a marker field: the step is written only by the first call carrying it.
const APPEND_STEP = `
if ARGV[7] ~= '' and redis.call('HSETNX', KEYS[1], ARGV[7], '1') == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
  redis.call('EXPIREAT', KEYS[2], ARGV[5])
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
  redis.call('EXPIREAT', KEYS[3], ARGV[6])
end
return 1`;

type WithAppend = Redis & {
  csAppendTraceStep(k1: string, k2: string, k3: string, ...args: (string | number)[]): Promise<number>;
};

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
  private readonly redis: WithAppend;
  private readonly stats: StatsKeys;

  constructor(
    redis: Redis,
    private readonly keys: TraceKeys,
    private readonly retentionSeconds: number,
  ) {
    this.stats = new StatsKeys(keys.prefix);
    if (!('csAppendTraceStep' in redis)) redis.defineCommand('csAppendTraceStep', { numberOfKeys: 3, lua: APPEND_STEP });
    this.redis = redis as WithAppend;
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
    const added = await this.redis.csAppendTraceStep(
      trace, b?.minute ?? trace, b?.quarter ?? trace,
      stepField(at, unique), JSON.stringify(maskStepTexts(step)), this.retentionSeconds,
      counter?.field ?? '', b?.minuteExpires ?? '', b?.quarterExpires ?? '', once ? `o:${once}` : '',
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
    await this.redis.multi().hincrby(b.minute, counter.field, 1).expireat(b.minute, b.minuteExpires).hincrby(b.quarter, counter.field, 1).expireat(b.quarter, b.quarterExpires).exec();
  }

  /** Appends a step that has no event-stream id of its own (receiver decisions). */
  async appendNow(key: string, step: Omit<TraceStep, 'at'>): Promise<void> {
    await this.append(key, { at: new Date().toISOString(), ...step }, `r${randomBytes(4).toString('hex')}`);
  }
}
