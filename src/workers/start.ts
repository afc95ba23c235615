import { Worker, type Job, type Processor } from 'bullmq';
import { jobRetention, WORKER_SETTINGS } from '../queues/jobs.ts';
import { QUEUES, type WorkQueueName } from '../queues/names.ts';
import { maskErrorText, maskText } from '../privacy/text.ts';
import type { RunningWorker, WorkerDeps } from './deps.ts';

/**
 * A ceiling far above any real rate. It must exist: BullMQ only honours `queue.rateLimit()` (used
 * on a 429) when the worker has a limiter.
 */
const RATE_LIMIT_CEILING = { max: 10_000, duration: 1000 };

/** The stand-in for a worker that cannot run (no credentials, no emulator): it says so once, and its jobs wait. */
export function notStarted(deps: Pick<WorkerDeps, 'log'>, queue: WorkQueueName, why: string): RunningWorker {
  deps.log.error({ queue }, `${queue} worker NOT started: ${why}`);
  return { name: `${queue} (not started)`, close: async () => undefined };
}

/**
 * Logs a failed attempt: a warning when it made a dead letter, info when it will be retried. The
 * reason is HubSpot's or SendGrid's own words, which can quote an address or a phone number: masked.
 */
export function logFailure(
  deps: Pick<WorkerDeps, 'log'>,
  queue: WorkQueueName,
  job: Job,
  err: Error,
  dead: boolean,
): void {
  const fields = {
    queue,
    jobId: job.id,
    attemptsMade: job.attemptsMade,
    reason: maskText(err.message),
    correlationId: job.data?.correlationId,
  };
  if (dead) deps.log.warn(fields, 'job moved to the dead-letter queue');
  else deps.log.info(fields, 'job attempt failed; will retry');
}

/** What `attachDeadLetters` returns: a way to wait for failures still being recorded, and other work after a job. */
export interface DeadLetterHook {
  /** Has `settled()` wait for `work` too (a completed job's release). */
  track(work: Promise<void>): void;
  /** Resolves once every failure seen so far is recorded, and the tracked work done (call after `worker.close()`). */
  settled(): Promise<void>;
}

/**
 * Records every failed attempt of `worker`'s jobs with `deps.deadLetters.recordFailure`, which
 * copies final failures (out of attempts, or an UnrecoverableError) to the queue's dead-letter
 * queue with every attempt's error, and logs each. Rate-limit and delay signals never reach it
 * (BullMQ does not emit `failed` for them). Worker errors are logged so they are never unhandled.
 */
export function attachDeadLetters(
  worker: Worker,
  queue: WorkQueueName,
  deps: Pick<WorkerDeps, 'deadLetters' | 'log'>,
): DeadLetterHook {
  const pending = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    const p = work.finally(() => pending.delete(p));
    pending.add(p);
  };
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (!job) return;
    track(
      deps.deadLetters
        .recordFailure(queue, job, err)
        .then((dead) => logFailure(deps, queue, job, err, dead))
        .catch((e) =>
          deps.log.error({ queue, jobId: job.id, err: (e as Error).message }, 'could not record a job failure'),
        ),
    );
  });
  worker.on('error', (err) => deps.log.error({ queue, err: err.message }, 'worker error'));
  return {
    track,
    settled: async () => {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}

export interface QueueWorkerOptions<D, R> {
  queue: WorkQueueName;
  processor: Processor<D, R>;
  /** Jobs processed at once by this process. */
  concurrency: number;
  /** Extra fields of the "started" log line. */
  details?: Record<string, unknown>;
  /** Runs once the worker has closed (its jobs in hand finished), before failures still being recorded settle. */
  afterClose?: () => void;
}

/**
 * The processor with the addresses and phone numbers in its errors masked before BullMQ sees them:
 * BullMQ keeps an error's message (`failedReason`) and stack on the job and in the queue's event
 * stream, and HubSpot's and SendGrid's messages quote the student's address.
 */
function maskingErrors<D, R>(processor: Processor<D, R>): Processor<D, R> {
  const run = async (...args: Parameters<Processor<D, R>>) => {
    try {
      return await processor(...args);
    } catch (err) {
      throw maskErrorText(err);
    }
  };
  // BullMQ hands a processor an abort signal only when it takes a third parameter: keep its arity.
  return processor.length >= 3 ? (job, token, signal) => run(job, token, signal) : (job, token) => run(job, token);
}

/**
 * Starts a BullMQ worker on a work queue the way every course-sync worker runs: its own blocking
 * connection, the rate-limit ceiling, errors masked before BullMQ stores them, and every failed
 * attempt recorded (final ones copied to the dead-letter queue with the error history) and logged.
 */
export async function startQueueWorker<D, R>(deps: WorkerDeps, opts: QueueWorkerOptions<D, R>): Promise<RunningWorker> {
  const { queue, concurrency } = opts;
  const worker = new Worker<D, R>(queue, maskingErrors(opts.processor), {
    connection: deps.connect(),
    prefix: deps.config.redis.prefix,
    concurrency,
    limiter: RATE_LIMIT_CEILING,
    ...jobRetention(deps.config),
    settings: WORKER_SETTINGS,
  });
  const failures = attachDeadLetters(worker, queue, deps);
  // Done: the student's data is not kept for the completed job (its result stays). Course events
  // name no student: their jobs are left as they are (no write per completed job).
  // A graceful stop waits for these releases too; one that fails leaves the record to its lifetime.
  if (queue !== QUEUES.products) {
    worker.on('completed', (job: Job) =>
      failures.track(
        deps.pending
          .done(queue, job)
          .catch((err) =>
            deps.log.warn(
              { queue, jobId: job.id, err: (err as Error).message },
              "could not release a completed job's enrollment",
            ),
          ),
      ),
    );
  }
  await worker.waitUntilReady();
  deps.log.info({ queue, concurrency, ...opts.details }, `${queue} worker started`);
  return {
    name: queue,
    close: async () => {
      await worker.close();
      opts.afterClose?.();
      await failures.settled();
    },
  };
}
