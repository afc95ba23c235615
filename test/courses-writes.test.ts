import { Client } from '@hubspot/api-client';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { createHubSpotCall } from '../src/hubspot/call.ts';
import { CourseAssociations } from '../src/hubspot/course-associations.ts';
import { ensureHubSpotSetup } from '../src/hubspot/setup.ts';
import { QUEUES } from '../src/queues/names.ts';
import { recordKey } from '../src/redis/keys.ts';
import { runCli } from './support/cli.ts';
import { TestClock } from './support/clock.ts';
import { course, coursesRig, enrollmentIn, type CoursesRig } from './support/courses.ts';
import { dropPrefix, redisUrl } from './support/env.ts';
import { deadLetterOf } from './support/worker-deps.ts';

// Course records and associations are HubSpot writes like the contact's: retried when the call
// fails as a whole, dead-lettered when HubSpot refuses the course record as sent, at most 100
// associations a request, every request through the shared budget; and HUBSPOT_COURSES_OBJECT=auto
// notices an activation within its period. Against the emulator, on the real Redis.
let rig: CoursesRig | undefined;
let em: HubSpotEmulator | undefined;
afterEach(async () => {
  await rig?.stop();
  await em?.close();
  rig = undefined;
  em = undefined;
});

describe('retried and dead-lettered like every HubSpot write', () => {
  it.each([
    ['the association request', '/batch/associate/default'],
    ['the course record upsert', '/0-410/batch/upsert'],
  ])('retries the batch when %s fails as a whole (503), then associates', async (_what, path) => {
    rig = await coursesRig();
    await rig.start();
    await rig.em.injectFaults({ status: 503, count: 2, match: (r) => r.path.endsWith(path) });
    const c = course('c-flaky', { name: 'Flaky' });
    const [job] = await rig.settled(await rig.enroll(enrollmentIn(c, 'f1')));
    expect(await job!.getState()).toBe('completed');
    expect(job!.attemptsMade).toBe(3);
    expect(rig.em.state.requestsTo(path).map((r) => r.status)).toEqual([503, 503, 200]);
    expect(rig.em.state.objects.courses.size).toBe(1);
    expect(rig.coursesOf('student-f1@example.com')).toEqual([rig.em.state.course(c.id)!.id]);
  });

  it.each([
    ['per record (207)', 'trace-id'],
    ['for the whole batch (400)', 'never'],
  ] as const)(
    'dead-letters the enrollments of a course record HubSpot refuses as sent (answered %s), with its words; the other course goes on',
    async (_answer, multiStatus) => {
      rig = await coursesRig({}, { behaviour: { multiStatus } });
      // Marketing made the slug property a number in the portal: HubSpot refuses "ds-101".
      const slug = rig.em.state.properties.courses.get('loopwise_course_slug')!;
      Object.assign(slug, { type: 'number', fieldType: 'number' });
      await rig.start();
      const bad = course('c-bad-slug', { name: 'Bad slug', slug: 'ds-101' });
      const good = course('c-no-slug', { name: 'No slug', slug: null });
      const [refused, fine] = await rig.settled(await rig.enroll(enrollmentIn(bad, 'v1'), enrollmentIn(good, 'v2')));

      expect(await refused!.getState()).toBe('failed');
      expect(refused!.attemptsMade).toBe(1);
      const letter = await deadLetterOf(rig.deps.deadLetters, QUEUES.contacts, refused!.id!);
      expect(letter.unrecoverable).toBe(true);
      expect(letter.errors.map((e) => e.message)).toEqual([
        expect.stringMatching(/VALIDATION_ERROR.*ds-101 was not a valid number/),
      ]);
      // Its contact was written all the same; only the course record and its association are missing.
      expect(rig.em.state.contact('student-v1@example.com')!.properties.loopwise_enrolled_courses).toBe(bad.id);
      expect(rig.em.state.course(bad.id)).toBeUndefined();
      expect(rig.coursesOf('student-v1@example.com')).toEqual([]);

      expect(await fine!.getState()).toBe('completed');
      expect(rig.coursesOf('student-v2@example.com')).toEqual([rig.em.state.course(good.id)!.id]);
    },
  );
});

describe('associations: at most 100 a request, through the shared budget', () => {
  it("sends 150 associations as requests of 100 and 50, each answered in its pair's place", async () => {
    em = await startHubSpotEmulator({ requestsPer10s: 1000, coursesObject: 'active' });
    const client = new Client({ accessToken: em.token, basePath: em.url, numberOfApiCallRetries: 0 });
    await ensureHubSpotSetup(client, createHubSpotCall({}), ['contacts', 'courses']);
    const emails = Array.from({ length: 150 }, (_, i) => `many${i}@example.com`);
    const contactIds: string[] = [];
    for (let i = 0; i < emails.length; i += 100) {
      const res = await client.crm.contacts.batchApi.upsert({
        inputs: emails.slice(i, i + 100).map((e) => ({ idProperty: 'email', id: e, properties: { email: e } })),
      });
      contactIds.push(...emails.slice(i, i + 100).map((e) => res.results.find((r) => r.properties.email === e)!.id));
    }
    const record = (
      await client.crm.objects.batchApi.upsert('0-410', {
        inputs: [{ idProperty: 'loopwise_course_id', id: 'c-many', properties: { loopwise_course_id: 'c-many' } }],
      })
    ).results[0]!.id;
    em.state.deleteRecord('contacts', contactIds[120]!);
    em.state.requests.length = 0;

    const results = await new CourseAssociations(client, createHubSpotCall({})).associate(
      contactIds.map((contactId) => ({ contactId, recordId: record })),
    );
    const sent = em.state
      .requestsTo('/batch/associate/default')
      .map((r) => (r.body as { inputs: unknown[] }).inputs.length);
    expect(sent).toEqual([100, 50]);
    expect(results).toHaveLength(150);
    expect(results.flatMap((r, i) => ('ok' in r ? [] : [[i, r]]))).toEqual([[120, { missing: 'contact' }]]);
    expect(em.state.associations.from('courses', record, 'contacts')).toHaveLength(149);
  });

  it('takes every courses call from the shared request budget', async () => {
    rig = await coursesRig();
    const clock = new TestClock();
    await rig.start({ clock });
    const c = course('c-budget');
    await rig.settled([await rig.courseEvent(c)]);
    await rig.settled(await rig.enroll(enrollmentIn(c, 'b1'), enrollmentIn(c, 'b2')));
    const lines = rig.requestLines();
    expect(lines).toEqual(
      expect.arrayContaining([
        'GET /crm/v3/object-library/enablement/0-410',
        'POST /crm/v3/objects/0-410/batch/upsert',
        'POST /crm/v4/associations/0-1/0-410/batch/associate/default',
      ]),
    );
    // The budget's window (on the test's clock, so none has lapsed) holds one entry per request sent.
    expect(await rig.deps.redis.zcard(recordKey(rig.config.redis.prefix, 'hubspot', 'budget'))).toBe(lines.length);
  });
});

describe("HUBSPOT_COURSES_OBJECT=auto, on a clock of the test's", () => {
  it('starts writing course records once the check after a super admin activated the object says so (within 5 minutes)', async () => {
    const clock = new TestClock();
    rig = await coursesRig({}, { coursesObject: 'inactive', now: clock.now });
    await rig.start({ clock });
    const c = course('c-later', { name: 'Activated later' });
    await rig.settled(await rig.enroll(enrollmentIn(c, 'l1')));
    expect(rig.em.state.objects.courses.size).toBe(0);

    rig.em.setObjectActive('0-410', true);
    clock.advance(200_000);
    await rig.settled(await rig.enroll(enrollmentIn(c, 'l2')));
    expect(rig.em.state.objects.courses.size).toBe(0);
    expect(rig.requestLines().filter((l) => l.includes('enablement'))).toHaveLength(1);

    clock.advance(101_000);
    await rig.settled(await rig.enroll(enrollmentIn(c, 'l3')));
    expect(rig.requestLines().filter((l) => l.includes('enablement'))).toHaveLength(2);
    const record = rig.em.state.course(c.id)!;
    expect(record.properties).toMatchObject({ loopwise_course_id: c.id, hs_course_name: 'Activated later' });
    expect(rig.coursesOf('student-l3@example.com')).toEqual([record.id]);
    // Earlier students are associated by their next enrollment (their contact already has the course).
    expect(rig.coursesOf('student-l1@example.com')).toEqual([]);
  });
});

describe('HUBSPOT_COURSES_OBJECT=on with the object not active', () => {
  it('`course-sync start` stops naming the setting, and leaves no worker of this process running', async () => {
    em = await startHubSpotEmulator({ coursesObject: 'inactive' });
    const prefix = `tcon${Date.now()}`;
    const env = {
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: prefix,
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      WEBHOOK_SECRET: 'test-secret',
      HUBSPOT_ACCESS_TOKEN: em.token,
      HUBSPOT_BASE_URL: em.url,
      SENDGRID_API_KEY: 'SG.unused',
      SENDGRID_BASE_URL: 'http://127.0.0.1:9',
      HUBSPOT_COURSES_OBJECT: 'on',
    };
    const res = await runCli(['start', '--role', 'worker'], env);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(
      /config HUBSPOT_COURSES_OBJECT: is "on" but HubSpot says the Courses object \(0-410\) is not active/,
    );
    const redis = new Redis(redisUrl());
    try {
      // Workers that had started beside the refused ones were stopped with them.
      for (const name of Object.values(QUEUES)) {
        const queue = new Queue(name, { connection: redis, prefix });
        expect(await queue.getWorkers(), `workers of ${name}`).toEqual([]);
        await queue.close();
      }
    } finally {
      await dropPrefix(redis, prefix);
      await redis.quit();
    }
  });
});
