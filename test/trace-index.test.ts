import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentKey } from '../src/events/idempotency-key.ts';
import { resolvePiiHasher, type PiiHasher } from '../src/privacy/pii-hash.ts';
import { applyRecordWrites, type AcceptedEvent } from '../src/queues/record-write.ts';
import { dayOf, DayIndex, shortEmailHash } from '../src/trace/day-index.ts';
import { TraceKeys } from '../src/trace/keys.ts';
import { TraceReader } from '../src/trace/reader.ts';
import { TraceWriter } from '../src/trace/writer.ts';
import { runCli } from './support/cli.ts';
import { dropPrefix, fixture, redisUrl, testConfig } from './support/env.ts';

// The trace index by day: one hash per day for addresses (their keyed hash), one list per course and
// day; each expires whole. The sorted sets earlier versions wrote per address and course are read
// while they live. forget and export find the student's entries in both.
const config = testConfig();
const prefix = config.redis.prefix;
const DAY = 86_400_000;
let redis: Redis;
let writer: TraceWriter;
let reader: TraceReader;
let hasher: PiiHasher;
const days = new DayIndex(prefix, config.trace.retentionDays);
const keys = new TraceKeys(prefix);

/** Takes in enrollment `id` of `email` in `course` as the intake does (its index entries and trace header), received at `at`. */
async function accepted(id: string, email: string, course: string, at = Date.now()): Promise<string> {
  const body = fixture('course.student_enroll');
  const event: AcceptedEvent = {
    key: enrollmentKey(id),
    type: 'course.student_enroll',
    receivedAt: new Date(at).toISOString(),
    correlationId: `c-${id}`,
    queues: ['crm-contacts', 'email-welcome'],
    data: {
      ...body.data,
      id,
      user: { ...body.data.user, id: `user-${id}`, email },
      course: { ...body.data.course, id: course },
    },
  };
  await writer.ready();
  await applyRecordWrites(redis, [...writer.accepted(event), writer.finalRecord(event)]);
  return event.key;
}

/** What the earlier version wrote for a trace: a sorted set per address and per course, scored by the time. */
async function acceptedBefore(id: string, email: string, course: string, at: number): Promise<string> {
  const key = enrollmentKey(id);
  await redis
    .multi()
    .zadd(keys.index('email', hasher.hash(email)), at, key)
    .zadd(keys.index('course', course), at, key)
    .hset(
      keys.trace(key),
      'h',
      JSON.stringify({
        eventType: 'course.student_enroll',
        receivedAt: new Date(at).toISOString(),
        queues: [],
        enrollmentId: id,
      }),
    )
    .exec();
  return key;
}

beforeAll(async () => {
  redis = new Redis(redisUrl());
  writer = new TraceWriter(redis, config);
  reader = new TraceReader(redis, config);
  hasher = await resolvePiiHasher(redis, prefix, config.trace.piiHashKey);
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe('the trace index by day', () => {
  it('holds an address once a day in a hash field (its short keyed hash), a course in a list, each expiring whole past retention', async () => {
    const first = await accepted('idx-1', 'Idx@example.com', 'course_idx');
    const second = await accepted('idx-2', 'idx@example.com', 'course_idx');
    const today = dayOf(Date.now());
    expect(await redis.hget(days.emailKey(today), shortEmailHash(hasher.hash('idx@example.com')))).toBe(
      `${first} ${second}`,
    );
    expect(await redis.lrange(days.listKey('course', 'course_idx', today), 0, -1)).toEqual([first, second]);
    expect(
      await redis.exists(keys.index('email', hasher.hash('idx@example.com')), keys.index('course', 'course_idx')),
    ).toBe(0);
    for (const key of [days.emailKey(today), days.listKey('course', 'course_idx', today)]) {
      const ttl = await redis.ttl(key);
      expect(Math.abs(ttl - (days.expireAt(Date.now()) - Date.now() / 1000))).toBeLessThan(5);
      expect(ttl).toBeGreaterThan(config.trace.retentionDays * 86_400);
    }
    expect(JSON.stringify(await redis.hgetall(days.emailKey(today)))).not.toMatch(/idx@example\.com/i);
  });

  it('is searched with the sorted sets of the earlier version, newest first, by address and by course', async () => {
    const old = await acceptedBefore('mix-old', 'mix@example.com', 'course_mix', Date.now() - 3 * DAY);
    const yesterday = await accepted('mix-yesterday', 'mix@example.com', 'course_mix', Date.now() - DAY);
    const other = await accepted('mix-other', 'other@example.com', 'course_mix');
    const now = await accepted('mix-now', 'MIX@example.com', 'course_mix');
    expect(await reader.findKeys('mix@example.com')).toEqual([now, yesterday, old]);
    expect(await reader.findKeys('course_mix')).toEqual([now, other, yesterday, old]);
    expect(await reader.findKeys('course_mix', 2)).toEqual([now, other]);
    expect(await reader.findKeys('nobody@example.com')).toEqual([]);
  });

  it("gives forget and export only the student's field of a shared day, and their traces; the earlier version's sorted set too", async () => {
    const gone = await accepted('fgt-1', 'fgt@example.com', 'course_fgt');
    const old = await acceptedBefore('fgt-old', 'fgt@example.com', 'course_fgt', Date.now() - 2 * DAY);
    const stays = await accepted('fgt-2', 'stays@example.com', 'course_fgt');
    const today = dayOf(Date.now());
    const cli = (...args: string[]) => runCli(args, { REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix });

    const exported = JSON.parse((await cli('export', 'fgt@example.com')).stdout) as {
      records: { where: string; content: unknown }[];
    };
    expect(exported.records).toEqual(
      expect.arrayContaining([
        {
          kind: 'trace index entries',
          where: `${days.emailKey(today)}/${shortEmailHash(hasher.hash('fgt@example.com'))}`,
          content: gone,
        },
      ]),
    );
    expect(exported.records.map((r) => r.where)).toEqual(
      expect.arrayContaining([keys.trace(gone), keys.trace(old), keys.index('email', hasher.hash('fgt@example.com'))]),
    );

    const forgotten = await cli('forget', 'fgt@example.com', '--yes');
    expect(forgotten.stdout).toMatch(/nothing left in Redis names the student/);
    expect(Object.keys(await redis.hgetall(days.emailKey(today)))).not.toContain(
      shortEmailHash(hasher.hash('fgt@example.com')),
    );
    expect(await redis.hget(days.emailKey(today), shortEmailHash(hasher.hash('stays@example.com')))).toBe(stays);
    expect(await redis.lrange(days.listKey('course', 'course_fgt', today), 0, -1)).toEqual([stays]);
    expect(
      await redis.exists(keys.trace(gone), keys.trace(old), keys.index('email', hasher.hash('fgt@example.com'))),
    ).toBe(0);
    expect(await redis.zrange(keys.index('course', 'course_fgt'), 0, '-1')).toEqual([]);
  });
});
