import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgePastRetention } from '../src/student-data/retention.ts';
import { DeadLetters, type DeadLetter } from '../src/queues/dead-letter.ts';
import { QUEUES, type WorkQueueName } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { Quarantine } from '../src/quarantine/store.ts';
import { enrollmentJob } from './support/dead-letters.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

// PII_RETENTION_DAYS: dead letters and quarantined deliveries past the age go, the others stay — to the millisecond.
const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const config = testConfig({ PII_RETENTION_DAYS: '30' });
let redis: Redis;
let queues: QueueSet;
let deadLetters: DeadLetters;
let quarantine: Quarantine;

async function letter(queue: WorkQueueName, id: string, deadAtMs: number): Promise<void> {
  const data = enrollmentJob(id);
  const l: DeadLetter = {
    queue,
    jobId: data.key,
    name: 'course.student_enroll',
    data,
    attemptsMade: 1,
    errors: [],
    deadAt: new Date(deadAtMs).toISOString(),
    unrecoverable: true,
  };
  await queues.deadLetter[queue].add('course.student_enroll', l, { jobId: data.key });
}

beforeAll(() => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  queues = openQueues(redis, config);
  deadLetters = new DeadLetters(redis, queues, config.redis.prefix);
  quarantine = new Quarantine(redis, config.redis.prefix, 1000);
});
afterAll(async () => {
  await queues.close();
  await dropPrefix(redis, config.redis.prefix);
  await redis.quit();
});

describe('the retention purge', () => {
  it('removes exactly the dead letters and quarantined deliveries older than PII_RETENTION_DAYS', async () => {
    const cutoff = NOW - 30 * DAY;
    await letter(QUEUES.contacts, 'old-contact', cutoff - 1);
    await letter(QUEUES.contacts, 'young-contact', cutoff + 1);
    await letter(QUEUES.email, 'old-email', cutoff - 5 * DAY);
    await letter(QUEUES.email, 'young-email', NOW - DAY);
    // Stream ids start with the time the entry was added.
    for (const [ms, name] of [
      [cutoff - DAY, 'old-1'],
      [cutoff - 1, 'old-2'],
      [cutoff, 'at-cutoff'],
      [cutoff + 1, 'young-1'],
      [NOW, 'young-2'],
    ] as const) {
      await redis.xadd(quarantine.key, `${ms}-0`, 'reason', name, 'body', '{}');
    }

    expect(config.privacy.retentionDays).toBe(30);
    expect(await purgePastRetention({ deadLetters, quarantine }, config.privacy.retentionDays, NOW)).toEqual({
      deadLetters: 2,
      quarantined: 2,
    });
    expect((await deadLetters.list(QUEUES.contacts)).map((l) => l.id)).toEqual(['enroll-young-contact']);
    expect((await deadLetters.list(QUEUES.email)).map((l) => l.id)).toEqual(['enroll-young-email']);
    expect((await quarantine.list()).map((e) => e.reason)).toEqual(['young-2', 'young-1', 'at-cutoff']);

    // Nothing more the second time.
    expect(await purgePastRetention({ deadLetters, quarantine }, config.privacy.retentionDays, NOW)).toEqual({
      deadLetters: 0,
      quarantined: 0,
    });
  });
});
