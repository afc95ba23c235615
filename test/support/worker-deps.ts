import type { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { expect, vi } from 'vitest';
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { PendingEvents } from '../../src/queues/pending-events.ts';
import { DeadLetters, type DeadLetter } from '../../src/queues/dead-letter.ts';
import type { WorkQueueName } from '../../src/queues/names.ts';
import { openQueues } from '../../src/queues/registry.ts';
import { TraceWriter } from '../../src/trace/writer.ts';
import type { WorkerDeps } from '../../src/workers/deps.ts';
import { dropPrefix, redisUrl, SETTLE } from './env.ts';

/**
 * The WorkerDeps a service would give its workers, on the test Redis and `config`'s prefix.
 * `stop()` closes the queues and every connection handed out, then deletes the prefix's keys.
 */
export function testWorkerDeps(config: Config): WorkerDeps & { stop(): Promise<void> } {
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };
  const redis = connect();
  const queues = openQueues(redis, config);
  const traces = new TraceWriter(redis, config);
  const pending = new PendingEvents(redis, config, (event) => traces.finalRecord(event));
  return {
    config,
    log: createLogger('silent'),
    connect,
    redis,
    queues,
    deadLetters: new DeadLetters(redis, queues, config.redis.prefix, pending),
    pending,
    metrics: createMetrics(),
    async stop() {
      await queues.close();
      await dropPrefix(redis, config.redis.prefix);
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

/** Waits until job `jobId` is completed or failed for good; returns it fresh from Redis. */
export async function finishedJob<D = any, R = any>(
  queue: Queue,
  jobId: string,
  timeout = SETTLE.timeout,
): Promise<Job<D, R>> {
  await vi.waitFor(
    async () =>
      expect(await (await queue.getJob(jobId))?.getState(), `state of job ${jobId}`).toMatch(/^(completed|failed)$/),
    { ...SETTLE, timeout },
  );
  // Read again: a job read while active may have completed before its state was asked.
  return (await queue.getJob(jobId)) as Job<D, R>;
}

/** The dead letter of `jobId`, once the worker's failed handler has recorded it. */
export async function deadLetterOf(deadLetters: DeadLetters, queue: WorkQueueName, jobId: string): Promise<DeadLetter> {
  return vi.waitFor(async () => {
    const letter = await deadLetters.get(queue, jobId);
    expect(letter, `dead letter ${jobId} on ${queue}`).toBeDefined();
    return letter!.data;
  }, SETTLE);
}
