import fc from 'fast-check';
import { UnrecoverableError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateEvent } from '../src/events/schemas.ts';
import type { Enrollment } from '../src/events/types.ts';
import { EventIntake } from '../src/queues/intake.ts';
import type { EnrollmentJob } from '../src/queues/jobs.ts';
import { QUEUES } from '../src/queues/names.ts';
import {
  enrollmentFields,
  enrollmentFrom,
  erasePending,
  pendingKey,
  PendingEvents,
} from '../src/queues/pending-events.ts';
import { TraceReader } from '../src/trace/reader.ts';
import { TraceWriter } from '../src/trace/writer.ts';
import { endDedupeWindow } from './support/dedupe.ts';
import { fixture, redisUrl, testConfig } from './support/env.ts';
import { testWorkerDeps } from './support/worker-deps.ts';

// An enrollment's data is kept once, in its pending record, for both its jobs; it goes when both are
// done, the trace header is written then, and the dedupe marker alone stays for the rest of its window.
describe('the enrollment in its pending record', () => {
  const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
  const value = fc.oneof(
    scalar,
    fc.array(scalar, { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 4 }), scalar, { maxKeys: 3 }),
  );
  const keyName = fc.oneof(fc.constantFrom('id', 'name', 'a.b', 'email', 'x', 'e:y'), fc.string({ maxLength: 5 }));
  const object = fc.dictionary(keyName, fc.oneof(value, fc.dictionary(keyName, value, { maxKeys: 4 })), { maxKeys: 6 });

  it('comes back from its fields exactly as it went in (extra fields, nulls, nested values and dotted names too)', () => {
    fc.assert(
      fc.property(object, (o) => {
        const e = JSON.parse(JSON.stringify({ ...o, id: 'enroll_1' })) as Enrollment;
        expect(enrollmentFrom(Object.fromEntries(enrollmentFields(e)))).toEqual(e);
      }),
      { numRuns: 2000 },
    );
    const seed = fixture('course.student_enroll').data as Enrollment;
    expect(enrollmentFrom(Object.fromEntries(enrollmentFields(seed)))).toEqual(seed);
  });

  it('keeps a typical enrollment in short fields (a compact hash in Redis)', () => {
    const fields = enrollmentFields(fixture('course.student_enroll').data as Enrollment);
    expect(fields.every(([f, v]) => f.length + v.length <= 64)).toBe(true);
    expect(fields.map(([f]) => f)).not.toContain('x');
  });
});

describe('an accepted enrollment until its jobs are done', () => {
  const config = testConfig({ DEDUPE_TTL_SECONDS: '3600', PII_RETENTION_DAYS: '2' });
  let deps: ReturnType<typeof testWorkerDeps>;
  let intake: EventIntake;

  beforeAll(() => {
    deps = testWorkerDeps(config);
    intake = new EventIntake(deps.redis, config, new TraceWriter(deps.redis, config));
  });
  afterAll(async () => deps.stop());

  async function accept(id: string): Promise<{ contacts: Job<EnrollmentJob>; email: Job<EnrollmentJob> }> {
    const body = fixture('course.student_enroll');
    body.data.id = id;
    expect(await intake.accept(validateEvent('course.student_enroll', body.data), `enroll-${id}`, `c-${id}`)).toBe(
      'accepted',
    );
    const [contacts, email] = await Promise.all([
      deps.queues.work[QUEUES.contacts].getJob(`enroll-${id}`),
      deps.queues.work[QUEUES.email].getJob(`enroll-${id}`),
    ]);
    return { contacts: contacts!, email: email! };
  }
  const record = (id: string) => deps.redis.hgetall(pendingKey(config.redis.prefix, `enroll-${id}`));
  const trace = (id: string) => new TraceReader(deps.redis, config).load([`enroll-${id}`]);

  it('is read by each job, shown in its trace, and released by the last job done: then the header is written and the dedupe marker alone stays', async () => {
    const { contacts, email } = await accept('held_1');
    expect(contacts.data).toEqual({ correlationId: 'c-held_1' });
    expect(await deps.redis.ttl(pendingKey(config.redis.prefix, 'enroll-held_1'))).toBeGreaterThan(2 * 86_400 - 60);
    // Searchable while it waits: the header comes from the pending record.
    expect((await trace('held_1'))[0]!.header).toMatchObject({
      enrollmentId: 'held_1',
      studentEmail: 's***@example.com',
      correlationId: 'c-held_1',
    });
    expect(await deps.redis.exists(`${config.redis.prefix}:cs:trace:enroll-held_1`)).toBe(0);

    await deps.pending.resolve([contacts, email]);
    expect(contacts.data.enrollment).toMatchObject({ id: 'held_1', user: { email: 'student@example.com' } });
    await deps.pending.done(QUEUES.contacts, contacts);
    expect(await record('held_1')).toMatchObject({
      'e:user.email': '"student@example.com"',
      [`q:${QUEUES.email}`]: '1',
    });
    await deps.pending.done(QUEUES.email, email);

    const marker = pendingKey(config.redis.prefix, 'enroll-held_1');
    expect(await deps.redis.get(marker)).toBe(String(email.timestamp));
    const ttl = await deps.redis.pttl(pendingKey(config.redis.prefix, 'enroll-held_1'));
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    const [done] = await trace('held_1');
    expect(done!.header).toMatchObject({
      key: 'enroll-held_1',
      enrollmentId: 'held_1',
      studentEmail: 's***@example.com',
      queues: [QUEUES.contacts, QUEUES.email],
    });
    expect(await deps.redis.ttl(`${config.redis.prefix}:cs:trace:enroll-held_1`)).toBeGreaterThan(29 * 86_400);
    // The done jobs keep the student's data masked, as every done job does.
    expect((await deps.queues.work[QUEUES.email].getJob('enroll-held_1'))!.data.enrollment.user.email).toBe(
      's***@example.com',
    );
    // A redelivery within the window is still a duplicate.
    const body = fixture('course.student_enroll');
    body.data.id = 'held_1';
    expect(await intake.accept(validateEvent('course.student_enroll', body.data), 'enroll-held_1', 'again')).toBe(
      'duplicate',
    );
    // Releasing twice changes nothing.
    await deps.pending.done(QUEUES.email, email);
    expect(await deps.redis.get(marker)).toBe(String(email.timestamp));
  });

  it('is not held again for a redelivery past its dedupe window whose jobs are still kept: no job to release it, a plain marker', async () => {
    const { contacts, email } = await accept('held_kept');
    await deps.pending.resolve([contacts, email]);
    await deps.pending.done(QUEUES.contacts, contacts);
    await deps.pending.done(QUEUES.email, email);
    await endDedupeWindow(deps.redis, config.redis.prefix, 'enroll-held_kept'); // the dedupe window over, the done jobs still kept
    const counts = () => Promise.all([QUEUES.contacts, QUEUES.email].map((q) => deps.queues.work[q].getJobCounts()));
    const before = await counts();

    const body = fixture('course.student_enroll');
    body.data.id = 'held_kept';
    expect(await intake.accept(validateEvent('course.student_enroll', body.data), 'enroll-held_kept', 'late')).toBe(
      'accepted',
    );

    expect(await counts()).toEqual(before);
    const marker = pendingKey(config.redis.prefix, 'enroll-held_kept');
    expect(await deps.redis.type(marker)).toBe('string');
    expect(await deps.redis.ttl(marker)).toBeLessThanOrEqual(3600);
    expect(await deps.redis.ttl(marker)).toBeGreaterThan(3500);
  });

  it('goes to the dead letter with the job that failed for good, so a replay has it', async () => {
    const { contacts } = await accept('held_dead');
    await deps.pending.resolve([contacts]);
    expect(
      await deps.deadLetters.recordFailure(QUEUES.contacts, contacts, new UnrecoverableError('HubSpot said no')),
    ).toBe(true);
    const letter = await deps.deadLetters.get(QUEUES.contacts, 'enroll-held_dead');
    expect(letter!.data.data).toMatchObject({
      correlationId: 'c-held_dead',
      enrollment: { id: 'held_dead', user: { email: 'student@example.com' } },
    });
    // The email job still needs the enrollment: kept until that one is done too.
    expect(await record('held_dead')).toHaveProperty('e:user.email');
    expect((await deps.deadLetters.replay(QUEUES.contacts, ['enroll-held_dead'])).replayed).toEqual([
      'enroll-held_dead',
    ]);
    const replayed = await deps.queues.work[QUEUES.contacts].getJob('enroll-held_dead');
    expect(replayed!.data.enrollment.user.email).toBe('student@example.com');
  });

  it('is not taken for erased when Redis fails to read it: the job fails (and is retried) with its reference intact', async () => {
    const { contacts } = await accept('held_unread');
    // A real refusal from Redis for the read (an ACL user without HGETALL), as a failover or a
    // command error mid-pipeline would give.
    const user = `cs-test-${config.redis.prefix}`;
    await deps.redis.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-hgetall');
    const limited = new Redis(redisUrl(), { username: user, password: 'pw', maxRetriesPerRequest: null });
    try {
      await expect(new PendingEvents(limited, config).resolve([contacts])).rejects.toThrow(/NOPERM/);
      expect(contacts.data).toEqual({ correlationId: 'c-held_unread' });
    } finally {
      await limited.quit();
      await deps.redis.call('ACL', 'DELUSER', user);
    }
    // Read normally it has its enrollment; once released (a plain marker), a job run again reads
    // that nothing is left to do, as a forgotten one does.
    await deps.pending.resolve([contacts]);
    expect(contacts.data.enrollment).toMatchObject({ id: 'held_unread' });
    const email = (await deps.queues.work[QUEUES.email].getJob('enroll-held_unread'))!;
    await deps.pending.resolve([email]);
    await deps.pending.done(QUEUES.contacts, contacts);
    await deps.pending.done(QUEUES.email, email);
    const again = (await deps.queues.work[QUEUES.contacts].getJob('enroll-held_unread'))!;
    again.data = { correlationId: 'c-held_unread' } as EnrollmentJob;
    await deps.pending.resolve([again]);
    expect(again.data).toMatchObject({ personalDataRemoved: true });
  });

  it('once erased (forget), leaves its jobs nothing to act on and keeps the dedupe marker', async () => {
    const { contacts } = await accept('held_forgotten');
    await erasePending(deps.redis, config.redis.prefix, 'enroll-held_forgotten');
    const left = await record('held_forgotten');
    expect(Object.keys(left).filter((f) => f.startsWith('e:') || f === 'x')).toEqual([]);
    expect(left.at).toBeDefined();
    await deps.pending.resolve([contacts]);
    expect(contacts.data).toMatchObject({ personalDataRemoved: true });
    expect(contacts.data.enrollment).toBeUndefined();
  });
});
