import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type Job, type Queue, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { WORKER_SETTINGS } from '../queues/jobs.ts';

export interface MicroBatchOptions<D> {
  queue: Queue;
  /** A connection of its own (BullMQ blocks on it while waiting for jobs). */
  connection: Redis;
  prefix: string;
  /** Most jobs handed over at once. */
  batchSize: number;
  /** How long to wait for a batch to fill once its first job arrived. */
  waitMs: number;
  /** Batches handled at the same time by this process (default 2: one in flight while the next fills). */
  concurrency?: number;
  /** Job lock; renewed every half of it while a batch is in hand (default 30 s). */
  lockDuration?: number;
  /** Finished jobs kept, for jobs whose own options say nothing (see `jobRetention`). */
  retention?: Pick<WorkerOptions, 'removeOnComplete' | 'removeOnFail'>;
  /**
   * Handles a batch. It must settle every job with `token`: moveToCompleted, moveToFailed,
   * or moveToWait (given back without using an attempt). A throw gives back the unsettled ones.
   */
  handle(jobs: Job<D>[], token: string, signal: AbortSignal): Promise<void>;
  onError(err: Error): void;
}

/**
 * BullMQ has no batch worker: this fetches jobs by hand (`Worker` without a processor +
 * `getNextJob`), up to `batchSize` per batch or whatever arrived within `waitMs`, keeps their
 * locks alive while the batch is handled, and honours `queue.rateLimit()` and `queue.pause()`.
 */
export class MicroBatchWorker<D> {
  /** The large limiter exists only so that BullMQ honours `queue.rateLimit()` (it ignores it without one). */
  static readonly LIMITER = { max: 1_000_000, duration: 1000 };
  readonly worker: Worker<D>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private stopping = false;

  constructor(private readonly opts: MicroBatchOptions<D>) {
    if (opts.batchSize < 1) throw new Error('batchSize must be at least 1');
    this.worker = new Worker<D>(opts.queue.name, null, {
      connection: opts.connection,
      prefix: opts.prefix,
      autorun: false,
      drainDelay: 1,
      lockDuration: opts.lockDuration ?? 30_000,
      limiter: MicroBatchWorker.LIMITER,
      ...opts.retention,
      settings: WORKER_SETTINGS,
    });
    this.worker.on('error', (err) => opts.onError(err));
  }

  /** Starts fetching and handling batches. */
  async start(): Promise<void> {
    await this.worker.waitUntilReady();
    await this.worker.startStalledCheckTimer();
    this.loop = this.run().catch((err) => this.opts.onError(err as Error));
  }

  /** Stops taking jobs, lets batches in hand finish (waits for budget are cut short), then closes. */
  async close(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    await this.worker.close();
  }

  private async run(): Promise<void> {
    const concurrency = this.opts.concurrency ?? 2;
    while (!this.stopping) {
      if (this.inFlight.size >= concurrency) {
        await Promise.race(this.inFlight);
        continue;
      }
      let jobs: Awaited<ReturnType<typeof this.fill>>;
      try {
        jobs = await this.fill(randomUUID());
      } catch (err) {
        // Redis away or a script error: report, wait a moment, keep going (locks of anything
        // fetched half-way expire and the stalled check gives those jobs back).
        this.opts.onError(err as Error);
        await sleep(1000, undefined, { signal: this.abort.signal }).catch(() => undefined);
        continue;
      }
      if (!jobs) continue;
      const p = this.runBatch(jobs.list, jobs.token).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  /** Waits for a first job, then takes more until the batch is full or `waitMs` has passed. */
  private async fill(token: string): Promise<{ list: Job<D>[]; token: string } | undefined> {
    const t0 = Date.now();
    const first = await this.worker.getNextJob(token, { block: true });
    if (!first) {
      if (!this.stopping && Date.now() - t0 < 50) await this.idle();
      return undefined;
    }
    const list: Job<D>[] = [first];
    const deadline = Date.now() + this.opts.waitMs;
    while (list.length < this.opts.batchSize && !this.stopping) {
      const want = Math.min(this.opts.batchSize - list.length, 20);
      const got = (
        await Promise.all(Array.from({ length: want }, () => this.worker.getNextJob(token, { block: false })))
      ).filter((j): j is Job<D> => !!j);
      list.push(...got);
      if (got.length < want) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await sleep(Math.min(20, left));
      }
    }
    if (this.stopping) {
      await Promise.all(list.map((j) => j.moveToWait(token)));
      return undefined;
    }
    return { list, token };
  }

  /** Nothing came back at once: the queue is rate limited or paused; wait instead of spinning. */
  private async idle(): Promise<void> {
    const ttl = await this.opts.queue.getRateLimitTtl(MicroBatchWorker.LIMITER.max).catch(() => 0);
    await sleep(Math.min(Math.max(ttl, 50), 1000), undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  private async runBatch(jobs: Job<D>[], token: string): Promise<void> {
    const lockDuration = this.opts.lockDuration ?? 30_000;
    const renew = setInterval(() => {
      this.worker
        .extendJobLocks(
          jobs.map((j) => j.id!),
          jobs.map(() => token),
          lockDuration,
        )
        .catch((err) => this.opts.onError(err as Error));
    }, lockDuration / 2);
    try {
      await this.opts.handle(jobs, token, this.abort.signal);
    } catch (err) {
      this.opts.onError(err as Error);
      // Whatever is still active under our token goes back to the queue, attempts untouched.
      await Promise.allSettled(jobs.map((j) => j.moveToWait(token)));
    } finally {
      clearInterval(renew);
    }
  }
}
