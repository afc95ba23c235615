import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.ts';
import { QUEUES } from '../src/queues/names.ts';
import { readTotals } from '../src/stats/counters.ts';
import { StatsKeys } from '../src/stats/keys.ts';
import { TraceSearch } from '../src/trace/search.ts';
import { Tracer } from '../src/trace/tracer.ts';
import { deadLetterRig } from './support/dead-letters.ts';
import { dropPrefix, redisUrl, SETTLE, testConfig } from './support/env.ts';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A connection (and its duplicates) whose XREADs wait until `gate` opens: event streams slow to start reading. */
function slowToRead(redis: Redis, gate: Promise<void>): Redis {
  return new Proxy(redis, {
    get(target, prop) {
      if (prop === 'xread') return async (...args: unknown[]) => (await gate, (target.xread as (...a: unknown[]) => unknown)(...args));
      if (prop === 'duplicate') return (...args: Parameters<Redis['duplicate']>) => slowToRead(target.duplicate(...args), gate);
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('the tracer, counting for the overview', () => {
  it('counts the results of jobs that have no trace of their own (SendGrid event batches, status writes), and writes them no trace', async () => {
    const config = testConfig({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '10' });
    const rig = deadLetterRig(config, redisUrl());
    closers.push(() => rig.stop());
    closers.push(() => dropPrefix(rig.redis, config.redis.prefix));
    const tracer = new Tracer({ config, log: createLogger('silent'), connect: () => new Redis(redisUrl(), { maxRetriesPerRequest: null }), redis: rig.redis, queues: rig.queues });
    closers.push(() => tracer.close());
    await tracer.start();

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
    const config = testConfig({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '10' });
    const rig = deadLetterRig(config, redisUrl());
    closers.push(() => rig.stop());
    closers.push(() => dropPrefix(rig.redis, config.redis.prefix));
    let open!: () => void;
    const gate = new Promise<void>((ok) => (open = ok));
    closers.push(async () => open());
    const tracer = new Tracer({ config, log: createLogger('silent'), connect: () => slowToRead(new Redis(redisUrl(), { maxRetriesPerRequest: null }), gate), redis: rig.redis, queues: rig.queues });
    closers.push(() => tracer.close());
    await tracer.start();
    expect(tracer.leading).toBe(true);

    // Made while the streams are open but none has read yet (a take-over, a slow connection).
    await rig.kill(QUEUES.email, ['enroll_early']);
    open();

    const search = new TraceSearch({ redis: rig.redis, config, queues: rig.queues });
    await vi.waitFor(async () => expect((await search.find('enroll-enroll_early'))[0]?.steps.map((s) => s.kind)).toContain('dead-lettered'), SETTLE);
  });
});
