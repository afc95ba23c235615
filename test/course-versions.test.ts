import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CourseVersions, decideVersion, type AppliedVersion } from '../src/hubspot/course-versions.ts';
import { instantOf } from '../src/events/timestamps.ts';
import { dropPrefix, redisUrl, SETTLE, testConfig } from './support/env.ts';
import { renewalsOf } from './support/locks.ts';
import { recordKey } from '../src/redis/keys.ts';
import { RedisLock } from '../src/redis/lock.ts';

const applied: AppliedVersion = {
  at: instantOf('2023-06-01T10:15:00Z'),
  digest: 'd1',
  planIds: ['a', 'b'],
  name: 'Course',
};

describe('decideVersion', () => {
  const cases: [
    title: string,
    prev: AppliedVersion | undefined,
    at: string,
    digest: string,
    plans: string[],
    expected: unknown,
  ][] = [
    ['first version applies', undefined, '2023-05-15T14:30:00Z', 'd0', ['a'], { action: 'apply', removedPlanIds: [] }],
    [
      'older is stale',
      applied,
      '2023-05-15T14:30:00Z',
      'd0',
      ['a'],
      { action: 'skip', reason: 'stale', previous: applied },
    ],
    [
      'same instant in +08:00, same content: duplicate',
      applied,
      '2023-06-01T18:15:00+08:00',
      'd1',
      ['a', 'b'],
      { action: 'skip', reason: 'duplicate', previous: applied },
    ],
    [
      'same instant, other content: applies',
      applied,
      '2023-06-01T10:15:00Z',
      'd2',
      ['a', 'b'],
      { action: 'apply', previous: applied, removedPlanIds: [] },
    ],
    [
      'newer with a plan gone: that plan is removed',
      applied,
      '2023-06-02T00:00:00Z',
      'd3',
      ['b', 'c'],
      { action: 'apply', previous: applied, removedPlanIds: ['a'] },
    ],
    [
      'newer with identical content still applies',
      applied,
      '2023-06-02T00:00:00Z',
      'd1',
      ['a', 'b'],
      { action: 'apply', previous: applied, removedPlanIds: [] },
    ],
    [
      'incomplete write (empty digest) is re-applied',
      { ...applied, digest: '' },
      '2023-06-01T10:15:00Z',
      '',
      ['a', 'b'],
      expect.objectContaining({ action: 'apply' }),
    ],
  ];
  it.each(cases)('%s', (_t, prev, at, digest, plans, expected) => {
    expect(decideVersion(prev, instantOf(at), digest, plans)).toEqual(expected);
  });
});

describe('CourseVersions on Redis', () => {
  let redis: Redis;
  let prefix: string;
  let versions: CourseVersions;
  beforeAll(() => {
    redis = new Redis(redisUrl());
    prefix = testConfig().redis.prefix;
    versions = new CourseVersions(redis, prefix, 5_000);
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('lets one holder at a time lock a course, and frees it on release', async () => {
    const first = await versions.lock('c1');
    expect(first).toBeDefined();
    expect(await versions.lock('c1')).toBeUndefined();
    expect(await versions.lock('c2')).toBeDefined();
    await versions.release(first!);
    const again = await versions.lock('c1');
    expect(again).toBeDefined();
    await versions.release(again!);
  });

  it('records a version only while the lease is held, and never moves backwards', async () => {
    const lease = (await versions.lock('c3'))!;
    expect(await versions.commit(lease, applied)).toBe(true);
    expect(await versions.get('c3')).toEqual(applied);
    expect(await versions.commit(lease, { ...applied, at: applied.at - 1, digest: 'old' })).toBe(false);
    expect((await versions.get('c3'))!.digest).toBe('d1');
    await versions.release(lease);
    expect(await versions.commit(lease, { ...applied, at: applied.at + 1 })).toBe(false);
    expect((await versions.get('c3'))!.at).toBe(applied.at);
  });

  it('keepAlive holds a lock past its lifetime and reports when another holder took it', async () => {
    const quick = new CourseVersions(redis, prefix, 600);
    const lease = (await quick.lock('c5'))!;
    const kept = quick.keepAlive(lease);
    try {
      await renewalsOf(redis, lease, 4); // every 200 ms: four renewals outlast the 600 ms lifetime
      expect(await quick.lock('c5')).toBeUndefined();
      expect(kept.lost).toBe(false);
      await redis.set(recordKey(prefix, 'course-lock', 'c5'), 'someone-else'); // as if it lapsed and was taken
      await vi.waitFor(() => expect(kept.lost).toBe(true), SETTLE);
    } finally {
      kept.stop();
    }
  });

  it('a lease taken over after expiry cannot be released or extended by its old holder', async () => {
    const short = new CourseVersions(redis, prefix, 5_000);
    const old = (await short.lock('c4'))!;
    await redis.del(recordKey(prefix, 'course-lock', 'c4')); // as if its TTL ran out
    const fresh = (await short.lock('c4'))!;
    expect(fresh).toBeDefined();
    // Renewing goes through the one lock, as keepAlive renews it while a course is written.
    const locks = new RedisLock(redis);
    expect(await locks.extend(old, 5_000)).toBe(false);
    await short.release(old);
    expect(await short.lock('c4')).toBeUndefined();
    expect(await locks.extend(fresh, 5_000)).toBe(true);
    await short.release(fresh);
  });
});
