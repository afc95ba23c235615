import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { enrollmentKey } from '../events/idempotency-key.ts';
import type { EmailEventsObserver, ObservedEmailEvent } from '../workers/deps.ts';
import { EMAIL_SCOPE } from '../stats/keys.ts';
import { TraceKeys } from './keys.ts';
import { StepLog } from './step-log.ts';


/**
 * Shows SendGrid's events: each one a step of its enrollment's trace (written once, by its
 * sg_event_id) and a count of its type in the `email` stats, in the same Lua call.
 */
export class TraceEmailEvents implements EmailEventsObserver {
  private readonly steps: StepLog;

  constructor(redis: Redis, config: Pick<Config, 'redis' | 'trace'>) {
    this.steps = new StepLog(redis, new TraceKeys(config.redis.prefix), config.trace.retentionDays * 86_400);
  }

  async observed(events: ObservedEmailEvent[]): Promise<void> {
    await Promise.all(
      events.map((e) =>
        this.steps.append(
          enrollmentKey(e.enrollmentId),
          { at: new Date(e.at).toISOString(), kind: 'email', queue: 'email-events', event: e.event, emailStatus: e.status, reason: e.reason },
          `sg${e.id}`,
          { queue: EMAIL_SCOPE, field: e.event },
        ),
      ),
    );
  }
}
