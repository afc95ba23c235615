import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { jobAttemptOptions } from './jobs.ts';
import { WORK_QUEUES, deadLetterQueueName, type WorkQueueName } from './names.ts';

/** Handles on every work queue and its dead-letter queue, sharing one connection. */
export interface QueueSet {
  /** The one connection every queue of the set writes on (a WAIT after `add` goes here). */
  connection: Redis;
  work: Record<WorkQueueName, Queue>;
  deadLetter: Record<WorkQueueName, Queue>;
  /** Work queues then dead-letter queues, for dashboards and metrics. */
  all(): Queue[];
  close(): Promise<void>;
}

export function openQueues(connection: Redis, config: Config): QueueSet {
  const prefix = config.redis.prefix;
  const work = {} as Record<WorkQueueName, Queue>;
  const deadLetter = {} as Record<WorkQueueName, Queue>;
  for (const name of WORK_QUEUES) {
    // Attempts and backoff only: retention is the workers' (jobRetention), for every job of the queue.
    work[name] = new Queue(name, { connection, prefix, defaultJobOptions: jobAttemptOptions(config) });
    // Dead letters are never removed by retention: they stay until ops replay or purge them.
    deadLetter[name] = new Queue(deadLetterQueueName(name), {
      connection,
      prefix,
      defaultJobOptions: { removeOnComplete: false, removeOnFail: false },
    });
  }
  // A queue re-emits its connection's errors; with no listener BullMQ 6 prints each one with
  // console.error, once per queue, for as long as Redis is away. The outage is the connection's to
  // report: readiness, the redis-unreachable alert and the workers' own error log say it once.
  for (const queue of [...Object.values(work), ...Object.values(deadLetter)]) queue.on('error', () => undefined);
  return {
    connection,
    work,
    deadLetter,
    all: () => [...Object.values(work), ...Object.values(deadLetter)],
    close: async () => {
      await Promise.all([...Object.values(work), ...Object.values(deadLetter)].map((q) => q.close()));
    },
  };
}
