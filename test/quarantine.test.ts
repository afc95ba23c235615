import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Quarantine } from '../src/quarantine/store.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

let redis: Redis;
let prefix: string;
let n = 0;
/** A quarantine of its own per test (its own key), keeping about `max` entries. */
const quarantine = (max = 100) => new Quarantine(redis, `${prefix}-${++n}`, max);
const rejected = (body: string | Buffer, replayable = false) => ({
  status: replayable ? 422 : 401,
  reason: 'test',
  eventType: 'course.student_enroll',
  body,
  replayable,
});

beforeAll(() => {
  redis = new Redis(redisUrl());
  prefix = testConfig().redis.prefix;
});
afterAll(async () => {
  for (let i = 1; i <= n; i++) await dropPrefix(redis, `${prefix}-${i}`);
  await redis.quit();
});

describe('the quarantine size cap', () => {
  it('keeps about the newest `max` entries: the oldest are dropped, whole stream nodes at a time (MAXLEN ~)', async () => {
    const q = quarantine(100);
    const ids: string[] = [];
    for (let i = 0; i < 450; i++) ids.push(await q.add(rejected(`{"n":${i}}`)));
    // With `~` Redis trims only whole nodes of the stream, so a little more than `max` may stay.
    const nodeSize = Number((await redis.config('GET', 'stream-node-max-entries'))[1]);
    const size = await q.size();
    expect(size).toBeGreaterThanOrEqual(100);
    expect(size).toBeLessThan(100 + nodeSize);
    expect(size).toBeLessThan(450);
    // What is left is the newest ones, in order, newest first.
    const kept = await q.list(1000);
    expect(kept.map((e) => e.id)).toEqual(ids.slice(-size).reverse());
    expect(kept[0]!.body).toBe('{"n":449}');
    expect(await q.get(ids[0]!)).toBeUndefined();
  });

  it('never trims below `max`', async () => {
    const q = quarantine(100);
    for (let i = 0; i < 100; i++) await q.add(rejected(`{"n":${i}}`));
    expect(await q.size()).toBe(100);
  });
});

describe('bodies kept in quarantine', () => {
  const KB64 = 64 * 1024;

  it('cuts a body over 64 KB that cannot be replayed (unsigned, too large) and says so', async () => {
    const q = quarantine();
    const id = await q.add(rejected('x'.repeat(KB64 + 10)));
    const entry = (await q.get(id))!;
    expect(entry.body).toBe('x'.repeat(KB64));
    expect(entry).toMatchObject({ truncated: true, replayable: false, status: 401 });
  });

  it('keeps a replayable body whole, however large', async () => {
    const q = quarantine();
    const body = Buffer.from(`{"pad":"${'y'.repeat(KB64 * 2)}"}`);
    const entry = (await q.get(await q.add(rejected(body, true))))!;
    expect(entry.body).toBe(body.toString('utf8'));
    expect(entry).toMatchObject({ truncated: false, replayable: true, status: 422 });
  });

  it('keeps a body of exactly 64 KB whole', async () => {
    const q = quarantine();
    const entry = (await q.get(await q.add(rejected('z'.repeat(KB64)))))!;
    expect(entry.body).toHaveLength(KB64);
    expect(entry.truncated).toBe(false);
  });

  it('counts the limit in bytes, not characters', async () => {
    const q = quarantine();
    const entry = (await q.get(await q.add(rejected('é'.repeat(KB64)))))!; // 2 bytes each
    expect(entry.truncated).toBe(true);
    expect(entry.body).toBe('é'.repeat(KB64 / 2));
  });
});
