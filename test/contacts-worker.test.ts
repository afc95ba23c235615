import { afterEach, describe, expect, it, vi } from 'vitest';
import { contactRecordDigest } from '../src/hubspot/contact-courses.ts';
import { QUEUES } from '../src/queues/names.ts';
import { recordKey } from '../src/redis/keys.ts';
import { contactsRig, enrollment, type ContactsRig } from './support/hubspot.ts';
import { SETTLE } from './support/env.ts';

let rig: ContactsRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const courses = (r: ContactsRig, email: string) =>
  r.em.state.values(r.em.state.contact(email), 'loopwise_enrolled_courses').sort();
const deadLetters = (r: ContactsRig) => r.deps.deadLetters.list(QUEUES.contacts);

describe('crm-contacts worker', () => {
  it('turns the seed enrollment into a contact with the right properties, creating the set-up first', async () => {
    rig = await contactsRig();
    const [job] = await rig.add(enrollment('enroll_123456'));
    await rig.startWorker();
    const [done] = await rig.settled([job!]);

    const contact = rig.em.state.contact('student@example.com')!;
    expect(contact.properties).toMatchObject({
      email: 'student@example.com',
      firstname: 'Sample',
      lastname: 'User',
      phone: '+1234567890',
      loopwise_user_id: 'user_345678',
      loopwise_last_course_id: 'course_789012',
      loopwise_last_course_name: 'Introduction to Programming',
      loopwise_last_enrolled_at: '2023-05-15T14:30:00.000Z',
      loopwise_enrolled_courses: 'course_789012',
    });
    expect(done!.returnvalue).toEqual({ contactId: contact.id, created: true });
    const option = rig.em.state.properties.contacts.get('loopwise_enrolled_courses')!.options;
    expect(option).toEqual([expect.objectContaining({ value: 'course_789012', label: 'Introduction to Programming' })]);
    expect(rig.em.state.groups.contacts.has('loopwise')).toBe(true);
    expect(rig.em.state.properties.contacts.get('loopwise_last_enrolled_at')!.type).toBe('datetime');
    expect(await deadLetters(rig)).toEqual([]);
  });

  it("keeps the student's course record for CONTACT_RECORD_TTL_DAYS after the write", async () => {
    rig = await contactsRig({ CONTACT_RECORD_TTL_DAYS: '3' });
    const jobs = await rig.add(enrollment('ttl1', { email: 'ttl@example.com' }));
    await rig.startWorker();
    await rig.settled(jobs);
    const key = recordKey(rig.config.redis.prefix, 'contact', contactRecordDigest('ttl@example.com'));
    expect(await rig.deps.redis.hexists(key, 'c:course_789012')).toBe(1);
    const ttl = await rig.deps.redis.ttl(key);
    expect(ttl).toBeGreaterThan(3 * 86_400 - 60);
    expect(ttl).toBeLessThanOrEqual(3 * 86_400);
  });

  it('writes two students of one batch in one upsert request', async () => {
    rig = await contactsRig();
    const jobs = await rig.add(
      enrollment('e1', { email: 'one@example.com', name: 'One A' }),
      enrollment('e2', { email: 'two@example.com', name: 'Two B' }),
    );
    await rig.startWorker();
    await rig.settled(jobs);
    expect(rig.upserts().map((inputs) => inputs.map((i) => i.id).sort())).toEqual([
      ['one@example.com', 'two@example.com'],
    ]);
    expect(rig.em.state.contact('one@example.com')!.properties.firstname).toBe('One');
    expect(rig.em.state.contact('two@example.com')!.properties.firstname).toBe('Two');
  });

  it('merges the same student twice in one batch into one input with both courses', async () => {
    rig = await contactsRig();
    const jobs = await rig.add(
      enrollment('e1', { email: 'Twice@Example.com' }, { id: 'c1', name: 'First course' }, '2023-05-01T00:00:00Z'),
      enrollment('e2', { email: 'twice@example.com' }, { id: 'c2', name: 'Second course' }, '2023-06-01T00:00:00Z'),
    );
    await rig.startWorker();
    const done = await rig.settled(jobs);
    const upserts = rig.upserts();
    expect(upserts).toHaveLength(1);
    expect(upserts[0]!.map((i) => i.id)).toEqual(['twice@example.com']);
    expect(courses(rig, 'twice@example.com')).toEqual(['c1', 'c2']);
    expect(rig.em.state.contact('twice@example.com')!.properties.loopwise_last_course_id).toBe('c2');
    expect(done.map((j) => j.returnvalue.contactId)).toEqual([
      rig.em.state.contact('twice@example.com')!.id,
      rig.em.state.contact('twice@example.com')!.id,
    ]);
  });

  it('keeps both courses when two batches of one student are written concurrently by two workers', async () => {
    rig = await contactsRig();
    const r = rig;
    await r.startWorker({ concurrency: 1 });
    await r.startWorker({ concurrency: 1 });
    // Hold back the first write for course A, so the write for course B lands before it.
    const isFirstWriteOfA = (req: { path: string; body: any }) =>
      req.path.endsWith('/contacts/batch/upsert') &&
      req.body?.inputs?.[0]?.properties?.loopwise_enrolled_courses === 'cA';
    await r.em.injectFaults({ delayMs: 500, match: isFirstWriteOfA });
    const [a] = await r.add(enrollment('ea', { email: 'race@example.com' }, { id: 'cA', name: 'Course A' }));
    await vi.waitFor(() => expect(r.em.state.requests.some((q) => isFirstWriteOfA(q as any))).toBe(true), SETTLE);
    const [b] = await r.add(enrollment('eb', { email: 'race@example.com' }, { id: 'cB', name: 'Course B' }));
    const done = await r.settled([a!, b!]);

    expect(done.map((j) => j.finishedOn && j.failedReason)).toEqual([undefined, undefined]);
    expect(courses(r, 'race@example.com')).toEqual(['cA', 'cB']);
    // The late write of A alone replaced the value; the worker saw its record had grown and wrote again.
    const values = r
      .upserts()
      .flat()
      .filter((i) => i.id === 'race@example.com')
      .map((i) => i.properties.loopwise_enrolled_courses);
    expect(values).toContain('cA');
    expect(values.at(-1)).toBe('cA;cB');
  });

  it('adds to the courses a contact already has in HubSpot instead of erasing them', async () => {
    rig = await contactsRig();
    await rig.startWorker();
    await rig.settled(await rig.add(enrollment('warmup', { email: 'warmup@example.com' })));
    // A contact course-sync has never seen, already holding a course and a first name.
    await rig.hubspot.crm.properties.coreApi.update('contacts', 'loopwise_enrolled_courses', {
      options: [
        ...rig.em.state.properties.contacts.get('loopwise_enrolled_courses')!.options,
        { label: 'Old course', value: 'c_old', hidden: false, displayOrder: 9 },
      ],
    });
    await rig.hubspot.crm.contacts.batchApi.upsert({
      inputs: [
        {
          id: 'known@example.com',
          idProperty: 'email',
          properties: { firstname: 'Kept', loopwise_enrolled_courses: 'c_old' },
        },
      ],
    });

    await rig.settled(
      await rig.add(
        enrollment('e_new', { email: 'known@example.com', name: null }, { id: 'c_new', name: 'New course' }),
      ),
    );
    expect(courses(rig, 'known@example.com')).toEqual(['c_new', 'c_old']);
    expect(rig.em.state.contact('known@example.com')!.properties.firstname).toBe('Kept');
  });

  it('on a 207 completes the good records and dead-letters the one HubSpot refused, with its message, without retrying it', async () => {
    rig = await contactsRig();
    const jobs = await rig.add(
      enrollment('good1', { email: 'good1@example.com' }),
      enrollment('bad', { email: 'bad@example.c0m' }),
      enrollment('good2', { email: 'good2@example.com' }),
    );
    await rig.startWorker();
    const done = await rig.settled(jobs);
    expect(await Promise.all(done.map((j) => j.getState()))).toEqual(['completed', 'failed', 'completed']);

    const [letter, ...more] = await deadLetters(rig);
    expect(more).toEqual([]);
    expect(letter!.data).toMatchObject({ jobId: 'enroll-bad', unrecoverable: true, attemptsMade: 1 });
    expect(letter!.data.errors[0]!.message).toContain('Email address b***@example.c0m is invalid');
    expect(
      rig
        .upserts()
        .flat()
        .filter((i) => i.id === 'bad@example.c0m'),
    ).toHaveLength(1);
    expect(
      rig
        .upserts()
        .flat()
        .filter((i) => i.id === 'good1@example.com'),
    ).toHaveLength(1);
  });

  it('dead-letters an enrollment with an invalid e-mail with its reason, never sending it', async () => {
    rig = await contactsRig();
    const jobs = await rig.add(
      enrollment('broken', { email: 'not-an-email' }),
      enrollment('fine', { email: 'fine@example.com' }),
    );
    await rig.startWorker();
    await rig.settled(jobs);
    const [letter] = await deadLetters(rig);
    expect(letter!.data).toMatchObject({ jobId: 'enroll-broken', unrecoverable: true });
    expect(letter!.data.errors[0]!.message).toMatch(/^invalid e-mail address/);
    expect(
      rig
        .upserts()
        .flat()
        .map((i) => i.id),
    ).toEqual(['fine@example.com']);
  });

  it('rides out a 429 storm: every job completes, none loses an attempt, none is dead-lettered', async () => {
    rig = await contactsRig(
      { HUBSPOT_BATCH_SIZE: '5', HUBSPOT_BATCH_WAIT_MS: '20' },
      { requestsPer10s: 3, intervalMs: 1000 },
    );
    const jobs = await rig.add(
      ...Array.from({ length: 30 }, (_, i) => enrollment(`storm${i}`, { email: `storm${i}@example.com` })),
    );
    await rig.startWorker();
    await rig.startWorker();
    const done = await rig.settled(jobs, 60_000);

    expect(rig.em.state.requests.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(await Promise.all(done.map((j) => j.getState()))).toEqual(done.map(() => 'completed'));
    expect(done.every((j) => j.attemptsMade === 1 && !j.failedReason)).toBe(true);
    expect(await deadLetters(rig)).toEqual([]);
    expect(rig.em.state.contacts.size).toBe(30);
  }, 90_000);

  it('retries a 5xx with backoff and then writes the contact', async () => {
    rig = await contactsRig({ JOB_BACKOFF_MS: '20' });
    await rig.em.injectFaults({ status: 503, count: 2, match: (r) => r.path.endsWith('/contacts/batch/upsert') });
    const jobs = await rig.add(enrollment('flaky', { email: 'flaky@example.com' }));
    await rig.startWorker();
    const [done] = await rig.settled(jobs);
    expect(await done!.getState()).toBe('completed');
    expect(done!.attemptsMade).toBe(3);
    expect(rig.em.state.contact('flaky@example.com')).toBeDefined();
  });

  it('retries when HubSpot does not answer (connection reset)', async () => {
    rig = await contactsRig({ JOB_BACKOFF_MS: '20' });
    await rig.em.injectFaults({ reset: true, match: (r) => r.path.endsWith('/contacts/batch/upsert') });
    const jobs = await rig.add(enrollment('reset', { email: 'reset@example.com' }));
    await rig.startWorker();
    const [done] = await rig.settled(jobs);
    expect(await done!.getState()).toBe('completed');
    expect(done!.attemptsMade).toBe(2);
    expect(
      await rig.deps.redis.lrange(`${rig.config.redis.prefix}:cs:attempts:crm-contacts:enroll-reset`, 0, -1),
    ).toEqual([expect.stringContaining('HubSpot unreachable')]);
  });

  it('pauses the queue on a 401 and keeps the jobs with their attempts until the token is fixed', async () => {
    rig = await contactsRig();
    const r = rig;
    const jobs = await r.add(enrollment('auth', { email: 'auth@example.com' }));
    const wrong = await r.startWorker({
      client: new (r.hubspot.constructor as any)({ accessToken: 'revoked', basePath: r.em.url }),
    });
    await vi.waitFor(async () => expect(await r.queue.isPaused()).toBe(true), SETTLE);
    await wrong.close();
    const job = (await r.queue.getJob(jobs[0]!.id!))!;
    expect(job.attemptsMade).toBe(0);
    expect(await job.getState()).not.toMatch(/failed|completed/);
    expect(await deadLetters(r)).toEqual([]);
    expect(r.em.state.contact('auth@example.com')).toBeUndefined();

    await r.startWorker();
    await r.queue.resume();
    const [done] = await r.settled(jobs);
    expect(await done!.getState()).toBe('completed');
    expect(r.em.state.contact('auth@example.com')).toBeDefined();
  });
});

describe('crm-contacts worker on a 400 for the whole batch', () => {
  it('halves the batch until the refused contact stands alone: it is dead-lettered, the others written', async () => {
    rig = await contactsRig();
    const poisoned = (req: { path: string; body: any }) =>
      req.path.endsWith('/contacts/batch/upsert') && req.body?.inputs?.some((i: any) => i.id === 'poison@example.com');
    await rig.em.injectFaults({ status: 400, count: Infinity, match: poisoned });
    const jobs = await rig.add(
      ...['a', 'b', 'poison', 'c', 'd'].map((n) => enrollment(`p-${n}`, { email: `${n}@example.com` })),
    );
    await rig.startWorker();
    const done = await rig.settled(jobs);
    expect(await Promise.all(done.map((j) => j.getState()))).toEqual([
      'completed',
      'completed',
      'failed',
      'completed',
      'completed',
    ]);
    const [letter] = await deadLetters(rig);
    expect(letter!.data).toMatchObject({ jobId: 'enroll-p-poison', unrecoverable: true });
    expect(letter!.data.errors[0]!.message).toContain('HubSpot 400');
    expect(rig.em.state.contacts.size).toBe(4);
  });
});
