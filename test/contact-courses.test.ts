import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ContactCourses, contactRecordDigest } from '../src/hubspot/contact-courses.ts';
import { recordKey } from '../src/redis/keys.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

// A contact's course record lives CONTACT_RECORD_TTL_DAYS: kept in short fields, it stays in Redis'
// compact hash encoding; records written before the course name had a field of its own, or before
// the record noted its contact, are read as they are.
const { prefix } = testConfig().redis;
let redis: Redis;
let courses: ContactCourses;
const key = (email: string) => recordKey(prefix, 'contact', contactRecordDigest(email));

beforeAll(() => {
  redis = new Redis(redisUrl());
  courses = new ContactCourses(redis, prefix);
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
});

it('keeps the last enrollment with its course name, in a compact hash', async () => {
  const [rec] = await courses.note([
    {
      email: 'a@example.com',
      courses: ['course_789012'],
      last: { at: 2_000, courseId: 'course_789012', courseName: 'Introduction to Programming' },
      contactId: '101',
    },
  ]);
  expect(rec).toEqual({
    courses: ['course_789012'],
    seeded: true,
    contactId: '101',
    last: { at: 2_000, courseId: 'course_789012', courseName: 'Introduction to Programming' },
  });
  expect(await redis.object('ENCODING', key('a@example.com'))).toBe('listpack');
  // An older enrollment changes nothing; a newer one without a name drops the old name.
  await courses.note([
    { email: 'a@example.com', courses: ['c2'], last: { at: 1_000, courseId: 'c2', courseName: 'Older' } },
  ]);
  expect((await courses.read(['a@example.com']))[0]!.last).toEqual({
    at: 2_000,
    courseId: 'course_789012',
    courseName: 'Introduction to Programming',
  });
  const [newer] = await courses.note([
    { email: 'a@example.com', courses: ['c3'], last: { at: 3_000, courseId: 'c3' } },
  ]);
  expect(newer!.last).toEqual({ at: 3_000, courseId: 'c3' });
  expect(newer!.courses).toEqual(['c2', 'c3', 'course_789012']);
});

it('reads a record written with the name inside the last enrollment, and folds names along', async () => {
  await redis.hset(
    key('old@example.com'),
    'seeded',
    '1',
    'c:c1',
    '1',
    'last',
    JSON.stringify({ at: 5_000, courseId: 'c1', courseName: 'Kept inside' }),
  );
  expect((await courses.read(['old@example.com']))[0]!.last).toEqual({
    at: 5_000,
    courseId: 'c1',
    courseName: 'Kept inside',
  });
  await courses.note([
    { email: 'from@example.com', courses: ['c9'], last: { at: 9_000, courseId: 'c9', courseName: 'Newest' } },
  ]);
  const kept = await courses.fold('from@example.com', 'old@example.com', '42');
  expect(kept).toEqual({
    courses: ['c1', 'c9'],
    seeded: true,
    last: { at: 9_000, courseId: 'c9', courseName: 'Newest' },
  });
});
