import { afterEach, expect, it } from 'vitest';
import { maskEmail } from '../src/privacy/email.ts';
import { TraceCallLog } from '../src/trace/calls.ts';
import { describeCalls } from '../src/trace/format.ts';
import { TraceReader } from '../src/trace/reader.ts';
import { course, coursesRig, enrollmentIn, type CoursesRig } from './support/courses.ts';

// The trace, and so `course-sync trace --calls`, shows each enrollment's course record and
// association calls beside its contact write, and each course event's course record.
let rig: CoursesRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

it("keeps the course record and association calls in the enrollment's and the course event's traces", async () => {
  rig = await coursesRig();
  rig.deps.calls = new TraceCallLog(rig.deps.redis, rig.deps.config);
  await rig.start();
  const c = course('c-trace', { name: 'Traced Course' });
  const [enroll] = await rig.settled(await rig.enroll(enrollmentIn(c, 't1')));
  const recordId = rig.em.state.course(c.id)!.id;
  const contactId = rig.em.state.contact('student-t1@example.com')!.id;

  const reader = new TraceReader(rig.deps.redis, rig.deps.config);
  const [journey] = await reader.load([enroll!.id!]);
  expect(journey!.calls![0]!.calls).toEqual([
    expect.objectContaining({
      operation: 'contacts.upsert',
      request: expect.objectContaining({ email: maskEmail('student-t1@example.com') }),
    }),
    {
      api: 'hubspot',
      operation: 'courses.upsert',
      request: {
        courseId: c.id,
        properties: { loopwise_course_id: c.id, hs_course_name: 'Traced Course', loopwise_course_slug: c.slug },
      },
      response: { courseRecordId: recordId, created: true },
    },
    {
      api: 'hubspot',
      operation: 'associations.create',
      request: { contactId, courseId: c.id, courseRecordId: recordId },
      response: { outcome: 'associated' },
    },
  ]);
  const lines = describeCalls(journey!.calls);
  expect(lines[1]).toBe(
    `crm-contacts attempt 1: hubspot courses.upsert asked {"courseId":"c-trace","properties":{"loopwise_course_id":"c-trace","hs_course_name":"Traced Course","loopwise_course_slug":"${c.slug}"}} → answered {"courseRecordId":"${recordId}","created":true}`,
  );
  expect(lines[2]).toBe(
    `crm-contacts attempt 1: hubspot associations.create asked {"contactId":"${contactId}","courseId":"c-trace","courseRecordId":"${recordId}"} → answered {"outcome":"associated"}`,
  );

  const [event] = await rig.settled([
    await rig.courseEvent({ ...c, updated_at: '2030-01-01T00:00:00Z' }, 'course.updated'),
  ]);
  expect(event!.returnvalue).toMatchObject({ status: 'written', courseRecordId: recordId });
  const [eventJourney] = await reader.load([event!.id!]);
  expect(describeCalls(eventJourney!.calls)).toEqual([
    expect.stringMatching(/^crm-products attempt 1: hubspot products\.upsert /),
    expect.stringMatching(
      new RegExp(
        `^crm-products attempt 1: hubspot courses\\.upsert asked .*"hs_course_description".* → answered \\{"courseRecordId":"${recordId}","created":false\\}$`,
      ),
    ),
  ]);
});

it('keeps nothing about course records when the Courses object is not used', async () => {
  rig = await coursesRig({ HUBSPOT_COURSES_OBJECT: 'off' });
  rig.deps.calls = new TraceCallLog(rig.deps.redis, rig.deps.config);
  await rig.start();
  const [enroll] = await rig.settled(await rig.enroll(enrollmentIn(course('c-untraced'), 'u1')));
  const [journey] = await new TraceReader(rig.deps.redis, rig.deps.config).load([enroll!.id!]);
  expect(journey!.calls![0]!.calls.map((c) => c.operation)).toEqual(['contacts.upsert']);
});
