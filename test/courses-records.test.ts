import { afterEach, describe, expect, it } from 'vitest';
import { recordKey } from '../src/redis/keys.ts';
import { course, coursesRig, enrollmentIn, type CoursesRig } from './support/courses.ts';

// HubSpot's Courses object (0-410): a course record per course, each enrolled student's contact
// associated with it — against the emulator, through the real client, on the real Redis.
let rig: CoursesRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

/** A course event and three enrollments in it, all settled; returns the course. */
async function courseAndThreeStudents(r: CoursesRig, id: string) {
  const c = course(id, { name: 'Data Science 101', slug: 'ds-101' });
  const [event] = await r.settled([await r.courseEvent(c)]);
  expect(event!.returnvalue?.status).toBe('written');
  const jobs = await r.settled(await r.enroll(...['a', 'b', 'c'].map((n) => enrollmentIn(c, `${id}-${n}`))));
  expect(jobs.map((j) => j.returnvalue)).toEqual(
    jobs.map(() => expect.objectContaining({ contactId: expect.any(String) })),
  );
  return c;
}

describe('with the Courses object active', () => {
  it("makes one course record and associates three students, in at most 4 HubSpot requests beyond today's", async () => {
    rig = await coursesRig({ HUBSPOT_COURSES_OBJECT: 'off' });
    await rig.start();
    await courseAndThreeStudents(rig, 'c-today');
    const today = rig.em.state.requests.length;
    expect(rig.em.state.objects.courses.size).toBe(0);
    await rig.stop();

    rig = await coursesRig();
    await rig.start();
    const c = await courseAndThreeStudents(rig, 'c-courses');
    const records = [...rig.em.state.objects.courses.values()];
    expect(records).toHaveLength(1);
    expect(records[0]!.properties).toMatchObject({
      loopwise_course_id: c.id,
      hs_course_name: 'Data Science 101',
      hs_course_description: c.description,
      loopwise_course_slug: 'ds-101',
      loopwise_course_state: c.state,
    });
    for (const n of ['a', 'b', 'c'])
      expect(rig.coursesOf(`student-c-courses-${n}@example.com`)).toEqual([records[0]!.id]);
    // The contact's course list and the course's products stay as they were.
    for (const n of ['a', 'b', 'c'])
      expect(rig.em.state.contact(`student-c-courses-${n}@example.com`)!.properties.loopwise_enrolled_courses).toBe(
        c.id,
      );
    expect(
      [...rig.em.state.objects.products.values()].filter((p) => p.properties.loopwise_course_id === c.id),
    ).toHaveLength(c.plans.length);
    const extra = rig.requestLines().filter((l) => /0-410/.test(l));
    expect(extra).toEqual([
      'GET /crm/v3/object-library/enablement/0-410',
      'POST /crm/v3/objects/0-410/batch/upsert',
      'POST /crm/v4/associations/0-1/0-410/batch/associate/default',
    ]);
    expect(rig.em.state.requests.length - today).toBeLessThanOrEqual(4);
    // Every association input carried a trace id.
    const assoc = rig.em.state.requestsTo('/batch/associate/default')[0]!.body as {
      inputs: { objectWriteTraceId?: string }[];
    };
    expect(assoc.inputs.map((i) => i.objectWriteTraceId)).toEqual(['0', '1', '2']);
  });

  it('remembers course record ids in Redis, bounded, and asks HubSpot for a course once', async () => {
    rig = await coursesRig();
    await rig.start();
    const c = course('c-known', { name: 'Known' });
    await rig.settled(await rig.enroll(enrollmentIn(c, 'k1')));
    await rig.settled(await rig.enroll(enrollmentIn(c, 'k2')));
    expect(rig.em.state.requestsTo('/0-410/batch/upsert')).toHaveLength(1);
    const key = recordKey(rig.config.redis.prefix, 'course-record', c.id);
    expect(await rig.deps.redis.get(key)).toBe(rig.em.state.course(c.id)!.id);
    const ttl = await rig.deps.redis.ttl(key);
    expect(ttl).toBeGreaterThan(29 * 86_400);
    expect(ttl).toBeLessThanOrEqual(30 * 86_400);
  });

  it('writes the course record from an enrollment when the course event never came, with the name and slug it carries', async () => {
    rig = await coursesRig();
    await rig.start();
    const c = course('c-no-event', { name: 'Only Enrolled', slug: 'only-enrolled' });
    await rig.settled(await rig.enroll(enrollmentIn(c, 'n1')));
    expect(rig.em.state.course(c.id)!.properties).toMatchObject({
      loopwise_course_id: c.id,
      hs_course_name: 'Only Enrolled',
      loopwise_course_slug: 'only-enrolled',
    });
    expect(rig.coursesOf('student-n1@example.com')).toEqual([rig.em.state.course(c.id)!.id]);
  });

  it.each(['record-207', 'batch-400'] as const)(
    'recreates a course record deleted by hand and re-associates on the next enrollment (missing record answered %s)',
    async (associationMissing) => {
      rig = await coursesRig({}, { behaviour: { associationMissing } });
      await rig.start();
      const c = await courseAndThreeStudents(rig, 'c-del');
      const first = rig.em.state.course(c.id)!.id;
      rig.em.state.deleteRecord('courses', first);
      expect(rig.em.state.course(c.id)).toBeUndefined();

      const [job] = await rig.settled(await rig.enroll(enrollmentIn(c, 'c-del-d')));
      expect(job!.returnvalue).toEqual(expect.objectContaining({ contactId: expect.any(String) }));
      const again = rig.em.state.course(c.id)!;
      expect(again.id).not.toBe(first);
      expect(again.properties).toMatchObject({ loopwise_course_id: c.id, hs_course_name: 'Data Science 101' });
      expect(rig.coursesOf('student-c-del-d@example.com')).toEqual([again.id]);
      expect(await rig.deps.redis.get(recordKey(rig.config.redis.prefix, 'course-record', c.id))).toBe(again.id);
    },
  );

  it('associates again a contact deleted by hand: the next enrollment recreates it and links the new contact', async () => {
    rig = await coursesRig();
    await rig.start();
    const c = course('c-contact-del');
    await rig.settled(await rig.enroll(enrollmentIn(c, 'x1')));
    const contact = rig.em.state.contact('student-x1@example.com')!;
    rig.em.state.deleteRecord('contacts', contact.id);
    await rig.settled(await rig.enroll({ ...enrollmentIn(c, 'x1'), id: 'e-again' }));
    const now = rig.em.state.contact('student-x1@example.com')!;
    expect(now.id).not.toBe(contact.id);
    expect(rig.coursesOf('student-x1@example.com')).toEqual([rig.em.state.course(c.id)!.id]);
  });

  it('ignores a stale course update for the course record, as for products', async () => {
    rig = await coursesRig();
    await rig.start();
    const newer = course('c-stale', { name: 'New name', updated_at: '2024-02-01T00:00:00Z' });
    const older = course('c-stale', { name: 'Old name', updated_at: '2024-01-01T00:00:00Z' });
    await rig.settled([await rig.courseEvent(newer, 'course.updated')]);
    const [stale] = await rig.settled([await rig.courseEvent(older, 'course.updated')]);
    expect(stale!.returnvalue).toMatchObject({ status: 'skipped', skipped: 'stale' });
    expect(rig.em.state.course('c-stale')!.properties.hs_course_name).toBe('New name');
    expect(rig.em.state.requestsTo('/0-410/batch/upsert')).toHaveLength(1);
  });

  it('sends the associations without trace ids once HubSpot refuses the field', async () => {
    rig = await coursesRig({}, { behaviour: { associationTraceIds: 'refused' } });
    await rig.start();
    const c = await courseAndThreeStudents(rig, 'c-notrace');
    expect(rig.coursesOf('student-c-notrace-a@example.com')).toEqual([rig.em.state.course(c.id)!.id]);
    const bodies = rig.em.state
      .requestsTo('/batch/associate/default')
      .map((r) => ({ status: r.status, traced: (r.body as any).inputs.some((i: any) => 'objectWriteTraceId' in i) }));
    expect(bodies).toEqual([
      { status: 400, traced: true },
      { status: 200, traced: false },
    ]);
  });
});

describe('with the Courses object not active', () => {
  it('under auto works as today, with no call to 0-410 but the check, and the same requests as off', async () => {
    const run = async (env: Record<string, string>) => {
      rig = await coursesRig(env, { coursesObject: 'inactive' });
      await rig.start();
      await courseAndThreeStudents(rig, 'c-inactive');
      const lines = rig.requestLines();
      const contact = rig.em.state.contact('student-c-inactive-a@example.com')!.properties;
      expect(rig.em.state.objects.courses.size).toBe(0);
      await rig.stop();
      rig = undefined;
      return { lines, contact };
    };
    const off = await run({ HUBSPOT_COURSES_OBJECT: 'off' });
    const auto = await run({});
    expect(auto.lines.filter((l) => /0-410|\/associations\//.test(l))).toEqual([
      'GET /crm/v3/object-library/enablement/0-410',
    ]);
    expect(auto.lines.filter((l) => !l.includes('object-library')).sort()).toEqual(off.lines.sort());
    expect(auto.contact.loopwise_enrolled_courses).toBe('c-inactive');
    const { lastmodifieddate, createdate, hs_object_id, ...rest } = auto.contact;
    const { lastmodifieddate: _l, createdate: _c, hs_object_id: _i, ...restOff } = off.contact;
    expect(rest).toEqual(restOff);
  });

  it('under off never asks HubSpot about it', async () => {
    rig = await coursesRig({ HUBSPOT_COURSES_OBJECT: 'off' });
    await rig.start();
    await courseAndThreeStudents(rig, 'c-off');
    expect(rig.requestLines().filter((l) => /0-410|object-library|associations/.test(l))).toEqual([]);
  });

  it.each(['missing-scopes-403', 'unknown-type-400'] as const)(
    'under auto, an object deactivated since the check (answered %s) is skipped: contacts still written, jobs complete',
    async (inactiveObject) => {
      rig = await coursesRig({}, { behaviour: { inactiveObject } });
      await rig.start();
      rig.em.setObjectActive('0-410', false);
      const c = course('c-deactivated');
      const [job] = await rig.settled(await rig.enroll(enrollmentIn(c, 'd1')));
      expect(job!.returnvalue).toEqual(expect.objectContaining({ contactId: expect.any(String) }));
      expect(rig.em.state.contact('student-d1@example.com')!.properties.loopwise_enrolled_courses).toBe(c.id);
      // It asked again, and then left the Courses object alone.
      expect(rig.requestLines().filter((l) => l.includes('enablement'))).toHaveLength(2);
      await rig.settled(await rig.enroll(enrollmentIn(c, 'd2')));
      expect(rig.em.state.requestsTo('/0-410/batch/upsert')).toHaveLength(1);
    },
  );

  it('under auto, a token without the courses scopes: contacts still written, course records left alone', async () => {
    rig = await coursesRig({}, { scopes: ['crm.objects.contacts.write'] });
    await rig.start();
    const [job] = await rig.settled(await rig.enroll(enrollmentIn(course('c-scopes'), 's1')));
    expect(job!.returnvalue).toEqual(expect.objectContaining({ contactId: expect.any(String) }));
    expect(rig.em.state.objects.courses.size).toBe(0);
    await rig.settled(await rig.enroll(enrollmentIn(course('c-scopes'), 's2')));
    expect(rig.em.state.requestsTo('/0-410/batch/upsert').map((r) => r.status)).toEqual([403]);
  });

  it('under on refuses to start, naming the setting', async () => {
    rig = await coursesRig({ HUBSPOT_COURSES_OBJECT: 'on' }, { coursesObject: 'inactive' });
    await expect(rig.start()).rejects.toThrow(
      /^config HUBSPOT_COURSES_OBJECT: is "on" but HubSpot says the Courses object \(0-410\) is not active/,
    );
  });
});
