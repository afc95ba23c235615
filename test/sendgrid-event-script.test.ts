import { describe, expect, it } from 'vitest';
import { scriptFor, type Fate } from '../src/emulators/sendgrid/event-script.ts';
import type { OutboxEmail } from '../src/emulators/sendgrid/outbox.ts';

// The SendGrid emulator's Event Webhook script: which events each recipient's fate brings, in which
// order, with the fields SendGrid's Event Webhook reference lists for each type.
const email: OutboxEmail = {
  messageId: 'MSG123',
  index: 2,
  acceptedAt: new Date(0).toISOString(),
  from: { email: 'school@example.com' },
  to: [{ email: 'Student@example.com' }],
  cc: [],
  bcc: [],
  html: '<p>Welcome! <a href="https://school.example/courses/intro">Start</a> <a href="https://school.example/help">Help</a></p>',
  // A custom arg named like a reserved key loses to SendGrid's own value.
  customArgs: { enrollment_id: 'enr-1', event: 'mine', email: 'other@example.com' },
  categories: ['welcome'],
};
const to = email.to[0]!;
const types = (fate: Fate) => scriptFor(email, to, fate, 10).map((s) => [s.step, s.event.event]);
const eventOf = (fate: Fate, type: string, n = 0) =>
  scriptFor(email, to, fate, 10).filter((s) => s.event.event === type)[n]!.event;

describe('the emulated Event Webhook script', () => {
  it.each<[Fate, [number, string][]]>([
    [
      'delivered',
      [
        [0, 'processed'],
        [1, 'delivered'],
      ],
    ],
    [
      'dropped',
      [
        [0, 'processed'],
        [1, 'dropped'],
      ],
    ],
    [
      'bounce',
      [
        [0, 'processed'],
        [1, 'bounce'],
      ],
    ],
    [
      'blocked',
      [
        [0, 'processed'],
        [1, 'bounce'],
      ],
    ],
    [
      'deferred',
      [
        [0, 'processed'],
        [1, 'deferred'],
        [2, 'delivered'],
      ],
    ],
    [
      'engaged',
      [
        [0, 'processed'],
        [1, 'delivered'],
        [2, 'open'],
        [3, 'click'],
      ],
    ],
    [
      'spamreport',
      [
        [0, 'processed'],
        [1, 'delivered'],
        [2, 'spamreport'],
      ],
    ],
    [
      'unsubscribe',
      [
        [0, 'processed'],
        [1, 'delivered'],
        [2, 'unsubscribe'],
      ],
    ],
    [
      'group_unsubscribe',
      [
        [0, 'processed'],
        [1, 'delivered'],
        [2, 'group_unsubscribe'],
      ],
    ],
    [
      'group_resubscribe',
      [
        [0, 'processed'],
        [1, 'delivered'],
        [2, 'group_unsubscribe'],
        [3, 'group_resubscribe'],
      ],
    ],
    [
      'async_bounce',
      [
        [0, 'processed'],
        [1, 'delivered'],
        [2, 'bounce'],
      ],
    ],
  ])('%s: %j', (fate, expected) => {
    expect(types(fate)).toEqual(expected);
  });

  it("gives every event of a send its message id, smtp-id, categories and custom_args, SendGrid's reserved keys winning", () => {
    for (const { event } of scriptFor(email, to, 'engaged', 10)) {
      expect(event).toMatchObject({
        email: 'Student@example.com',
        sg_message_id: 'MSG123.emulator2',
        'smtp-id': '<MSG123@emulator>',
        category: ['welcome'],
        enrollment_id: 'enr-1',
      });
      expect(event.event).not.toBe('mine');
    }
  });

  it("has the fields of each type: a deferral's response and attempt, an open's and a click's client, the link clicked, a bounce's type and status", () => {
    expect(eventOf('deferred', 'deferred')).toMatchObject({ response: expect.stringMatching(/^4\d\d /), attempt: '1' });
    expect(eventOf('engaged', 'open')).toMatchObject({
      useragent: expect.any(String),
      ip: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/),
    });
    expect(eventOf('engaged', 'click')).toMatchObject({
      useragent: expect.any(String),
      ip: expect.any(String),
      url: 'https://school.example/courses/intro',
    });
    expect(eventOf('bounce', 'bounce')).toMatchObject({
      type: 'bounce',
      status: '5.1.1',
      reason: expect.stringMatching(/^550 /),
    });
    expect(eventOf('dropped', 'dropped')).toMatchObject({ reason: 'Bounced Address', status: '5.0.0' });
    const blocked = eventOf('blocked', 'bounce');
    expect(blocked).toMatchObject({ type: 'blocked', reason: expect.any(String) });
    expect(blocked).not.toHaveProperty('status');
    expect(eventOf('delivered', 'delivered')).toMatchObject({ response: '250 OK' });
  });

  it('puts the unsubscribe group on group events', () => {
    expect(
      scriptFor(email, to, 'group_resubscribe', 42)
        .filter((s) => String(s.event.event).startsWith('group_'))
        .map((s) => s.event.asm_group_id),
    ).toEqual([42, 42]);
    expect(eventOf('group_unsubscribe', 'group_unsubscribe')).toMatchObject({
      asm_group_id: 10,
      url: expect.any(String),
      useragent: expect.any(String),
      ip: expect.any(String),
    });
  });

  it("reports an asynchronous bounce after delivery with an empty sg_message_id and none of the send's custom_args", () => {
    const bounce = eventOf('async_bounce', 'bounce');
    expect(bounce).toMatchObject({
      email: 'Student@example.com',
      event: 'bounce',
      type: 'bounce',
      sg_message_id: '',
      status: '5.1.1',
    });
    for (const key of ['enrollment_id', 'smtp-id', 'category']) expect(bounce).not.toHaveProperty(key);
  });
});
