import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.ts';
import { QUEUES } from '../src/queues/names.ts';
import { readTotals } from '../src/stats/counters.ts';
import { StatsKeys } from '../src/stats/keys.ts';
import { TraceSearch } from '../src/trace/search.ts';
import { Tracer } from '../src/trace/tracer.ts';
import { deadLetterRig, enrollmentJob } from './support/dead-letters.ts';
import { dropPrefix, redisUrl, SETTLE, testConfig } from './support/env.ts';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/**
 * `redis` (and its duplicates) whose `command` waits until `gate` opens: HMGET held is a tracer
 * lagging behind the workers; XREAD held, event streams slow to start reading.
 */
function held(redis: Redis, command: 'hmget' | 'xread', gate: Promise<void>): Redis {
  return new Proxy(redis, {
    get(target, prop) {
      if (prop === command)
        return async (...args: unknown[]) => (await gate, (target[command] as (...a: unknown[]) => unknown)(...args));
      if (prop === 'duplicate')
        return (...args: Parameters<Redis['duplicate']>) => held(target.duplicate(...args), command, gate);
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * A dead-letter rig on a prefix of its own (fast retries) and a started tracer on it. `hold` makes
 * the tracer's job reads (hmget) or its streams' reads (xread) wait until `open()`.
 */
async function tracing(hold?: 'hmget' | 'xread') {
  const config = testConfig({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '10' });
  const rig = deadLetterRig(config, redisUrl());
  closers.push(() => rig.stop());
  closers.push(() => dropPrefix(rig.redis, config.redis.prefix));
  let open!: () => void;
  const gate = new Promise<void>((ok) => (open = ok));
  closers.push(async () => open());
  const connect = () => new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const tracer = new Tracer({
    config,
    log: createLogger('silent'),
    connect: hold === 'xread' ? () => held(connect(), 'xread', gate) : connect,
    redis: hold === 'hmget' ? held(rig.redis, 'hmget', gate) : rig.redis,
    queues: rig.queues,
  });
  closers.push(() => tracer.close());
  await tracer.start();
  return { config, rig, tracer, open, search: new TraceSearch({ redis: rig.redis, config, queues: rig.queues }) };
}

describe('the tracer, counting for the overview', () => {
  it('counts the results of jobs that have no trace of their own (SendGrid event batches, status writes), and writes them no trace', async () => {
    const { config, rig } = await tracing();

    const worker = rig.work(QUEUES.emailEvents, async (job) => {
      if (job.name === 'bad' && job.attemptsMade === 0) throw new Error('first attempt fails');
      if (job.name === 'worse') throw new Error('every attempt fails');
      return { events: 1 };
    });
    closers.push(() => worker.close());
    const q = rig.queues.work[QUEUES.emailEvents];
    await q.add('good', { events: [] }, { jobId: 'sg-good' });
    await q.add('bad', { events: [] }, { jobId: 'sg-bad', attempts: 2, backoff: { type: 'fixed', delay: 1 } });
    await q.add('worse', { events: [] }, { jobId: 'sg-worse', attempts: 1 });

    const stats = new StatsKeys(config.redis.prefix);
    await vi.waitFor(async () => {
      const totals = (await readTotals(rig.redis, stats, [QUEUES.emailEvents]))[QUEUES.emailEvents]!;
      expect(totals.hour).toMatchObject({ completed: 2, retried: 1, failed: 1 });
    }, SETTLE);
    expect(await rig.redis.keys(`${config.redis.prefix}:cs:trace:*`)).toEqual([]);
  });
});

describe('the tracer, starting to follow the streams', () => {
  it('traces what happens between opening a stream and its first read (no saved cursor: not read from "$")', async () => {
    const { rig, tracer, open, search } = await tracing('xread');
    expect(tracer.leading).toBe(true);

    // Made while the streams are open but none has read yet (a take-over, a slow connection).
    await rig.kill(QUEUES.email, ['enroll_early']);
    open();

    await vi.waitFor(
      async () =>
        expect((await search.find('enroll-enroll_early'))[0]?.steps.map((s) => s.kind)).toContain('dead-lettered'),
      SETTLE,
    );
  });
});

describe('the tracer, reading the streams late', () => {
  it('gives each attempt its own duration, even once the next attempt has started', async () => {
    const { rig, open, search } = await tracing('hmget');

    const worker = rig.work(QUEUES.contacts, async (job) => {
      if (job.attemptsMade === 0) throw new Error('HubSpot answered 503 #1');
      open(); // the second attempt runs: the job's processedOn is now its start, not the first one's
      return 'synced';
    });
    closers.push(() => worker.close());
    await rig.queues.work[QUEUES.contacts].add('course.student_enroll', enrollmentJob('enroll_lagging'), {
      jobId: 'enroll-enroll_lagging',
      attempts: 2,
      backoff: { type: 'fixed', delay: 1 },
    });

    const steps = await vi.waitFor(async () => {
      const [journey] = await search.find('enroll-enroll_lagging');
      const mine = (journey?.steps ?? []).filter((s) => s.queue === QUEUES.contacts);
      expect(mine.map((s) => s.kind)).toEqual(['retrying', 'completed']);
      return mine;
    }, SETTLE);
    for (const step of steps) {
      expect(step.durationMs, `${step.kind} duration`).toBeTypeOf('number');
      expect(step.durationMs).toBeGreaterThanOrEqual(0);
    }
    // The first attempt ended before the second began.
    expect(Date.parse(steps[0]!.at)).toBeLessThanOrEqual(Date.parse(steps[1]!.at) - steps[1]!.durationMs!);
  });
});
