import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { LoopwiseEvent } from '../events/types.ts';
import { KEYS_PER_QUEUE, bullmqJobKeyPrefix, bullmqQueueKeys } from './bullmq-add.ts';
import { jobAttemptOptions, type CourseJob, type EnrollmentJob } from './jobs.ts';
import { ENROLLMENT_QUEUES, EVENT_QUEUES, QUEUES, type WorkQueueName } from './names.ts';
import { enrollmentFields, pendingFlag, pendingKey } from './pending-events.ts';
import { writeArgs, type AcceptedEvent, type RecordWrite } from './record-write.ts';
import { luaScript, type ScriptArg } from '../redis/scripts.ts';

export type { AcceptedEvent, RecordWrite } from './record-write.ts';

export type IntakeOutcome = 'accepted' | 'duplicate';

/** A delivery the receiver kept in quarantine (schema-invalid or otherwise refused). */
export interface QuarantinedDelivery {
  id: string;
  eventType: string;
  body: string;
  status: number;
  reason: string;
}

/**
 * Who is told what the intake did (the trace store). The records of accepted events are written in
 * the intake's own script, so observing costs no extra round trip; the other calls never change an answer.
 */
export interface IntakeObserver {
  /** Resolves once `accepted` may be called; awaited before each write of accepted events. */
  ready(): Promise<void>;
  /** The records to write with `event` if it is accepted (its index entries; nothing for a duplicate). */
  accepted(event: AcceptedEvent): RecordWrite[];
  /**
   * The event's own record (its trace header): written with the event, or — for an enrollment, whose
   * data waits in its pending record — when its last job is done (see pending-events.ts).
   */
  finalRecord(event: AcceptedEvent): RecordWrite;
  /** A redelivery of `key` was answered as a duplicate. */
  duplicate(key: string, correlationId: string): Promise<void>;
  /** A refused delivery was kept in quarantine. */
  quarantined(entry: QuarantinedDelivery): Promise<void>;
}

interface PendingEvent {
  event: LoopwiseEvent;
  key: string;
  correlationId: string;
  resolve(outcome: IntakeOutcome): void;
  reject(err: unknown): void;
}

/** The queues an event goes to, in the order of the script's queue table. */
const SCRIPT_QUEUES = EVENT_QUEUES;
const QUEUE_INDEX = new Map(SCRIPT_QUEUES.map((q, i) => [q, i + 1]));

// The intake's script; scripts/intake.lua names its arguments: BullMQ's keys of each queue of
// SCRIPT_QUEUES (bullmq-add.ts), then `head` (the dedupe and pending lifetimes, the queue table),
// then one group per event (`write`).
const INTAKE = luaScript<ScriptArg[], number[]>(
  import.meta.url,
  'scripts/intake.lua',
  SCRIPT_QUEUES.length * KEYS_PER_QUEUE,
);

/**
 * Puts accepted events on the work queues. An enrollment becomes one `crm-contacts` and one
 * `email-welcome` job, which share its data, kept once in its pending record (pending-events.ts); a
 * course event one `crm-products` job holding its course. A delivery seen before (by its
 * idempotency key, remembered for DEDUPE_TTL_SECONDS) is a duplicate and enqueues nothing.
 * Resolves only after Redis acknowledged the write. Each call of the intake's script is atomic:
 * the dedupe record, the jobs and the observer's records (the trace) of an event are all written
 * or none are.
 */
export class EventIntake {
  private pending: PendingEvent[] = [];
  private readonly keys: string[];
  private readonly head: string[];

  constructor(
    private readonly redis: Redis,
    private readonly config: Config,
    private readonly observer?: IntakeObserver,
  ) {
    const prefix = config.redis.prefix;
    this.keys = SCRIPT_QUEUES.flatMap((q) => bullmqQueueKeys(prefix, q));
    // Retention is the workers' (removeOnComplete / removeOnFail): the job keeps only what differs per job.
    const opts = JSON.stringify(jobAttemptOptions(config));
    // An enrollment's data waits for its jobs at most PII_RETENTION_DAYS, and never less than the dedupe window.
    const pendingTtl = Math.max(config.webhook.dedupeTtlSeconds, config.privacy.retentionDays * 86_400);
    this.head = [
      String(config.webhook.dedupeTtlSeconds),
      pendingKey(prefix, ''),
      String(pendingTtl),
      ...SCRIPT_QUEUES.flatMap((q) => [bullmqJobKeyPrefix(prefix, q), opts, pendingFlag(q)]),
    ];
  }

  /**
   * Enqueues `event` under `key` unless it was delivered before. Calls made in the same turn of
   * the event loop (concurrent webhooks) share one call of the script. Each event keeps its own
   * answer; a failed call fails every event of it (none is acknowledged).
   */
  accept(event: LoopwiseEvent, key: string, correlationId: string): Promise<IntakeOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event, key, correlationId, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending.splice(0, this.pending.length);
    try {
      const outcomes = await this.write(batch);
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  private async write(batch: PendingEvent[]): Promise<IntakeOutcome[]> {
    await this.observer?.ready();
    const now = Date.now();
    const receivedAt = new Date(now).toISOString();
    const args: (string | number)[] = [...this.keys, ...this.head];
    for (const p of batch) {
      const { queues, data, held } = this.jobsOf(p, receivedAt);
      args.push(
        p.key,
        p.event.type,
        now,
        data,
        queues.length,
        ...queues.map((q) => QUEUE_INDEX.get(q)!),
        held.length ? JSON.stringify(held) : '',
      );
      const event: AcceptedEvent = {
        key: p.key,
        type: p.event.type,
        data: p.event.data,
        receivedAt,
        correlationId: p.correlationId,
        queues,
      };
      const writes = this.observer
        ? [...this.observer.accepted(event), ...(held.length ? [] : [this.observer.finalRecord(event)])]
        : [];
      args.push(writeArgs(writes));
    }
    const accepted = await INTAKE.run(this.redis, ...args);
    const outcomes = batch.map((_, i): IntakeOutcome => (accepted[i] === 1 ? 'accepted' : 'duplicate'));
    await Promise.all(
      batch.filter((_, i) => outcomes[i] === 'duplicate').map((p) => this.duplicate(p.key, p.correlationId)),
    );
    return outcomes;
  }

  /**
   * The queues of one event's jobs, their data (JSON) and the fields of its pending record: for an
   * enrollment, contacts + email jobs holding the correlation id, the enrollment in the pending record
   * (the job's own id, name and timestamp say its key, type and arrival); for a course, a products
   * job holding the course, and a plain dedupe marker.
   */
  private jobsOf(
    { event, key, correlationId }: PendingEvent,
    receivedAt: string,
  ): { queues: WorkQueueName[]; data: string; held: string[] } {
    if (event.type === 'course.student_enroll') {
      const queues = ENROLLMENT_QUEUES;
      const data: EnrollmentJob = { correlationId };
      const held = [['c', correlationId], ...enrollmentFields(event.data)].flat();
      return { queues, data: JSON.stringify(data), held };
    }
    const course: CourseJob = { key, eventType: event.type, receivedAt, correlationId, course: event.data };
    return { queues: [QUEUES.products], data: JSON.stringify(course), held: [] };
  }

  /** Notes a duplicate delivery in the event's trace; a failure to note it does not change the answer. */
  private async duplicate(key: string, correlationId: string): Promise<IntakeOutcome> {
    await this.observer?.duplicate(key, correlationId).catch(() => undefined);
    return 'duplicate';
  }

  /** Records a delivery kept in quarantine in the trace store, so a search finds it; never throws. */
  async noteQuarantined(entry: QuarantinedDelivery): Promise<void> {
    await this.observer?.quarantined(entry).catch(() => undefined);
  }
}
