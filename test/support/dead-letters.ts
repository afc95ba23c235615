import { Worker, type Processor } from 'bullmq';
import { Redis } from 'ioredis';
import { expect, vi } from 'vitest';
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { DeadLetters } from '../../src/queues/dead-letter.ts';
import { WORKER_SETTINGS, type EnrollmentJob, type JobMeta } from '../../src/queues/jobs.ts';
import type { WorkQueueName } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { attachDeadLetters, type DeadLetterHook } from '../../src/workers/start.ts';
import { fixture, SETTLE } from './env.ts';

/** Job data of an enrollment as the receiver enqueues it, for `enrollmentId`. */
/** Job data as queued by versions that also kept the key, type and arrival in it (workers read both shapes). */
export function enrollmentJob(enrollmentId: string): EnrollmentJob & JobMeta {
  const event = fixture('course.student_enroll');
  event.data.id = enrollmentId;
  return {
    key: `enroll-${enrollmentId}`,
    eventType: 'course.student_enroll',
    receivedAt: new Date().toISOString(),
    correlationId: `corr-${enrollmentId}`,
    enrollment: event.data,
  };
}

/**
 * Queues and dead letters of one test prefix, plus a test-only Worker that runs `processor` on a
 * work queue with the real workers' dead-letter hook (DeadLetters.recordFailure on 'failed').
 */
export function deadLetterRig(config: Config, url: string) {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const queues: QueueSet = openQueues(redis, config);
  const deadLetters = new DeadLetters(redis, queues, config.redis.prefix);
  const workers: Worker[] = [];
  const hooks: DeadLetterHook[] = [];
  const log = createLogger('silent');

  /** Starts a worker on `queue`; call `close()` on the result, or let `stop()` do it. */
  function work(queue: WorkQueueName, processor: Processor): Worker {
    // Connection options (not an instance), so the worker opens and closes its own connections.
    const { hostname, port } = new URL(url);
    const worker = new Worker(queue, processor, {
      connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null },
      prefix: config.redis.prefix,
      settings: WORKER_SETTINGS,
    });
    hooks.push(attachDeadLetters(worker, queue, { deadLetters, log }));
    workers.push(worker);
    return worker;
  }

  /**
   * Adds one job per enrollment id to `queue` and fails every attempt with "<message> #<attempt>"
   * until all of them are dead letters; returns their job ids.
   */
  async function kill(
    queue: WorkQueueName,
    enrollmentIds: string[],
    message = 'HubSpot answered 500',
  ): Promise<string[]> {
    const before = await deadLetters.size(queue);
    const worker = work(queue, async (job) => {
      throw new Error(`${message} #${job.attemptsMade + 1}`);
    });
    const ids = enrollmentIds.map((id) => `enroll-${id}`);
    await queues.work[queue].addBulk(
      enrollmentIds.map((id, i) => ({
        name: 'course.student_enroll',
        data: enrollmentJob(id),
        opts: { jobId: ids[i] },
      })),
    );
    await vi.waitFor(
      async () => expect(await deadLetters.size(queue)).toBeGreaterThanOrEqual(before + ids.length),
      SETTLE,
    );
    await worker.close();
    return ids;
  }

  return {
    redis,
    queues,
    deadLetters,
    work,
    kill,
    async stop() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(hooks.map((h) => h.settled()));
      await queues.close();
      await redis.quit();
    },
  };
}
