import { describe, expect, it } from 'vitest';
import type { Enrollment } from '../src/events/types.ts';
import {
  formatPhone,
  mapEnrollment,
  mergeByEmail,
  normaliseEmail,
  splitName,
  type MappedContact,
} from '../src/hubspot/contact-mapping.ts';
import { optionLabel } from '../src/hubspot/course-options.ts';
import { fixture } from './support/env.ts';

const TW = { phoneRegion: 'TW' };

function enrollment(
  user: Partial<Enrollment['user']> = {},
  course: Partial<Enrollment['course']> = {},
  createdAt = '2023-05-15T14:30:00Z',
): Enrollment {
  const e = fixture('course.student_enroll').data as Enrollment;
  return { ...e, created_at: createdAt, user: { ...e.user, ...user }, course: { ...e.course, ...course } };
}

describe('normaliseEmail', () => {
  it.each([
    ['student@example.com', 'student@example.com'],
    ['  Student@Example.COM ', 'student@example.com'],
    ['first.last+tag@sub.example.co.uk', 'first.last+tag@sub.example.co.uk'],
    ['', undefined],
    [null, undefined],
    ['no-at-sign.example.com', undefined],
    ['two@@example.com', undefined],
    ['space in@example.com', undefined],
    ['nodot@localhost', undefined],
    [`${'a'.repeat(250)}@example.com`, undefined],
  ])('%j → %j', (raw, expected) => {
    expect(normaliseEmail(raw)).toBe(expected);
  });
});

describe('splitName', () => {
  it.each([
    ['Sample User', { firstname: 'Sample', lastname: 'User' }],
    ['Mary Ann Smith', { firstname: 'Mary Ann', lastname: 'Smith' }],
    ['  Padded   Name  ', { firstname: 'Padded', lastname: 'Name' }],
    ['王小明', { firstname: '王小明' }],
    ['王\u3000小明', { firstname: '王', lastname: '小明' }],
    ['Cher', { firstname: 'Cher' }],
    ['', {}],
    ['   ', {}],
    [null, {}],
    [undefined, {}],
  ])('%j → %j', (raw, expected) => {
    expect(splitName(raw)).toEqual(expected);
  });
});

describe('formatPhone', () => {
  it.each([
    ['0912 345 678', 'TW', '+886912345678'],
    ['0912-345-678', 'TW', '+886912345678'],
    ['(02) 2345-6789', 'TW', '+886223456789'],
    ['+886 912 345 678', 'US', '+886912345678'],
    ['+44 20 7946 0958', 'TW', '+442079460958'],
    ['(415) 555-2671', 'US', '+14155552671'],
    ['+1234567890', 'TW', '+1234567890'],
    ['call me maybe', 'TW', 'call me maybe'],
    ['  12  ', 'TW', '12'],
    ['', 'TW', undefined],
    [null, 'TW', undefined],
  ])('%j in %s → %j', (raw, region, expected) => {
    expect(formatPhone(raw, region)).toBe(expected);
  });
});

describe('mapEnrollment', () => {
  it('maps the seed enrollment', () => {
    expect(mapEnrollment(fixture('course.student_enroll').data, TW)).toEqual({
      ok: true,
      input: {
        idProperty: 'email',
        id: 'student@example.com',
        properties: {
          email: 'student@example.com',
          firstname: 'Sample',
          lastname: 'User',
          phone: '+1234567890',
          loopwise_user_id: 'user_345678',
          loopwise_last_course_id: 'course_789012',
          loopwise_last_course_name: 'Introduction to Programming',
          loopwise_last_enrolled_at: '2023-05-15T14:30:00.000Z',
          loopwise_enrolled_courses: 'course_789012',
        },
      },
      course: { id: 'course_789012', name: 'Introduction to Programming' },
      last: {
        at: Date.parse('2023-05-15T14:30:00Z'),
        courseId: 'course_789012',
        courseName: 'Introduction to Programming',
      },
    });
  });

  const props = (m: MappedContact) => (m.ok ? m.input.properties : {});

  it.each([
    ['a missing name', { name: null }, ['firstname', 'lastname']],
    ['an empty name', { name: '  ' }, ['firstname', 'lastname']],
    ['a missing phone', { phone_number: null }, ['phone']],
    ['an empty phone', { phone_number: '' }, ['phone']],
    ['an empty user id', { id: '' }, ['loopwise_user_id']],
  ])('leaves out the properties of %s (so they never overwrite HubSpot)', (_what, user, absent) => {
    const p = props(mapEnrollment(enrollment(user), TW));
    for (const key of absent) expect(p).not.toHaveProperty(key);
    expect(Object.values(p).every((v) => v !== '')).toBe(true);
    expect(p.email).toBe('student@example.com');
  });

  it.each([
    ['a CJK name', { name: '王小明' }, { firstname: '王小明' }],
    ['a Taiwanese mobile', { phone_number: '0912 345 678' }, { phone: '+886912345678' }],
    ['an upper-case padded e-mail', { email: ' Student@Example.com ' }, { email: 'student@example.com' }],
  ])('maps %s', (_what, user, expected) => {
    expect(props(mapEnrollment(enrollment(user as any), TW))).toMatchObject(expected);
  });

  it('writes the enrollment time as UTC', () => {
    expect(props(mapEnrollment(enrollment({}, {}, '2023-12-04T18:45:44+08:00'), TW)).loopwise_last_enrolled_at).toBe(
      '2023-12-04T10:45:44.000Z',
    );
    expect(props(mapEnrollment(enrollment({}, {}, 'not a time'), TW))).not.toHaveProperty('loopwise_last_enrolled_at');
  });

  it.each([
    ['an invalid e-mail', enrollment({ email: 'not-an-email' }), 'invalid e-mail address'],
    ['an empty e-mail', enrollment({ email: '' }), 'invalid e-mail address'],
    ['no course id', enrollment({}, { id: ' ' }), 'enrollment has no course id'],
  ])('refuses %s', (_what, e, reason) => {
    expect(mapEnrollment(e, TW)).toEqual({ ok: false, reason });
  });
});

describe('mergeByEmail', () => {
  const ok = (e: Enrollment) => mapEnrollment(e, TW) as Extract<MappedContact, { ok: true }>;

  it('folds two enrollments of one student into one draft with both courses and the later one as last', () => {
    const later = ok(enrollment({ name: 'New Name' }, { id: 'c2', name: 'Second' }, '2023-06-01T00:00:00Z'));
    const earlier = ok(enrollment({ phone_number: null }, { id: 'c1', name: 'First' }, '2023-05-01T00:00:00Z'));
    const [draft, ...rest] = mergeByEmail([later, earlier]);
    expect(rest).toEqual([]);
    expect([...draft!.courses]).toEqual([
      ['c1', 'First'],
      ['c2', 'Second'],
    ]);
    expect(draft!.last).toMatchObject({ courseId: 'c2', courseName: 'Second' });
    expect(draft!.properties).toMatchObject({ firstname: 'New', lastname: 'Name', phone: '+1234567890' });
    expect(draft!.properties).not.toHaveProperty('loopwise_enrolled_courses');
  });

  it('keeps a value from an earlier enrollment when the later one has none', () => {
    const [draft] = mergeByEmail([
      ok(enrollment({ name: 'Kept Name' }, {}, '2023-05-01T00:00:00Z')),
      ok(enrollment({ name: null }, {}, '2023-06-01T00:00:00Z')),
    ]);
    expect(draft!.properties).toMatchObject({ firstname: 'Kept', lastname: 'Name' });
  });

  it('keeps one draft per e-mail, in first-seen order', () => {
    const drafts = mergeByEmail([
      ok(enrollment({ email: 'b@example.com' })),
      ok(enrollment({ email: 'a@example.com' })),
      ok(enrollment({ email: 'B@example.com' })),
    ]);
    expect(drafts.map((d) => d.email)).toEqual(['b@example.com', 'a@example.com']);
  });
});

describe('optionLabel', () => {
  it.each([
    ['c1', 'Intro', [], 'Intro'],
    ['c1', '  Intro ', [], 'Intro'],
    ['c2', 'Intro', ['Intro'], 'Intro (c2)'],
    ['c3', undefined, [], 'c3'],
    ['c4', '', [], 'c4'],
  ])('course %s named %j with labels %j taken → %j', (id, name, taken, expected) => {
    expect(optionLabel(id, name, new Set(taken))).toBe(expected);
  });
});
