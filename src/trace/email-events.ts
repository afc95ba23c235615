import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { enrollmentKey } from '../events/idempotency-key.ts';
import type { EmailEventsObserver, ObservedEmailEvent } from '../workers/deps.ts';
import { EMAIL_SCOPE } from '../stats/keys.ts';
import { TraceKeys } from './keys.ts';
import { StepLog } from './step-log.ts';
import { TraceCompactor } from './compactor.ts';
import type { TraceStep } from './model.ts';
import type { Logger } from '../log.ts';

/**
 * Shows SendGrid's events: each one a step of its enrollment's trace (written once, by its
 * sg_event_id) and a count of its type in the `email` stats, in the same Lua call. A trace packed
 * already is packed again with its new steps, TRACE_COMPACT_AFTER_SECONDS after the last one.
 */
export class TraceEmailEvents implements EmailEventsObserver {
  private readonly steps: StepLog;
  private readonly compactor: TraceCompactor;

  constructor(redis: Redis, config: Pick<Config, 'redis' | 'trace'>, log: Logger) {
    const keys = new TraceKeys(config.redis.prefix);
    this.steps = new StepLog(redis, keys, config.trace.retentionDays * 86_400);
    // A SendGrid event read twice is dropped by its sg_event_id before it gets here: no cursor to save first.
    this.compactor = new TraceCompactor(redis, keys, config.trace.compactAfterSeconds * 1000, log, {
      callRetentionMs: config.trace.callRetentionDays * 86_400_000,
      traceRetentionMs: config.trace.retentionDays * 86_400_000,
    });
  }

  async observed(events: ObservedEmailEvent[]): Promise<void> {
    await Promise.all(
      events.map(async (e) => {
        const key = enrollmentKey(e.enrollmentId);
        const step: TraceStep = {
          at: new Date(e.at).toISOString(),
          kind: 'email',
          queue: 'email-events',
          event: e.event,
          emailStatus: e.status,
          reason: e.reason,
        };
        if (await this.steps.append(key, step, `sg${e.id}`, { queue: EMAIL_SCOPE, field: e.event }))
          this.compactor.schedule(key);
      }),
    );
  }

  /** Packs trace `key` (and its call details) again TRACE_COMPACT_AFTER_SECONDS from now: something was written to it after its jobs were done. */
  schedule(key: string): void {
    this.compactor.schedule(key);
  }

  /** Stops packing (traces still waiting stay as they are). */
  close(): Promise<void> {
    return this.compactor.close();
  }
}
