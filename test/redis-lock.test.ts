import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { leaseToken, LockTimeoutError, RedisLock, type Lease } from '../src/redis/lock.ts';
import { dropPrefix, redisUrl, SETTLE, testConfig } from './support/env.ts';
import { renewalsOf } from './support/locks.ts';

// Two connections stand for two processes contending for one lock.
let a: Redis;
let b: Redis;
let prefix: string;
let n = 0;
/** A fresh key per test, under the test prefix. */
const key = () => `${prefix}:lock:${++n}`;

beforeAll(() => {
  a = new Redis(redisUrl());
  b = new Redis(redisUrl());
  prefix = testConfig().redis.prefix;
});
afterAll(async () => {
  await dropPrefix(a, prefix);
  await Promise.all([a.quit(), b.quit()]);
});

describe('RedisLock', () => {
  it('has one holder at a time, for its TTL', async () => {
    const k = key();
    const [mine, theirs] = await Promise.all([
      new RedisLock(a).tryAcquire(k, 60_000),
      new RedisLock(b).tryAcquire(k, 60_000),
    ]);
    const held = [mine, theirs].filter((l): l is Lease => !!l);
    expect(held).toHaveLength(1);
    expect(await a.get(k)).toBe(held[0]!.token);
    expect(await a.pttl(k)).toBeGreaterThan(50_000);
    expect(await new RedisLock(b).tryAcquire(`${k}:other`, 60_000)).toBeDefined();
  });

  it('is released and extended only by its holder', async () => {
    const k = key();
    const lease = (await new RedisLock(a).tryAcquire(k, 10_000))!;
    const other = new RedisLock(b);
    const impostor = { key: k, token: leaseToken() };
    expect(await other.release(impostor)).toBe(false);
    expect(await other.extend(impostor, 60_000)).toBe(false);
    expect(await a.get(k)).toBe(lease.token);
    expect(await a.pttl(k)).toBeLessThanOrEqual(10_000);

    expect(await other.extend(lease, 60_000)).toBe(true); // the token is the proof, whichever connection
    expect(await a.pttl(k)).toBeGreaterThan(50_000);
    expect(await new RedisLock(a).release(lease)).toBe(true);
    expect(await a.exists(k)).toBe(0);
    expect(await new RedisLock(a).release(lease)).toBe(false);
  });

  it('cannot be released or extended by a holder whose lease lapsed and was taken since', async () => {
    const k = key();
    const lock = new RedisLock(a);
    const old = (await lock.tryAcquire(k, 10_000))!;
    await a.del(k); // as if its TTL ran out
    const fresh = (await new RedisLock(b).tryAcquire(k, 10_000))!;
    expect(await lock.extend(old, 60_000)).toBe(false);
    expect(await lock.release(old)).toBe(false);
    expect(await a.get(k)).toBe(fresh.token);
  });

  it('hold() elects one leader, renews it, and lets another take over once it is gone', async () => {
    const k = key();
    const first = { key: k, token: leaseToken() };
    const second = { key: k, token: leaseToken() };
    const one = new RedisLock(a);
    const two = new RedisLock(b);
    expect(await one.hold(first, 5_000)).toBe(true);
    expect(await two.hold(second, 5_000)).toBe(false);
    expect(await one.hold(first, 60_000)).toBe(true); // renewed by the leader
    expect(await a.pttl(k)).toBeGreaterThan(50_000);
    expect(await two.hold(second, 5_000)).toBe(false);

    expect(await one.release(first)).toBe(true); // the leader steps down (or its TTL runs out)
    expect(await two.hold(second, 5_000)).toBe(true);
    expect(await one.hold(first, 5_000)).toBe(false);
    expect(await a.get(k)).toBe(second.token);
  });

  it('keepAlive() keeps a lock past its lifetime, and stops renewing on stop()', async () => {
    const k = key();
    const lock = new RedisLock(a);
    const lease = (await lock.tryAcquire(k, 600))!;
    const kept = lock.keepAlive(lease, 600);
    try {
      await renewalsOf(b, lease, 4); // every 200 ms: four renewals outlast the 600 ms lifetime
      expect(await new RedisLock(b).tryAcquire(k, 600)).toBeUndefined();
      expect(kept.lost).toBe(false);
    } finally {
      kept.stop();
    }
    await vi.waitFor(async () => expect(await b.exists(k)).toBe(0), SETTLE); // lapses on its own
    expect(kept.lost).toBe(false);
  });

  it('keepAlive() reports `lost` once another holder has the lock', async () => {
    const k = key();
    const lock = new RedisLock(a);
    const lease = (await lock.tryAcquire(k, 600))!;
    const kept = lock.keepAlive(lease, 600);
    try {
      await b.set(k, 'someone-else', 'PX', 60_000); // as if it lapsed and was taken
      await vi.waitFor(() => expect(kept.lost).toBe(true), SETTLE);
      expect(await b.get(k)).toBe('someone-else'); // and the renewal did not take it back
    } finally {
      kept.stop();
    }
  });

  it('acquire() waits while the lock is held and takes it once released', async () => {
    const k = key();
    const holder = new RedisLock(a);
    const held = (await holder.tryAcquire(k, 60_000))!;
    let got: Lease | undefined;
    const waiting = new RedisLock(b).acquire(k, 60_000, 30_000).then((l) => (got = l));
    expect(await a.get(k)).toBe(held.token);
    expect(got).toBeUndefined();
    await holder.release(held);
    const lease = await waiting;
    expect(lease.token).not.toBe(held.token);
    expect(await a.get(k)).toBe(lease.token);
  });

  it('acquire() gives up with LockTimeoutError after waitMs, and stops at once when aborted', async () => {
    const k = key();
    await new RedisLock(a).tryAcquire(k, 60_000);
    const err = await new RedisLock(b).acquire(k, 1000, 100).catch((e) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err.message).toBe(`could not take the lock ${k} within 100 ms`);

    const abort = new AbortController();
    const aborted = new RedisLock(b).acquire(k, 1000, 60_000, abort.signal).catch((e) => e);
    abort.abort();
    expect(await aborted).toMatchObject({ name: 'AbortError' });
  });

  it('withLock() runs the work under the lock and releases it, also when the work throws', async () => {
    const k = key();
    const lock = new RedisLock(a);
    expect(await lock.withLock(k, 60_000, 1000, async () => (await b.get(k)) !== null)).toBe(true);
    expect(await a.exists(k)).toBe(0);
    await expect(lock.withLock(k, 60_000, 1000, async () => Promise.reject(new Error('work failed')))).rejects.toThrow(
      'work failed',
    );
    expect(await a.exists(k)).toBe(0);
  });
});
