import { QueueEvents, QueueKeys } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { EVENT_QUEUES, WORK_QUEUES, type WorkQueueName } from '../queues/names.ts';
import type { QueueSet } from '../queues/registry.ts';
import { TraceKeys } from './keys.ts';
import { StepLog } from './step-log.ts';
import { StreamSteps, streamIdMs, type EventArgs } from './stream-steps.ts';
import { TraceCompactor } from './compactor.ts';
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

const CURSOR_FLUSH_MS = 5_000;
/** One worker process traces at a time; another takes over within the lease time when it stops. */
const LEASE_TTL_MS = 15_000;
const LEASE_RENEW_MS = 5_000;

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
  private readonly write: StreamSteps;

  constructor(private readonly deps: TracerDeps) {
    this.keys = new TraceKeys(deps.config.redis.prefix);
    this.steps = new StepLog(deps.redis, this.keys, deps.config.trace.retentionDays * 86_400);
    this.locks = new RedisLock(deps.redis);
    this.lease = { key: recordKey(deps.config.redis.prefix, 'tracer-lease'), token: leaseToken() };
    // Cursors saved before each packing round: a takeover never reads a packed step's event again.
    this.compactor = new TraceCompactor(deps.redis, this.keys, deps.config.trace.compactAfterSeconds * 1000, deps.log, {
      beforeRound: () => this.flushCursors(),
      callRetentionMs: deps.config.trace.callRetentionDays * 86_400_000,
      traceRetentionMs: deps.config.trace.retentionDays * 86_400_000,
    });
    this.write = new StreamSteps(deps.redis, deps.queues, this.keys, this.steps, this.compactor);
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
    const names = [
      ...WORK_QUEUES.map((q) => queues.work[q].name),
      ...EVENT_QUEUES.map((q) => queues.deadLetter[q].name),
    ];
    const saved = await this.startingPoints(names);
    for (const queue of WORK_QUEUES) {
      const work = this.follow(queues.work[queue].name, saved[names.indexOf(queues.work[queue].name)]);
      work.on('active', (a, id) => void this.started.set(`${queue}:${(a as EventArgs).jobId}`, streamIdMs(id)));
      work.on('completed', (a, id) =>
        this.ended(work.name, queue, a as EventArgs, id, (...s) => this.write.completed(...s)),
      );
      work.on('failed', (a, id) => this.ended(work.name, queue, a as EventArgs, id, (...s) => this.write.failed(...s)));
      work.on('delayed', (a, id) =>
        this.ended(work.name, queue, a as EventArgs, id, (...s) => this.write.delayed(...s)),
      );
      work.on('added', (a, id) => this.track(work.name, id, () => this.write.added(queue, a, id)));
      if (!EVENT_QUEUES.includes(queue)) continue;
      const dlq = this.follow(queues.deadLetter[queue].name, saved[names.indexOf(queues.deadLetter[queue].name)]);
      dlq.on('added', (a, id) => this.track(dlq.name, id, () => this.write.deadLettered(queue, a, id)));
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
      names.map(
        async (name, i) =>
          saved[i] ??
          (await this.deps.redis.xrevrange(events.toKey(name, 'events'), '+', '-', 'COUNT', 1))[0]?.[0] ??
          '0-0',
      ),
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
    const stream = new QueueEvents(name, {
      connection: this.deps.connect(),
      prefix: config.redis.prefix,
      lastEventId: lastEventId ?? undefined,
    });
    stream.on('error', (err) => log.warn({ queue: name, err: err.message }, 'tracer: event stream error'));
    this.streams.push(stream);
    return stream;
  }

  /** An attempt ended (completed, failed, or delayed for a retry): its step, with when it started. */
  private ended(
    stream: string,
    queue: WorkQueueName,
    args: EventArgs,
    eventId: string,
    step: (queue: WorkQueueName, args: EventArgs, eventId: string, startedAt?: number) => Promise<void>,
  ): void {
    const key = `${queue}:${args.jobId}`;
    const startedAt = this.started.get(key);
    this.started.delete(key);
    this.track(stream, eventId, () => step(queue, args, eventId, startedAt));
  }

  private track(stream: string, eventId: string, write: () => Promise<unknown>): void {
    this.cursors.set(stream, eventId);
    const p = write()
      .then(() => undefined)
      .catch((err) =>
        this.deps.log.warn({ stream, eventId, err: (err as Error).message }, 'tracer: could not record a step'),
      )
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
}
