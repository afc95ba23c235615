import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type WorkQueueName } from './names.ts';
import type { QueueSet } from './registry.ts';
import { recordKey } from '../redis/keys.ts';

/** One failed attempt of a job. */
export interface AttemptError {
  attempt: number;
  message: string;
  at: string;
}

/** What a dead-letter job holds: the original job, where it came from, and why it died. */
export interface DeadLetter {
  queue: WorkQueueName;
  jobId: string;
  name: string;
  data: unknown;
  attemptsMade: number;
  errors: AttemptError[];
  deadAt: string;
  /** True when the error said retrying cannot help (bad e-mail, rejected by the API). */
  unrecoverable: boolean;
}

const ATTEMPT_LOG_TTL_SECONDS = 30 * 24 * 3600;

/** True when a failed attempt was the last one: out of attempts, or not worth retrying. */
function isFinalFailure(job: Job, err: Error): boolean {
  return err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
}

/**
 * Records job failures and copies final ones, with every attempt's error, to the queue's
 * dead-letter queue. The copy uses the job id, so recording the same death twice keeps one.
 */
export class DeadLetters {
  constructor(
    private readonly redis: Redis,
    private readonly queues: QueueSet,
    private readonly prefix: string,
  ) {}

  private attemptsKey(queue: WorkQueueName, jobId: string): string {
    return recordKey(this.prefix, 'attempts', queue, jobId);
  }

  /** Notes a failed attempt; when it was the final one, moves a copy to the dead-letter queue. */
  async recordFailure(queue: WorkQueueName, job: Job, err: Error): Promise<boolean> {
    const key = this.attemptsKey(queue, job.id!);
    const entry: AttemptError = { attempt: job.attemptsMade, message: err.message, at: new Date().toISOString() };
    await this.redis.multi().rpush(key, JSON.stringify(entry)).expire(key, ATTEMPT_LOG_TTL_SECONDS).exec();
    if (!isFinalFailure(job, err)) return false;
    const errors = (await this.redis.lrange(key, 0, -1)).map((s) => JSON.parse(s) as AttemptError);
    const letter: DeadLetter = {
      queue,
      jobId: job.id!,
      name: job.name,
      data: job.data,
      attemptsMade: job.attemptsMade,
      errors,
      deadAt: entry.at,
      unrecoverable: err instanceof UnrecoverableError || err.name === 'UnrecoverableError',
    };
    await this.queues.deadLetter[queue].add(job.name, letter, { jobId: job.id });
    return true;
  }

  /** Dead letters of `queue`, oldest first. */
  async list(queue: WorkQueueName, start = 0, end = -1): Promise<Job<DeadLetter>[]> {
    const jobs = await this.queues.deadLetter[queue].getJobs(['waiting', 'paused', 'prioritized', 'delayed'], start, end, true);
    return jobs.filter(Boolean) as Job<DeadLetter>[];
  }

  async get(queue: WorkQueueName, id: string): Promise<Job<DeadLetter> | undefined> {
    return ((await this.queues.deadLetter[queue].getJob(id)) as Job<DeadLetter> | undefined) ?? undefined;
  }

  /**
   * Puts dead letters back on their work queue with fresh attempts (same job id, so idempotency
   * markers still apply) and removes them from the dead-letter queue. Returns the replayed ids.
   */
  async replay(queue: WorkQueueName, ids: string[] | 'all'): Promise<string[]> {
    const letters = ids === 'all' ? await this.list(queue) : (await Promise.all(ids.map((id) => this.get(queue, id)))).filter((j): j is Job<DeadLetter> => !!j);
    const work: Queue = this.queues.work[queue];
    const replayed: string[] = [];
    for (const letter of letters) {
      const id = letter.data.jobId;
      const old = await work.getJob(id);
      if (old) {
        const state = await old.getState();
        if (state === 'active') continue; // being worked on already
        await old.remove();
      }
      await work.add(letter.data.name, letter.data.data, { jobId: id });
      await this.redis.del(this.attemptsKey(queue, id));
      await letter.remove();
      replayed.push(id);
    }
    return replayed;
  }

  /** Removes dead letters that died more than `olderThanMs` ago; returns their ids. */
  async purge(queue: WorkQueueName, olderThanMs: number): Promise<string[]> {
    const cutoff = Date.now() - olderThanMs;
    const purged: string[] = [];
    for (const letter of await this.list(queue)) {
      if (Date.parse(letter.data.deadAt) <= cutoff) {
        await letter.remove();
        purged.push(letter.id!);
      }
    }
    return purged;
  }

  async size(queue: WorkQueueName): Promise<number> {
    return this.queues.deadLetter[queue].count();
  }
}
