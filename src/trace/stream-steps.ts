import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { isEventKey } from '../events/idempotency-key.ts';
import type { DeadLetter } from '../queues/dead-letter.ts';
import type { WorkQueueName } from '../queues/names.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { TraceCompactor } from './compactor.ts';
import type { TraceKeys } from './keys.ts';
import type { TraceStep } from './model.ts';
import { outcomeOf } from './outcome.ts';
import type { StepLog } from './step-log.ts';

/** The fields of a BullMQ queue event: the job's id and whatever the event carries. */
export type EventArgs = { jobId: string; [field: string]: unknown };

/** What a step reads of a job. */
interface JobTimes {
  processedOn?: number;
  finishedOn?: number;
  attemptsMade: number;
  failedReason?: string;
}

/** Milliseconds of an event-stream id ("1700000000000-0"). */
export function streamIdMs(id: string): number {
  return Number(id.split('-')[0]);
}

const iso = (ms: number) => new Date(ms).toISOString();

function duration(from: number | undefined, to: number | undefined): number | undefined {
  return from && to && to >= from ? to - from : undefined;
}

/**
 * What each BullMQ queue event becomes in an event's trace: an attempt completed, failed, delayed
 * (a retry, or a worker's own delay), dead-lettered or replayed. The tracer (tracer.ts) follows
 * the streams and hands each event here with the time its attempt started.
 */
export class StreamSteps {
  constructor(
    private readonly redis: Redis,
    private readonly queues: QueueSet,
    private readonly keys: TraceKeys,
    private readonly steps: StepLog,
    private readonly compactor: TraceCompactor,
  ) {}

  /**
   * The few job fields a step needs, without the job's data (one HMGET per event). `atm` is
   * BullMQ's hash field for attemptsMade (5 and 6 store it so; BullMQ reads it the same way). Undefined once removed.
   */
  private async job(queue: WorkQueueName, id: string): Promise<JobTimes | undefined> {
    const key = this.queues.work[queue].toKey(id);
    const [processedOn, finishedOn, atm, failedReason] = await this.redis.hmget(
      key,
      'processedOn',
      'finishedOn',
      'atm',
      'failedReason',
    );
    if (processedOn == null && atm == null && failedReason == null) return undefined;
    const num = (v: string | null | undefined) => (v === null || v === '' ? undefined : Number(v));
    return {
      processedOn: num(processedOn),
      finishedOn: num(finishedOn),
      attemptsMade: num(atm) ?? 0,
      failedReason: failedReason || undefined,
    };
  }

  // Jobs that are no event of their own (crm-contacts' welcome email status writes, SendGrid event
  // batches) have no trace: their results are counted for the overview, nothing more.

  async completed(queue: WorkQueueName, { jobId, returnvalue }: EventArgs, eventId: string, startedAt?: number) {
    if (!isEventKey(jobId)) return this.steps.count({ queue, field: 'completed' }, streamIdMs(eventId));
    const job = await this.job(queue, jobId);
    const at = streamIdMs(eventId);
    const durationMs = startedAt ? duration(startedAt, at) : duration(job?.processedOn, job?.finishedOn ?? at);
    const step: TraceStep = {
      at: iso(at),
      queue,
      ...outcomeOf(queue, returnvalue),
      attempt: job?.attemptsMade,
      durationMs,
    };
    await this.steps.append(jobId, step, `${queue}-${eventId}`, { queue, field: 'completed' });
    this.compactor.schedule(jobId);
  }

  async failed(queue: WorkQueueName, { jobId, failedReason }: EventArgs, eventId: string, startedAt?: number) {
    if (!isEventKey(jobId)) return this.steps.count({ queue, field: 'failed' }, streamIdMs(eventId));
    const job = await this.job(queue, jobId);
    const at = streamIdMs(eventId);
    const durationMs = startedAt ? duration(startedAt, at) : duration(job?.processedOn, job?.finishedOn ?? at);
    const step: TraceStep = {
      at: iso(at),
      queue,
      kind: 'failed',
      error: String(failedReason ?? ''),
      attempt: job?.attemptsMade,
      durationMs,
    };
    await this.steps.append(jobId, step, `${queue}-${eventId}`, { queue, field: 'failed' });
  }

  /**
   * A delay is a retry after a failed attempt when the attempt count went up (BullMQ counts the
   * attempt and keeps failedReason); a worker's own delay (a busy claim) leaves the count alone,
   * so "once per attempt" keeps it from posing as another failure.
   */
  async delayed(queue: WorkQueueName, { jobId, delay }: EventArgs, eventId: string, startedAt?: number) {
    const job = await this.job(queue, jobId);
    if (!job) return;
    const at = streamIdMs(eventId);
    const retryAt = Number(delay) > 0 ? iso(Number(delay)) : undefined;
    const attempt = job.attemptsMade;
    if (!isEventKey(jobId)) {
      if (attempt > 0 && job.failedReason) await this.steps.count({ queue, field: 'retried' }, at);
      return;
    }
    if (attempt > 0 && job.failedReason) {
      const step: TraceStep = {
        at: iso(at),
        queue,
        kind: 'retrying',
        attempt,
        error: job.failedReason,
        durationMs: duration(startedAt ?? job.processedOn, at),
        retryAt,
      };
      await this.steps.append(
        jobId,
        step,
        `${queue}-${eventId}`,
        { queue, field: 'retried' },
        `retry:${queue}:${attempt}`,
      );
    } else {
      await this.steps.append(
        jobId,
        { at: iso(at), queue, kind: 'delayed', retryAt },
        `${queue}-${eventId}`,
        undefined,
        `delay:${queue}:${attempt}`,
      );
    }
  }

  async deadLettered(queue: WorkQueueName, { jobId }: EventArgs, eventId: string) {
    if (!isEventKey(jobId)) return;
    const letter = (await this.queues.deadLetter[queue].getJob(jobId)) as Job<DeadLetter> | undefined;
    const step: TraceStep = {
      at: iso(streamIdMs(eventId)),
      queue,
      kind: 'dead-lettered',
      errors: letter?.data.errors,
      attempt: letter?.data.attemptsMade,
      unrecoverable: letter?.data.unrecoverable,
    };
    await this.steps.append(jobId, step, `${queue}-dlq-${eventId}`);
    await this.redis.hset(this.keys.trace(jobId), `p:${queue}`, '1');
  }

  /** A job added to a work queue after its dead letter was recorded is a replay. */
  async added(queue: WorkQueueName, { jobId }: EventArgs, eventId: string) {
    if (!isEventKey(jobId)) return;
    if ((await this.redis.hdel(this.keys.trace(jobId), `p:${queue}`)) !== 1) return;
    await this.steps.append(jobId, { at: iso(streamIdMs(eventId)), queue, kind: 'replayed' }, `${queue}-${eventId}`);
  }
}
