import { FlowProducer, type FlowJob } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { LoopwiseEvent } from '../events/types.ts';
import { defaultJobOptions, type CourseJob, type EnrollmentJob, type JobMeta } from './jobs.ts';
import { QUEUES } from './names.ts';
import { recordKey } from '../redis/keys.ts';

export type IntakeOutcome = 'accepted' | 'duplicate';

/** What the intake knows about an event it accepted. */
export interface AcceptedEvent {
  key: string;
  type: string;
  data: unknown;
  receivedAt: string;
  correlationId: string;
  queues: string[];
}

/** A delivery the receiver kept in quarantine (schema-invalid or otherwise refused). */
export interface QuarantinedDelivery {
  id: string;
  eventType: string;
  body: string;
  status: number;
  reason: string;
}

/**
 * Who is told what the intake did (the trace store). Accepted events are recorded on the intake's
 * own last round trip, so observing costs no extra one; the other calls never change an answer.
 */
export interface IntakeObserver {
  /** Resolves once `accepted` may be called; awaited before each write of accepted events. */
  ready(): Promise<void>;
  /** Adds the writes recording an accepted event to `batch` (the intake's last round trip). */
  accepted(batch: ChainableCommander, event: AcceptedEvent): void;
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

/**
 * Puts accepted events on the work queues. An enrollment becomes one `crm-contacts` and one
 * `email-welcome` job in a single MULTI/EXEC (both or neither); a course event one `crm-products`
 * job. Resolves only after Redis acknowledged the write. A delivery seen before (by its
 * idempotency key, remembered for DEDUPE_TTL_SECONDS) is reported as a duplicate and not enqueued.
 * The observer's record of the event (its trace) rides on the final round trip (the dedupe marker).
 */
export class EventIntake {
  /**
   * BullMQ defines its ~50 Lua scripts on the connection it uses, which makes every pipeline made on
   * that connection costly to build: jobs go through a connection of their own (opened on first
   * use), markers and traces through `redis`, kept free of them.
   */
  private flowHandle?: { connection: Redis; producer: FlowProducer };
  private pending: PendingEvent[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly config: Config,
    private readonly observer?: IntakeObserver,
  ) {
  }

  private flows(): FlowProducer {
    if (!this.flowHandle) {
      const connection = this.redis.duplicate();
      connection.on('error', () => undefined);
      const producer = new FlowProducer({ connection, prefix: this.config.redis.prefix });
      // Outages surface as a failed addBulk (503); the connection reconnects on its own.
      producer.on('error', () => undefined);
      this.flowHandle = { connection, producer };
    }
    return this.flowHandle.producer;
  }

  /**
   * Enqueues `event` under `key` unless it was delivered before. Calls made in the same turn of
   * the event loop (concurrent webhooks) share their Redis round trips: one EXISTS pipeline, one
   * MULTI holding every new event's jobs, one pipeline of markers and traces. Each event keeps its
   * own answer; a failed write fails every event of that batch (none is acknowledged).
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
    const prefix = this.config.redis.prefix;
    const seenKeys = batch.map((p) => recordKey(prefix, 'seen', p.key));
    const seen = this.redis.pipeline();
    for (const k of seenKeys) seen.exists(k);
    const exists = (await seen.exec()) ?? [];
    const outcomes: IntakeOutcome[] = batch.map(() => 'duplicate');
    // New events, once each: a key twice in one batch is a duplicate of its first delivery.
    const fresh = new Map<string, number>();
    batch.forEach((p, i) => {
      const [err, n] = exists[i] ?? [];
      if (err) throw err;
      if (n === 0 && !fresh.has(p.key)) fresh.set(p.key, i);
    });

    if (fresh.size) {
      const receivedAt = new Date().toISOString();
      const flows = [...fresh.values()].map((i) => ({ i, jobs: this.jobsOf(batch[i]!, receivedAt) }));
      // Same job ids make a concurrent or retried add of an event a no-op inside BullMQ.
      await this.flows().addBulk(flows.flatMap((f) => f.jobs));

      await this.observer?.ready();
      const marks = this.redis.pipeline();
      const markAt: number[] = [];
      for (const { i, jobs } of flows) {
        const p = batch[i]!;
        markAt.push(marks.length);
        marks.set(seenKeys[i]!, receivedAt, 'EX', this.config.webhook.dedupeTtlSeconds, 'NX');
        this.observer?.accepted(marks, { key: p.key, type: p.event.type, data: p.event.data, receivedAt, correlationId: p.correlationId, queues: jobs.map((j) => j.queueName) });
      }
      const results = (await marks.exec()) ?? [];
      flows.forEach(({ i }, n) => {
        const [err, first] = results[markAt[n]!] ?? [];
        if (err) throw err;
        outcomes[i] = first === 'OK' ? 'accepted' : 'duplicate';
      });
    }
    await Promise.all(batch.map((p, i) => (outcomes[i] === 'duplicate' ? this.duplicate(p.key, p.correlationId) : undefined)));
    return outcomes;
  }

  /** The jobs of one event: contacts + email for an enrollment, products for a course. */
  private jobsOf({ event, key, correlationId }: PendingEvent, receivedAt: string): FlowJob[] {
    const meta: JobMeta = { key, eventType: event.type, receivedAt, correlationId };
    const opts = { ...defaultJobOptions(this.config), jobId: key };
    return event.type === 'course.student_enroll'
      ? [QUEUES.contacts, QUEUES.email].map((queueName) => ({
          name: event.type,
          queueName,
          data: { ...meta, eventType: event.type, enrollment: event.data } satisfies EnrollmentJob,
          opts,
        }))
      : [{ name: event.type, queueName: QUEUES.products, data: { ...meta, course: event.data } as CourseJob, opts }];
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

  /** Forgets that `key` was delivered, so it can be accepted again (backfill, tests). */
  async forget(key: string): Promise<void> {
    await this.redis.del(recordKey(this.config.redis.prefix, 'seen', key));
  }

  async close(): Promise<void> {
    if (!this.flowHandle) return;
    await this.flowHandle.producer.close();
    await this.flowHandle.connection.quit().catch(() => this.flowHandle!.connection.disconnect());
  }
}
