import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.ts';
import { QUEUES } from '../src/queues/names.ts';
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
