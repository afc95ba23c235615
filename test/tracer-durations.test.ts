import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.ts';
import { QUEUES } from '../src/queues/names.ts';
import { TraceSearch } from '../src/trace/search.ts';
import { Tracer } from '../src/trace/tracer.ts';
import { deadLetterRig, enrollmentJob } from './support/dead-letters.ts';
import { dropPrefix, redisUrl, SETTLE, testConfig } from './support/env.ts';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** `redis` whose HMGETs (the tracer's read of a job) wait until `gate` opens: a tracer lagging behind the workers. */
function lagging(redis: Redis, gate: Promise<void>): Redis {
  return new Proxy(redis, {
    get(target, prop) {
      if (prop === 'hmget') return async (...args: Parameters<Redis['hmget']>) => (await gate, target.hmget(...args));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('the tracer, reading the streams late', () => {
  it('gives each attempt its own duration, even once the next attempt has started', async () => {
    const config = testConfig();
    const rig = deadLetterRig(config, redisUrl());
    closers.push(() => rig.stop());
    closers.push(() => dropPrefix(rig.redis, config.redis.prefix));
    let open!: () => void;
    const gate = new Promise<void>((ok) => (open = ok));
    closers.push(async () => open());
    const tracer = new Tracer({ config, log: createLogger('silent'), connect: () => new Redis(redisUrl(), { maxRetriesPerRequest: null }), redis: lagging(rig.redis, gate), queues: rig.queues });
    closers.push(() => tracer.close());
    await tracer.start();

    const worker = rig.work(QUEUES.contacts, async (job) => {
      if (job.attemptsMade === 0) throw new Error('HubSpot answered 503 #1');
      open(); // the second attempt runs: the job's processedOn is now its start, not the first one's
      return 'synced';
    });
    closers.push(() => worker.close());
    await rig.queues.work[QUEUES.contacts].add('course.student_enroll', enrollmentJob('enroll_lagging'), { jobId: 'enroll-enroll_lagging', attempts: 2, backoff: { type: 'fixed', delay: 1 } });

    const search = new TraceSearch({ redis: rig.redis, config, queues: rig.queues });
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
