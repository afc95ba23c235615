import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MicroBatchWorker } from '../src/workers/micro-batch.ts';
import { dropPrefix, redisUrl, SETTLE, testConfig } from './support/env.ts';
import { renewalsOf } from './support/locks.ts';

const LOCK_MS = 1000;
const NAME = 'batch-locks';
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const connect = () => {
  const c = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  closers.push(() => c.quit().catch(() => c.disconnect()));
  return c;
};

describe('MicroBatchWorker lock renewal', () => {
  it('keeps a batch held longer than its lock duration: not stalled, not given to another worker', async () => {
    const prefix = testConfig().redis.prefix;
    const redis = connect();
    closers.push(() => dropPrefix(redis, prefix));
    const queue = new Queue(NAME, { connection: redis, prefix });
    closers.push(() => queue.close());

    let release!: () => void;
    const released = new Promise<void>((ok) => (release = ok));
    let batch: { jobs: Job[]; token: string } | undefined;
    const errors: Error[] = [];
    const worker = new MicroBatchWorker<{ n: number }>({
      queue,
      connection: connect(),
      prefix,
      batchSize: 10,
      waitMs: 50,
      lockDuration: LOCK_MS,
      async handle(jobs, token) {
        batch = { jobs, token };
        await released; // held for as long as the test says
        await Promise.all(jobs.map((j) => j.moveToCompleted({ by: 'batch' }, token, false)));
      },
      onError: (err) => errors.push(err),
    });
    closers.push(() => worker.close());
    closers.push(async () => release()); // runs first: a failed test must not leave the batch held
    await worker.start();
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'job', data: { n }, opts: { jobId: `job-${n}` } })));
    await vi.waitFor(() => expect(batch?.jobs.map((j) => j.id).sort()).toEqual(['job-1', 'job-2', 'job-3']), SETTLE);

    // Another process whose stalled check runs every 100 ms: it takes back any active job whose
    // lock has lapsed, and would then process it itself.
    const takenOver: string[] = [];
    const other = new Worker(NAME, async (job) => void takenOver.push(job.id!), {
      connection: connect(),
      prefix,
      stalledInterval: 100,
      lockDuration: LOCK_MS,
    });
    closers.push(() => other.close());
    const stalledEvents: string[] = [];
    other.on('stalled', (id) => stalledEvents.push(id));
    // The batch worker's own check ran at start and holds the queue's check marker for its 30 s
    // interval; clear it so that the other worker's checks run from now on.
    await redis.del(`${prefix}:${NAME}:stalled-check`);

    // Held until each job's lock was renewed three times (every 500 ms: past its 1 s duration),
    // and then while the other worker's stalled check runs five more times (each run stamps the marker).
    await Promise.all(
      batch!.jobs.map((j) => renewalsOf(redis, { key: `${prefix}:${NAME}:${j.id}:lock`, token: batch!.token }, 3)),
    );
    const checks = new Set<string>();
    await vi.waitFor(
      async () => {
        const stamp = await redis.get(`${prefix}:${NAME}:stalled-check`);
        if (stamp) checks.add(stamp);
        expect(checks.size).toBeGreaterThanOrEqual(5);
      },
      { ...SETTLE, interval: 20 },
    );
    expect(await queue.getJobCounts('active', 'wait')).toEqual({ active: 3, wait: 0 });

    release();
    await vi.waitFor(async () => expect(await queue.getJobCounts('completed')).toEqual({ completed: 3 }), SETTLE);
    for (const id of ['job-1', 'job-2', 'job-3']) {
      const job = (await queue.getJob(id))!;
      expect(job.returnvalue).toEqual({ by: 'batch' });
      expect(job.stalledCounter).toBe(0);
      expect(job.attemptsMade).toBe(1);
    }
    expect(takenOver).toEqual([]);
    expect(stalledEvents).toEqual([]);
    expect(errors).toEqual([]);
  });
});
