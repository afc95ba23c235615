import { describe, expect, it } from 'vitest';
import { describeStep, formatJourney } from '../src/trace/format.ts';
import type { TraceStep } from '../src/trace/model.ts';
import { outcomeOf } from '../src/trace/outcome.ts';
import { subjectOf } from '../src/trace/subject.ts';
import { whereabouts } from '../src/trace/whereabouts.ts';

describe('outcomeOf: what a worker returned', () => {
  it.each([
    [
      'crm-contacts',
      'crm-contacts',
      { contactId: '151', created: true },
      { kind: 'completed', hubspotContactId: '151' },
    ],
    [
      'email-welcome sent',
      'email-welcome',
      { status: 'sent', enrollmentId: 'e1', messageId: 'msg.abc', sentAt: 'x', jobId: 'enroll-e1' },
      { kind: 'completed', sendgridMessageId: 'msg.abc' },
    ],
    [
      'email-welcome already sent',
      'email-welcome',
      { status: 'skipped', messageId: 'msg.abc', jobId: 'enroll-e0' },
      { kind: 'skipped', reason: 'already sent by job enroll-e0', sendgridMessageId: 'msg.abc' },
    ],
    [
      'crm-products written',
      'crm-products',
      {
        status: 'written',
        products: [
          { planId: 'p1', productId: '9001' },
          { planId: 'p2', productId: '9002' },
        ],
      },
      { kind: 'completed', hubspotProductIds: ['9001', '9002'] },
    ],
    [
      'crm-products stale',
      'crm-products',
      { status: 'skipped', skipped: 'stale', courseId: 'c1' },
      { kind: 'skipped', reason: 'stale' },
    ],
    ['crm-products written nothing', 'crm-products', { status: 'written', products: [] }, { kind: 'completed' }],
    ['nothing', 'crm-contacts', undefined, { kind: 'completed' }],
    ['a number', 'email-welcome', 42, { kind: 'completed' }],
  ] as const)('%s', (_name, queue, rv, expected) => {
    const out = Object.fromEntries(Object.entries(outcomeOf(queue, rv)).filter(([, v]) => v !== undefined));
    expect(out).toEqual(expected);
  });
});

describe('subjectOf: searchable values, read leniently', () => {
  it.each([
    [
      'course.student_enroll',
      { id: 'e1', course: { id: 'c1' }, user: { email: 'A@b.co' } },
      { enrollmentId: 'e1', courseId: 'c1', email: 'A@b.co' },
    ],
    ['course.student_enroll', { id: 7, course: null, user: { email: 'not-an-email' } }, { enrollmentId: '7' }],
    [
      'course.updated',
      { id: 'c2', plans: [{ id: 'p1' }, { name: 'no id' }, 'junk'] },
      { courseId: 'c2', planIds: ['p1'] },
    ],
    ['course.created', { id: '  ', plans: 'none' }, {}],
    ['something.else', { id: 'x' }, {}],
  ])('%s %j', (type, data, expected) => {
    const out = Object.fromEntries(Object.entries(subjectOf(type, data)).filter(([, v]) => v !== undefined));
    expect(out).toEqual(expected);
  });
});

describe('whereabouts: where a job is now', () => {
  const done: TraceStep = { at: '2024-01-01T00:00:00Z', kind: 'completed', queue: 'q' };
  const stale: TraceStep = { ...done, kind: 'skipped', reason: 'stale' };
  it.each([
    [{ state: 'waiting', inDeadLetter: false }, [], 'waiting'],
    [{ state: 'prioritized', inDeadLetter: false }, [], 'waiting'],
    [{ state: 'active', inDeadLetter: false }, [], 'running'],
    [{ state: 'delayed', attemptsMade: 2, inDeadLetter: false }, [], 'retrying'],
    [{ state: 'delayed', attemptsMade: 0, inDeadLetter: false }, [], 'delayed'],
    [{ state: 'completed', inDeadLetter: false }, [done], 'done'],
    [{ state: 'failed', inDeadLetter: true }, [], 'dead letter'],
    [{ state: 'failed', inDeadLetter: false }, [], 'failed'],
    [{ inDeadLetter: false }, [done], 'done'],
    [{ inDeadLetter: false }, [], 'gone'],
  ] as const)('%j → %s', (live, steps, state) => {
    expect(whereabouts(live, [...steps]).state).toBe(state);
  });
  it('says why a done job wrote nothing', () => {
    expect(whereabouts({ state: 'completed', inDeadLetter: false }, [stale])).toEqual({
      state: 'done',
      detail: 'skipped: stale',
    });
  });
});

describe('the journey as text', () => {
  it('prints one line per step with the HubSpot and SendGrid ids', () => {
    const lines = formatJourney({
      key: 'enroll-e1',
      header: {
        key: 'enroll-e1',
        eventType: 'course.student_enroll',
        receivedAt: '2024-01-01T00:00:00.000Z',
        queues: ['crm-contacts', 'email-welcome'],
        enrollmentId: 'e1',
        courseId: 'c1',
        studentEmail: 's***@example.com',
      },
      steps: [
        {
          at: '2024-01-01T00:00:01.000Z',
          queue: 'email-welcome',
          kind: 'retrying',
          attempt: 1,
          durationMs: 30,
          error: 'SendGrid answered 503',
          retryAt: '2024-01-01T00:00:03.000Z',
        },
        {
          at: '2024-01-01T00:00:02.000Z',
          queue: 'crm-contacts',
          kind: 'completed',
          attempt: 1,
          durationMs: 120,
          hubspotContactId: '151',
        },
        {
          at: '2024-01-01T00:00:04.000Z',
          queue: 'email-welcome',
          kind: 'completed',
          attempt: 2,
          durationMs: 80,
          sendgridMessageId: 'msg.abc',
        },
      ],
      now: [
        { queue: 'crm-contacts', state: 'done' },
        { queue: 'email-welcome', state: 'done' },
      ],
    });
    expect(lines).toEqual([
      'enroll-e1  course.student_enroll  enrollment e1 · course c1 · s***@example.com',
      '  2024-01-01T00:00:00.000Z  receiver       received → crm-contacts, email-welcome',
      '  2024-01-01T00:00:01.000Z  email-welcome  retrying (attempt 1, 30 ms) — SendGrid answered 503 next try 2024-01-01T00:00:03.000Z',
      '  2024-01-01T00:00:02.000Z  crm-contacts   completed (attempt 1, 120 ms) HubSpot contact 151',
      '  2024-01-01T00:00:04.000Z  email-welcome  completed (attempt 2, 80 ms) SendGrid message msg.abc',
      '  now: crm-contacts done · email-welcome done',
    ]);
  });

  it('describes skipped and replayed steps', () => {
    expect(describeStep({ at: 'x', kind: 'skipped', queue: 'crm-products', reason: 'stale' })).toBe('skipped as stale');
    expect(describeStep({ at: 'x', kind: 'replayed', queue: 'crm-contacts' })).toBe(
      'replayed from the dead-letter queue',
    );
  });
});
