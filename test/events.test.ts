import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalEnrollment } from '../src/events/canonical-enrollment.ts';
import { bodyHashKey, idempotencyKey } from '../src/events/idempotency-key.ts';
import { SchemaError, validateEvent, validateWithSchema } from '../src/events/schemas.ts';
import { instantOf, isIsoTimestamp } from '../src/events/timestamps.ts';
import { fixture } from './support/env.ts';

describe('timestamps', () => {
  it.each([
    ['2023-05-15T14:30:00Z', true],
    ['2023-12-04T18:45:44+08:00', true],
    ['2023-12-04T18:45:44+0800', true],
    ['2023-12-04T18:45:44.123456Z', true],
    ['2023-12-04T18:45:44', false],
    ['2023-12-04', false],
    ['2023-13-04T18:45:44Z', false],
    ['yesterday', false],
    [1700000000, false],
  ])('%s is ISO 8601 with a zone: %s', (value, ok) => {
    expect(isIsoTimestamp(value)).toBe(ok);
  });

  it('compares instants across offsets', () => {
    expect(instantOf('2023-12-04T18:45:44+08:00')).toBe(instantOf('2023-12-04T10:45:44Z'));
  });
});

describe('idempotency keys', () => {
  it.each([
    ['enrollment', fixture('course.student_enroll'), 'enroll-enroll_123456'],
    [
      'course',
      fixture('course.created'),
      `course.created-550e8400-e29b-41d4-a716-446655440000-${Date.parse('2023-05-15T14:30:00Z')}`,
    ],
    [
      'id with ":"',
      { type: 'course.student_enroll', data: { ...fixture('course.student_enroll').data, id: 'a:b%c' } },
      'enroll-a%3Ab%25c',
    ],
  ])('%s', (_name, event, key) => {
    expect(idempotencyKey(validateEvent(event.type, event.data))).toBe(key);
  });

  it('hashes bodies without a known shape', () => {
    expect(bodyHashKey('{}')).toMatch(/^body-[0-9a-f]{40}$/);
    expect(bodyHashKey('{}')).not.toBe(bodyHashKey('{ }'));
  });
});

describe('schemas', () => {
  const enroll = () => fixture('course.student_enroll').data;
  const fields = (type: any, data: any) => {
    try {
      validateEvent(type, data);
      return [];
    } catch (e) {
      expect(e).toBeInstanceOf(SchemaError);
      return (e as SchemaError).errors.map((x) => x.field).sort();
    }
  };

  it.each([
    ['the seed enrollment', {}, []],
    ['missing user', { user: undefined }, ['data.user']],
    ['bad e-mail', { user: { ...enroll().user, email: 'a@' } }, ['data.user.email']],
    ['missing e-mail', { user: { ...enroll().user, email: undefined } }, ['data.user.email']],
    ['null phone', { user: { ...enroll().user, phone_number: null } }, []],
    ['numeric ids', { id: 42, user: { ...enroll().user, id: 7 } }, []],
    ['no created_at', { created_at: undefined }, ['data.created_at']],
    ['empty id', { id: '' }, ['data.id']],
    ['object id (found by fuzzing: used to throw)', { id: {} }, ['data.id']],
    ['object e-mail', { user: { ...enroll().user, email: { a: 1 } } }, ['data.user.email']],
  ])('enrollment: %s', (_name, patch, expected) => {
    expect(fields('course.student_enroll', { ...enroll(), ...patch })).toEqual(expected);
  });

  it('turns numeric ids into strings and trims the e-mail, keeping extra fields', () => {
    const event = validateEvent('course.student_enroll', {
      ...enroll(),
      id: 42,
      extra: 1,
      user: { ...enroll().user, email: ' a@b.co ' },
    });
    expect(event.data).toMatchObject({ id: '42', extra: 1, user: { email: 'a@b.co' } });
  });

  it.each([
    ['the seed course', {}, []],
    ['no plans', { plans: undefined }, ['data.plans']],
    [
      'float amount',
      { plans: [{ ...fixture('course.created').data.plans[0], amount: 19.5 }] },
      ['data.plans[0].amount'],
    ],
    [
      'bad currency',
      { plans: [{ ...fixture('course.created').data.plans[0], currency: 'dollars' }] },
      ['data.plans[0].currency'],
    ],
    ['no updated_at', { updated_at: undefined }, ['data.updated_at']],
  ])('course: %s', (_name, patch, expected) => {
    expect(fields('course.updated', { ...fixture('course.updated').data, ...patch })).toEqual(expected);
  });

  it('refuses data that is not an object', () => {
    expect(fields('course.created', [1, 2])).toEqual(['data']);
  });
});

describe('the enrollment fast path', () => {
  // Values a field may take: good ones, and each way a sender could get it wrong or merely unusual.
  const good = fc.constantFrom('enroll_1', 'Intro', 'a b', '42', 'café', 'x');
  const text = fc.oneof(fc.constantFrom(' padded ', '', '  ', 'a\n'), good, fc.string({ maxLength: 12 }));
  const anyValue = fc.oneof(
    text,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.constant({}),
    fc.constant([]),
    fc.constant({ id: 'x' }),
  );
  const email = fc.oneof(
    { arbitrary: fc.emailAddress(), weight: 3 },
    fc.constantFrom(
      'student@example.com',
      ' a@b.co ',
      'a@b',
      'a@',
      '@b.co',
      'A.B+c@Ex-ample.COM',
      'a@b..co',
      'x@-b.co',
    ),
    text,
  );
  const time = fc.constantFrom(
    '2023-12-04T18:45:44+08:00',
    '2023-05-15T14:30:00Z',
    '2023-12-04T18:45:44',
    'yesterday',
    '2023-13-04T18:45:44Z',
    '2023-12-04T18:45:44.123+0800',
  );
  /** Mostly a value of `arb`, sometimes any text or anything at all (so that many payloads are valid or nearly). */
  const maybe = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: arb, weight: 24 }, { arbitrary: text, weight: 1 }, { arbitrary: anyValue, weight: 1 });
  const enrollment = fc
    .record(
      {
        id: maybe(good),
        course: fc.oneof(
          {
            arbitrary: fc.record(
              { id: maybe(good), name: maybe(good), slug: maybe(good), subtitle: maybe(good), extra: anyValue },
              { requiredKeys: ['id', 'name'] },
            ),
            weight: 12,
          },
          anyValue,
        ),
        user: fc.oneof(
          {
            arbitrary: fc.record(
              { id: maybe(good), name: maybe(good), email: maybe(email), phone_number: maybe(good), locale: anyValue },
              { requiredKeys: ['id', 'email'] },
            ),
            weight: 12,
          },
          anyValue,
        ),
        created_at: maybe(time),
        updated_at: maybe(time),
        state: maybe(good),
        coupon: anyValue,
      },
      { requiredKeys: ['id', 'course', 'user', 'created_at'] },
    )
    .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>); // as a webhook body gives it
  const outcome = (f: () => unknown) => {
    try {
      return { data: f() };
    } catch (e) {
      return { errors: (e as SchemaError).errors };
    }
  };

  it('takes only payloads yup accepts unchanged, and answers exactly as yup does for every payload', () => {
    let fast = 0;
    fc.assert(
      fc.property(enrollment, (data) => {
        const bySchema = outcome(
          () => validateWithSchema('course.student_enroll', JSON.parse(JSON.stringify(data))).data,
        );
        if (isCanonicalEnrollment(data)) {
          fast++;
          expect(bySchema).toStrictEqual({ data });
        }
        expect(outcome(() => validateEvent('course.student_enroll', data).data)).toStrictEqual(bySchema);
      }),
      { numRuns: 3000 },
    );
    expect(fast).toBeGreaterThan(100);
    expect(isCanonicalEnrollment(fixture('course.student_enroll').data)).toBe(true);
  });
});
