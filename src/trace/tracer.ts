import { QueueEvents, QueueKeys, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { DeadLetter } from '../queues/dead-letter.ts';
import { EVENT_QUEUES, WORK_QUEUES, type WorkQueueName } from '../queues/names.ts';
import type { QueueSet } from '../queues/registry.ts';
import { TraceKeys } from './keys.ts';
import type { TraceStep } from './model.ts';
import { outcomeOf } from './outcome.ts';
import { StepLog } from './step-log.ts';
import { TraceCompactor } from './compactor.ts';
import { isEventKey } from '../events/idempotency-key.ts';
import { recordKey } from '../redis/keys.ts';
import { leaseToken, RedisLock, type Lease } from '../redis/lock.ts';

export interface TracerDeps {
  config: Config;
  log: Logger;
  /** A fresh connection per event stream (XREAD BLOCK holds it). */
  connect(): Redis;
  /** Connection for the trace writes. */
  redis: Redis;
  queues: QueueSet;
}

type EventArgs = { jobId: string; [field: string]: unknown };

const CURSOR_FLUSH_MS = 5_000;
/** One worker process traces at a time; another takes over within the lease time when it stops. */
const LEASE_TTL_MS = 15_000;
const LEASE_RENEW_MS = 5_000;

/** What the tracer reads of a job. */
interface JobTimes {
  processedOn?: number;
  finishedOn?: number;
  attemptsMade: number;
  failedReason?: string;
}

/** Milliseconds of an event-stream id ("1700000000000-0"). */
function streamIdMs(id: string): number {
  return Number(id.split('-')[0]);
}

const iso = (ms: number) => new Date(ms).toISOString();

function duration(from: number | undefined, to: number | undefined): number | undefined {
  return from && to && to >= from ? to - from : undefined;
}

/**
 * The worker side of the trace: follows the BullMQ event streams of every work queue (completed
 * with its return value, failed, delayed for a retry) and every dead-letter queue (added), and
 * appends one step per event to the event's trace — without touching the workers. One worker
 * process traces at a time (a lease in Redis); the next one resumes from the saved cursor of each
 * stream. Steps are keyed by the stream id, so an event read twice (a takeover) is written and
 * counted once.
 */
export class Tracer {
  private readonly keys: TraceKeys;
  private readonly steps: StepLog;
  private readonly streams: QueueEvents[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly cursors = new Map<string, string>();
  /**
   * When each job's attempt in hand became active (stream time), by `queue:jobId`. Taken as the
   * events are read, in order, so a step written late still gets its own attempt's duration
   * (the job's processedOn may already be the next attempt's).
   */
  private readonly started = new Map<string, number>();
  private flushTimer?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private closing = false;
  private readonly lease: Lease;
  private readonly locks: RedisLock;
  private readonly compactor: TraceCompactor;

  constructor(private readonly deps: TracerDeps) {
    this.keys = new TraceKeys(deps.config.redis.prefix);
    this.steps = new StepLog(deps.redis, this.keys, deps.config.trace.retentionDays * 86_400);
    this.locks = new RedisLock(deps.redis);
    this.lease = { key: recordKey(deps.config.redis.prefix, 'tracer-lease'), token: leaseToken() };
    // Cursors saved before each packing round: a takeover never reads a packed step's event again.
    this.compactor = new TraceCompactor(deps.redis, this.keys, deps.config.trace.compactAfterSeconds * 1000, deps.log, { beforeRound: () => this.flushCursors(), callRetentionMs: deps.config.trace.callRetentionDays * 86_400_000, traceRetentionMs: deps.config.trace.retentionDays * 86_400_000 });
  }

  /** Takes part in the tracer lease; resolves once this process follows the streams or knows another does. */
  async start(): Promise<void> {
    await this.tick();
    this.leaseTimer = setInterval(() => void this.tick(), LEASE_RENEW_MS);
    this.leaseTimer.unref();
  }

  /** True while this process is the one following the event streams. */
  get leading(): boolean {
    return this.streams.length > 0;
  }

  /** Renews or takes the lease and opens or closes the streams to match; never overlaps itself. */
  private tick(): Promise<void> {
    return (this.ticking ??= (async () => {
      try {
        const held = await this.locks.hold(this.lease, LEASE_TTL_MS);
        if (held && !this.leading && !this.closing) await this.openStreams();
        if (!held && this.leading) await this.closeStreams();
      } catch (err) {
        // Redis away: keep what we do; the streams reconnect on their own and the lease sorts it out later.
        this.deps.log.debug({ err: (err as Error).message }, 'tracer: lease not renewed');
      } finally {
        this.ticking = undefined;
      }
    })());
  }

  private async openStreams(): Promise<void> {
    const { queues } = this.deps;
    // Every work queue's results are counted; only events' dead letters are traced (an email-events
    // batch is no event of its own), so the other dead-letter streams are not followed.
    const names = [...WORK_QUEUES.map((q) => queues.work[q].name), ...EVENT_QUEUES.map((q) => queues.deadLetter[q].name)];
    const saved = await this.startingPoints(names);
    for (const queue of WORK_QUEUES) {
      const work = this.follow(queues.work[queue].name, saved[names.indexOf(queues.work[queue].name)]);
      work.on('active', (a, id) => void this.started.set(`${queue}:${(a as EventArgs).jobId}`, streamIdMs(id)));
      work.on('completed', (a, id) => this.ended(work.name, queue, a as EventArgs, id, (...s) => this.completed(...s)));
      work.on('failed', (a, id) => this.ended(work.name, queue, a as EventArgs, id, (...s) => this.failed(...s)));
      work.on('delayed', (a, id) => this.ended(work.name, queue, a as EventArgs, id, (...s) => this.delayed(...s)));
      work.on('added', (a, id) => this.track(work.name, id, () => this.added(queue, a, id)));
      if (!EVENT_QUEUES.includes(queue)) continue;
      const dlq = this.follow(queues.deadLetter[queue].name, saved[names.indexOf(queues.deadLetter[queue].name)]);
      dlq.on('added', (a, id) => this.track(dlq.name, id, () => this.deadLettered(queue, a, id)));
    }
    await Promise.all(this.streams.map((s) => s.waitUntilReady()));
    this.flushTimer = setInterval(() => void this.flushCursors(), CURSOR_FLUSH_MS);
    this.flushTimer.unref();
    this.deps.log.info({ holder: this.lease.token }, 'tracer: following the queue event streams');
  }

  /**
   * Where each stream is read from: the cursor the last follower saved, or else the stream's
   * newest entry now (none: its beginning). Not '$': QueueEvents reads '$' only once its first
   * XREAD blocks, and what a worker logs before then (a takeover's first dead letter) was lost.
   */
  private async startingPoints(names: string[]): Promise<string[]> {
    const saved = await this.deps.redis.mget(...names.map((n) => this.keys.cursor(n)));
    const events = new QueueKeys(this.deps.config.redis.prefix);
    return Promise.all(
      names.map(async (name, i) => saved[i] ?? (await this.deps.redis.xrevrange(events.toKey(name, 'events'), '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0'),
    );
  }

  private async closeStreams(): Promise<void> {
    clearInterval(this.flushTimer);
    const streams = this.streams.splice(0);
    await Promise.all(streams.map((s) => s.close()));
    this.started.clear();
    await this.settled();
    await this.compactor.close();
    await this.flushCursors();
  }

  /** Resolves once every event seen so far is written. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Stops reading, finishes the writes in hand, saves the cursors and hands the lease on. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.leaseTimer);
    await this.ticking;
    if (this.leading) {
      await this.closeStreams();
      await this.locks.release(this.lease).catch(() => undefined);
    }
  }

  private follow(name: string, lastEventId: string | null | undefined): QueueEvents {
    const { config, log } = this.deps;
    const stream = new QueueEvents(name, { connection: this.deps.connect(), prefix: config.redis.prefix, lastEventId: lastEventId ?? undefined });
    stream.on('error', (err) => log.warn({ queue: name, err: err.message }, 'tracer: event stream error'));
    this.streams.push(stream);
    return stream;
  }

  /** An attempt ended (completed, failed, or delayed for a retry): its step, with when it started. */
  private ended(stream: string, queue: WorkQueueName, args: EventArgs, eventId: string, step: (queue: WorkQueueName, args: EventArgs, eventId: string, startedAt?: number) => Promise<void>): void {
    const key = `${queue}:${args.jobId}`;
    const startedAt = this.started.get(key);
    this.started.delete(key);
    this.track(stream, eventId, () => step(queue, args, eventId, startedAt));
  }

  private track(stream: string, eventId: string, write: () => Promise<unknown>): void {
    this.cursors.set(stream, eventId);
    const p = write()
      .then(() => undefined)
      .catch((err) => this.deps.log.warn({ stream, eventId, err: (err as Error).message }, 'tracer: could not record a step'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }


  private async flushCursors(): Promise<void> {
    if (!this.cursors.size) return;
    const batch = this.deps.redis.pipeline();
    for (const [stream, id] of this.cursors) batch.set(this.keys.cursor(stream), id, 'EX', 7 * 86_400);
    this.cursors.clear();
    await batch.exec().catch(() => undefined);
  }

  /**
   * The few job fields a step needs, without the job's data (one HMGET per event). `atm` is
   * BullMQ's hash field for attemptsMade (5 and 6 store it so; BullMQ reads it the same way). Undefined once removed.
   */
  private async job(queue: WorkQueueName, id: string): Promise<JobTimes | undefined> {
    const key = this.deps.queues.work[queue].toKey(id);
    const [processedOn, finishedOn, atm, failedReason] = await this.deps.redis.hmget(key, 'processedOn', 'finishedOn', 'atm', 'failedReason');
    if (processedOn == null && atm == null && failedReason == null) return undefined;
    const num = (v: string | null | undefined) => (v === null || v === '' ? undefined : Number(v));
    return { processedOn: num(processedOn), finishedOn: num(finishedOn), attemptsMade: num(atm) ?? 0, failedReason: failedReason || undefined };
  }

  // Jobs that are no event of their own (crm-contacts' welcome email status writes, SendGrid event
  // batches) have no trace: their results are counted for the overview, nothing more.

  private async completed(queue: WorkQueueName, { jobId, returnvalue }: EventArgs, eventId: string, startedAt?: number) {
    if (!isEventKey(jobId)) return this.steps.count({ queue, field: 'completed' }, streamIdMs(eventId));
    const job = await this.job(queue, jobId);
    const at = streamIdMs(eventId);
    const durationMs = startedAt ? duration(startedAt, at) : duration(job?.processedOn, job?.finishedOn ?? at);
    const step: TraceStep = { at: iso(at), queue, ...outcomeOf(queue, returnvalue), attempt: job?.attemptsMade, durationMs };
    await this.steps.append(jobId, step, `${queue}-${eventId}`, { queue, field: 'completed' });
    this.compactor.schedule(jobId);
  }

  private async failed(queue: WorkQueueName, { jobId, failedReason }: EventArgs, eventId: string, startedAt?: number) {
    if (!isEventKey(jobId)) return this.steps.count({ queue, field: 'failed' }, streamIdMs(eventId));
    const job = await this.job(queue, jobId);
    const at = streamIdMs(eventId);
    const durationMs = startedAt ? duration(startedAt, at) : duration(job?.processedOn, job?.finishedOn ?? at);
    const step: TraceStep = { at: iso(at), queue, kind: 'failed', error: String(failedReason ?? ''), attempt: job?.attemptsMade, durationMs };
    await this.steps.append(jobId, step, `${queue}-${eventId}`, { queue, field: 'failed' });
  }

  /**
   * A delay is a retry after a failed attempt when the attempt count went up (BullMQ counts the
   * attempt and keeps failedReason); a worker's own delay (a busy claim) leaves the count alone,
   * so "once per attempt" keeps it from posing as another failure.
   */
  private async delayed(queue: WorkQueueName, { jobId, delay }: EventArgs, eventId: string, startedAt?: number) {
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
      const step: TraceStep = { at: iso(at), queue, kind: 'retrying', attempt, error: job.failedReason, durationMs: duration(startedAt ?? job.processedOn, at), retryAt };
      await this.steps.append(jobId, step, `${queue}-${eventId}`, { queue, field: 'retried' }, `retry:${queue}:${attempt}`);
    } else {
      await this.steps.append(jobId, { at: iso(at), queue, kind: 'delayed', retryAt }, `${queue}-${eventId}`, undefined, `delay:${queue}:${attempt}`);
    }
  }

  private async deadLettered(queue: WorkQueueName, { jobId }: EventArgs, eventId: string) {
    if (!isEventKey(jobId)) return;
    const letter = (await this.deps.queues.deadLetter[queue].getJob(jobId)) as Job<DeadLetter> | undefined;
    const step: TraceStep = {
      at: iso(streamIdMs(eventId)),
      queue,
      kind: 'dead-lettered',
      errors: letter?.data.errors,
      attempt: letter?.data.attemptsMade,
      unrecoverable: letter?.data.unrecoverable,
    };
    await this.steps.append(jobId, step, `${queue}-dlq-${eventId}`);
    await this.deps.redis.hset(this.keys.trace(jobId), `p:${queue}`, '1');
  }

  /** A job added to a work queue after its dead letter was recorded is a replay. */
  private async added(queue: WorkQueueName, { jobId }: EventArgs, eventId: string) {
    if (!isEventKey(jobId)) return;
    if ((await this.deps.redis.hdel(this.keys.trace(jobId), `p:${queue}`)) !== 1) return;
    await this.steps.append(jobId, { at: iso(streamIdMs(eventId)), queue, kind: 'replayed' }, `${queue}-${eventId}`);
  }
}
