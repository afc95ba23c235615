import { Backoffs, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { validateEvent } from '../src/events/schemas.ts';
import { EventIntake } from '../src/queues/intake.ts';
import { jitteredDelay, jobAttemptOptions, jobRetention, WORKER_SETTINGS } from '../src/queues/jobs.ts';
import { QUEUES } from '../src/queues/names.ts';
import { endDedupeWindow } from './support/dedupe.ts';
import { dropPrefix, fixture, redisUrl, testConfig } from './support/env.ts';

// The intake writes BullMQ's job format with its own script (src/queues/bullmq-add.ts). Here the
// same jobs are added once by that script and once by the installed BullMQ's own Queue.add, each
// under its own prefix, and every key BullMQ keeps for them is compared. A BullMQ upgrade that moves
// the format fails this test.
let redis: Redis;
const queues: Queue[] = [];
const prefixes: string[] = [];

/** A config for the script's jobs and one for BullMQ's, each with its own prefix (every test its own pair). */
function pair(env: Record<string, string> = {}) {
  const [ours, theirs] = [testConfig(env), testConfig(env)];
  prefixes.push(ours.redis.prefix, theirs.redis.prefix);
  return { ours, theirs };
}

beforeAll(() => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  for (const prefix of prefixes) await dropPrefix(redis, prefix);
  await redis.quit();
});

function queue(prefix: string, name: string): Queue {
  const q = new Queue(name, { connection: redis, prefix });
  queues.push(q);
  return q;
}

function enrollment(id: string) {
  const body = fixture('course.student_enroll');
  body.data.id = id;
  return validateEvent('course.student_enroll', body.data);
}

/** Accepts `ids` through the intake (our script) under `ours`, and adds the same jobs with Queue.add under `theirs`. */
async function addBoth({ ours, theirs }: ReturnType<typeof pair>, ids: string[]): Promise<void> {
  const intake = new EventIntake(redis, ours);
  const outcomes = await Promise.all(ids.map((id) => intake.accept(enrollment(id), `enroll-${id}`, `c-${id}`)));
  expect(outcomes.every((o) => o === 'accepted')).toBe(true);
  for (const name of [QUEUES.contacts, QUEUES.email]) {
    for (const id of ids) {
      const stored = await redis.hgetall(`${ours.redis.prefix}:${name}:enroll-${id}`);
      const opts = { ...jobAttemptOptions(ours), jobId: `enroll-${id}`, timestamp: Number(stored.timestamp) };
      await queue(theirs.redis.prefix, name).add(stored.name!, JSON.parse(stored.data!), opts);
    }
  }
}

/** Everything BullMQ keeps for `name`'s jobs under `prefix`, with what differs between two adds (stream ids, the prefix) taken out. */
async function snapshot(prefix: string, name: string, ids: string[]) {
  const key = (part: string) => `${prefix}:${name}:${part}`;
  const jobs = await Promise.all(ids.map((id) => redis.hgetall(key(`enroll-${id}`))));
  const events = await redis.xrange(key('events'), '-', '+');
  return {
    jobs: jobs.map(({ opts, ...rest }) => {
      // Queue.add also keeps the job id and timestamp given in the options; the job's key and fields hold them already.
      const { jobId: _jobId, timestamp: _timestamp, ...kept } = JSON.parse(opts!) as Record<string, unknown>;
      return { ...rest, opts: kept };
    }),
    wait: await redis.lrange(key('wait'), 0, -1),
    marker: await redis.zrange(key('marker'), '0', '-1', 'WITHSCORES'),
    id: await redis.get(key('id')),
    maxLenEvents: await redis.hget(key('meta'), 'opts.maxLenEvents'),
    events: events.map(([, fields]) => fields),
  };
}

describe("the intake's jobs against BullMQ's own", () => {
  it('leaves the same job hashes, lists, marker, counter and event log as Queue.add', async () => {
    const { ours, theirs } = pair();
    const ids = ['fmt_1', 'fmt_2', 'fmt_3'];
    await addBoth({ ours, theirs }, ids);
    for (const name of [QUEUES.contacts, QUEUES.email]) {
      const a = await snapshot(ours.redis.prefix, name, ids);
      const b = await snapshot(theirs.redis.prefix, name, ids);
      expect(a).toEqual(b);
      expect(a.wait).toEqual(['enroll-fmt_3', 'enroll-fmt_2', 'enroll-fmt_1']);
      expect(a.events.map((e) => e[1])).toEqual(['added', 'waiting', 'added', 'waiting', 'added', 'waiting']);
    }
  });

  it('puts jobs of a paused queue on its wait list and wakes no worker, as Queue.add does', async () => {
    const { ours, theirs } = pair();
    for (const prefix of [ours.redis.prefix, theirs.redis.prefix]) await queue(prefix, QUEUES.email).pause();
    await redis.del(`${ours.redis.prefix}:${QUEUES.email}:marker`, `${theirs.redis.prefix}:${QUEUES.email}:marker`);
    await addBoth({ ours, theirs }, ['fmt_paused']);
    const a = await snapshot(ours.redis.prefix, QUEUES.email, ['fmt_paused']);
    expect(a).toEqual(await snapshot(theirs.redis.prefix, QUEUES.email, ['fmt_paused']));
    expect(a.wait).toEqual(['enroll-fmt_paused']);
    expect(a.marker).toEqual([]);
  });

  it('logs a job id already there as duplicated and leaves the job alone, as Queue.add does', async () => {
    const { ours, theirs } = pair();
    await addBoth({ ours, theirs }, ['fmt_dup']);
    const intake = new EventIntake(redis, ours);
    await endDedupeWindow(redis, ours.redis.prefix, 'enroll-fmt_dup'); // the dedupe marker is gone, the jobs are not
    const before = await redis.hgetall(`${ours.redis.prefix}:${QUEUES.contacts}:enroll-fmt_dup`);
    expect(await intake.accept(enrollment('fmt_dup'), 'enroll-fmt_dup', 'c-again')).toBe('accepted');
    await queue(theirs.redis.prefix, QUEUES.contacts).add('course.student_enroll', {}, { jobId: 'enroll-fmt_dup' });
    expect(await redis.hgetall(`${ours.redis.prefix}:${QUEUES.contacts}:enroll-fmt_dup`)).toEqual(before);
    const last = async (prefix: string) =>
      (await redis.xrevrange(`${prefix}:${QUEUES.contacts}:events`, '+', '-', 'COUNT', 1))[0]![1];
    expect(await last(ours.redis.prefix)).toEqual(['event', 'duplicated', 'jobId', 'enroll-fmt_dup']);
    expect(await last(ours.redis.prefix)).toEqual(await last(theirs.redis.prefix));
  });

  it('is processed by a BullMQ worker: data and options as given, retried on failure, kept per the worker retention', async () => {
    const { ours: own } = pair({ JOB_BACKOFF_MS: '50', COMPLETED_JOBS_KEEP: '2' });
    const intake = new EventIntake(redis, own);
    for (const id of ['run_1', 'run_2', 'run_3'])
      expect(await intake.accept(enrollment(id), `enroll-${id}`, `c-${id}`)).toBe('accepted');
    const seen: { id?: string; data: unknown; attempts?: number; attempt: number }[] = [];
    const worker = new Worker(
      QUEUES.contacts,
      async (job: Job) => {
        seen.push({ id: job.id, data: job.data, attempts: job.opts.attempts, attempt: job.attemptsMade + 1 });
        if (job.id === 'enroll-run_2' && job.attemptsMade === 0) throw new Error('first attempt fails');
        return 'done';
      },
      {
        connection: new Redis(redisUrl(), { maxRetriesPerRequest: null }),
        prefix: own.redis.prefix,
        ...jobRetention(own),
        settings: WORKER_SETTINGS,
      },
    );
    const q = queue(own.redis.prefix, QUEUES.contacts);
    try {
      await vi.waitFor(
        async () => {
          expect(seen).toHaveLength(4);
          expect((await q.getJob('enroll-run_2'))?.finishedOn).toBeDefined();
        },
        { timeout: 20_000, interval: 50 },
      );
      // Three completed, the worker's retention keeps two (the job's own options say nothing of it).
      expect(await q.getJobCounts('completed', 'failed', 'wait', 'delayed')).toEqual({
        completed: 2,
        failed: 0,
        wait: 0,
        delayed: 0,
      });
    } finally {
      await worker.close();
    }
    // The enrollment waits in its pending record (pending-events.ts): the job holds the correlation id.
    expect(seen.find((s) => s.id === 'enroll-run_3')).toEqual({
      id: 'enroll-run_3',
      data: { correlationId: 'c-run_3' },
      attempts: own.jobs.attempts,
      attempt: 1,
    });
    expect(seen.filter((s) => s.id === 'enroll-run_2').map((s) => s.attempt)).toEqual([1, 2]);
  });
});

describe('the jittered backoff', () => {
  it("waits what BullMQ's exponential backoff with a jitter of 0.5 waits", () => {
    for (const random of [0, 0.25, 0.999]) {
      vi.spyOn(Math, 'random').mockReturnValue(random);
      for (const attempt of [1, 2, 5, 8])
        expect(jitteredDelay(attempt, 2000)).toBe(
          Backoffs.calculate(
            { type: 'exponential', delay: 2000, jitter: 0.5 },
            attempt,
            new Error(),
            {} as Job,
            undefined,
          ),
        );
      vi.restoreAllMocks();
    }
    expect(jitteredDelay(3, 1000, 0)).toBe(2000);
    expect(jitteredDelay(3, 1000, 0.999)).toBe(3998);
  });
});
