import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { groupDeadLetters } from './dead-letter-groups.ts';
import { type WorkQueueName } from './names.ts';
import type { QueueSet } from './registry.ts';
import { forgetPersonalData, type PendingEvents } from './pending-events.ts';
import { recordKey } from '../redis/keys.ts';
import { maskText } from '../privacy/text.ts';

/** One failed attempt of a job. */
export interface AttemptError {
  attempt: number;
  message: string;
  at: string;
}

/** What a replay did: the letters put back, and why the others were not. */
export interface ReplayResult {
  replayed: string[];
  notReplayed: { id: string; reason: string }[];
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
  return (
    err instanceof UnrecoverableError ||
    err.name === 'UnrecoverableError' ||
    job.attemptsMade >= (job.opts.attempts ?? 1)
  );
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
    /** How a dead job lets go of its data (needed to record failures; listing, replaying and purging do without). */
    private readonly pending?: PendingEvents,
  ) {}

  private attemptsKey(queue: WorkQueueName, jobId: string): string {
    return recordKey(this.prefix, 'attempts', queue, jobId);
  }

  /**
   * Notes a failed attempt; when it was the final one, moves a copy to the dead-letter queue. The
   * error's words (HubSpot's, SendGrid's) are kept with addresses and phone numbers masked.
   */
  async recordFailure(queue: WorkQueueName, job: Job, err: Error): Promise<boolean> {
    const key = this.attemptsKey(queue, job.id!);
    const entry: AttemptError = {
      attempt: job.attemptsMade,
      message: maskText(err.message),
      at: new Date().toISOString(),
    };
    await this.redis.multi().rpush(key, JSON.stringify(entry)).expire(key, ATTEMPT_LOG_TTL_SECONDS).exec();
    if (!isFinalFailure(job, err)) return false;
    // Entries an older version wrote are masked on the way into the letter.
    const errors = (await this.redis.lrange(key, 0, -1))
      .map((s) => JSON.parse(s) as AttemptError)
      .map((e) => ({ ...e, message: maskText(e.message) }));
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
    // The dead letter holds the data (for a replay); the failed job itself keeps none of the student's.
    await (this.pending ? this.pending.done(queue, job) : forgetPersonalData(job));
    return true;
  }

  /** Dead letters of `queue`, oldest first. */
  async list(queue: WorkQueueName, start = 0, end = -1): Promise<Job<DeadLetter>[]> {
    const jobs = await this.queues.deadLetter[queue].getJobs(['waiting', 'prioritized', 'delayed'], start, end, true);
    return jobs.filter(Boolean) as Job<DeadLetter>[];
  }

  async get(queue: WorkQueueName, id: string): Promise<Job<DeadLetter> | undefined> {
    return ((await this.queues.deadLetter[queue].getJob(id)) as Job<DeadLetter> | undefined) ?? undefined;
  }

  /**
   * Puts dead letters back on their work queue with fresh attempts (same job id, so idempotency
   * markers still apply) and removes them from the dead-letter queue. Says which were replayed,
   * and why the others were not.
   */
  async replay(queue: WorkQueueName, ids: string[] | 'all'): Promise<ReplayResult> {
    const wanted = ids === 'all' ? (await this.list(queue)).map((j) => j.id!) : ids;
    const work: Queue = this.queues.work[queue];
    const result: ReplayResult = { replayed: [], notReplayed: [] };
    for (const letterId of wanted) {
      const letter = await this.get(queue, letterId);
      if (!letter) {
        result.notReplayed.push({
          id: letterId,
          reason: `no dead letter "${letterId}" in ${queue} (replayed or purged meanwhile)`,
        });
        continue;
      }
      const id = letter.data.jobId;
      const old = await work.getJob(id);
      if (old) {
        if ((await old.getState()) === 'active') {
          result.notReplayed.push({ id: letterId, reason: 'its job is running right now; try again when it is done' });
          continue;
        }
        await old.remove();
      }
      await work.add(letter.data.name, letter.data.data, { jobId: id });
      await this.redis.del(this.attemptsKey(queue, id));
      await letter.remove();
      result.replayed.push(id);
    }
    return result;
  }

  /** The ids of the dead letters of one cause (as `groupDeadLetters` words it); undefined when none has it. */
  async idsOfCause(queue: WorkQueueName, cause: string): Promise<string[] | undefined> {
    return groupDeadLetters(await this.list(queue)).find((g) => g.cause === cause)?.ids;
  }

  /** The ids of the dead letters that died more than `olderThanMs` ago. */
  async idsOlderThan(queue: WorkQueueName, olderThanMs: number, now = Date.now()): Promise<string[]> {
    const cutoff = now - olderThanMs;
    return (await this.list(queue)).filter((letter) => Date.parse(letter.data.deadAt) <= cutoff).map((l) => l.id!);
  }

  /** Removes dead letters that died more than `olderThanMs` ago; returns their ids. */
  async purge(queue: WorkQueueName, olderThanMs: number, now = Date.now()): Promise<string[]> {
    return this.remove(queue, await this.idsOlderThan(queue, olderThanMs, now));
  }

  /** Removes these dead letters, or all (ids not found are left out of the answer); returns the removed ids. */
  async remove(queue: WorkQueueName, ids: string[] | 'all'): Promise<string[]> {
    const removed: string[] = [];
    for (const id of ids === 'all' ? (await this.list(queue)).map((j) => j.id!) : ids) {
      const letter = await this.get(queue, id);
      if (!letter) continue;
      await letter.remove();
      await this.redis.del(this.attemptsKey(queue, letter.data.jobId));
      removed.push(id);
    }
    return removed;
  }

  async size(queue: WorkQueueName): Promise<number> {
    return this.queues.deadLetter[queue].count();
  }
}
