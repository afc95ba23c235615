import type { Job, Worker } from 'bullmq';
import type { WorkQueueName } from '../queues/names.ts';
import type { WorkerDeps } from './deps.ts';

/** What `attachDeadLetters` returns: a way to wait for failures still being recorded. */
export interface DeadLetterHook {
  /** Resolves once every failure seen so far is recorded (call after `worker.close()`). */
  settled(): Promise<void>;
}

/**
 * Records every failed attempt of `worker`'s jobs with `deps.deadLetters.recordFailure`, which
 * copies final failures (out of attempts, or an UnrecoverableError) to the queue's dead-letter
 * queue with every attempt's error. Rate-limit and delay signals never reach it (BullMQ does not
 * emit `failed` for them). Also logs worker errors so they are never unhandled.
 */
export function attachDeadLetters(worker: Worker, queue: WorkQueueName, deps: Pick<WorkerDeps, 'deadLetters' | 'log'>): DeadLetterHook {
  const pending = new Set<Promise<void>>();
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (!job) return;
    const p = deps.deadLetters
      .recordFailure(queue, job, err)
      .then((dead) => {
        const fields = { queue, jobId: job.id, attemptsMade: job.attemptsMade, reason: err.message, correlationId: job.data?.correlationId };
        if (dead) deps.log.warn(fields, 'job moved to the dead-letter queue');
        else deps.log.info(fields, 'job attempt failed; will retry');
      })
      .catch((e) => deps.log.error({ queue, jobId: job.id, err: (e as Error).message }, 'could not record a job failure'))
      .finally(() => pending.delete(p));
    pending.add(p);
  });
  worker.on('error', (err) => deps.log.error({ queue, err: err.message }, 'worker error'));
  return {
    settled: async () => {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}
