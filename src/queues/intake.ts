import { FlowProducer, type FlowJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { LoopwiseEvent } from '../events/types.ts';
import { TraceWriter, type QuarantinedDelivery } from '../ops/trace/writer.ts';
import { defaultJobOptions, type CourseJob, type EnrollmentJob, type JobMeta } from './jobs.ts';
import { QUEUES, recordKey } from './names.ts';

export type IntakeOutcome = 'accepted' | 'duplicate';

/**
 * Puts accepted events on the work queues. An enrollment becomes one `crm-contacts` and one
 * `email-welcome` job in a single MULTI/EXEC (both or neither); a course event one `crm-products`
 * job. Resolves only after Redis acknowledged the write. A delivery seen before (by its
 * idempotency key, remembered for DEDUPE_TTL_SECONDS) is reported as a duplicate and not enqueued.
 * The event's trace record rides on the final round trip (the dedupe marker), so tracing costs no extra one.
 */
export class EventIntake {
  /**
   * BullMQ defines its ~50 Lua scripts on the connection it uses, which makes every pipeline made on
   * that connection costly to build: jobs go through a connection of their own (opened on first
   * use), markers and traces through `redis`, kept free of them.
   */
  private flowHandle?: { connection: Redis; producer: FlowProducer };

  constructor(
    private readonly redis: Redis,
    private readonly config: Config,
    private readonly trace: TraceWriter | undefined = new TraceWriter(redis, config),
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

  /** Enqueues `event` under `key` unless it was delivered before. */
  async accept(event: LoopwiseEvent, key: string, correlationId: string): Promise<IntakeOutcome> {
    const seenKey = recordKey(this.config.redis.prefix, 'seen', key);
    if (await this.redis.exists(seenKey)) return this.duplicate(key, correlationId);

    const meta: JobMeta = { key, eventType: event.type, receivedAt: new Date().toISOString(), correlationId };
    const opts = { ...defaultJobOptions(this.config), jobId: key };
    const flows: FlowJob[] =
      event.type === 'course.student_enroll'
        ? [QUEUES.contacts, QUEUES.email].map((queueName) => ({
            name: event.type,
            queueName,
            data: { ...meta, eventType: event.type, enrollment: event.data } satisfies EnrollmentJob,
            opts,
          }))
        : [{ name: event.type, queueName: QUEUES.products, data: { ...meta, course: event.data } as CourseJob, opts }];
    // Same job ids make a concurrent or retried add of this event a no-op inside BullMQ.
    await this.flows().addBulk(flows);

    await this.trace?.ready();
    const batch = this.redis.pipeline().set(seenKey, new Date().toISOString(), 'EX', this.config.webhook.dedupeTtlSeconds, 'NX');
    const queues = flows.map((f) => f.queueName);
    this.trace?.addAccepted(batch, { key, type: event.type, data: event.data, receivedAt: meta.receivedAt, correlationId, queues });
    const [[err, first] = []] = (await batch.exec()) ?? [];
    if (err) throw err;
    return first === 'OK' ? 'accepted' : this.duplicate(key, correlationId);
  }

  /** Notes a duplicate delivery in the event's trace; a failure to note it does not change the answer. */
  private async duplicate(key: string, correlationId: string): Promise<IntakeOutcome> {
    await this.trace?.duplicate(key, correlationId).catch(() => undefined);
    return 'duplicate';
  }

  /** Records a delivery kept in quarantine in the trace store, so a search finds it; never throws. */
  async noteQuarantined(entry: QuarantinedDelivery): Promise<void> {
    await this.trace?.quarantined(entry).catch(() => undefined);
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
