import { describe, expect, it } from 'vitest';
import { eventReason, parseEventBatch } from '../src/sendgrid/events.ts';

describe('parseEventBatch', () => {
  it('takes the events it can read and names what is wrong with the others', () => {
    const ok = {
      event: 'delivered',
      sg_event_id: 'e1',
      timestamp: 1_700_000_000,
      email: 'a@example.com',
      sg_message_id: 'm1.filter',
      enrollment_id: 'enr-1',
    };
    const { events, invalid } = parseEventBatch(
      JSON.stringify([ok, { ...ok, event: 'nope' }, { ...ok, timestamp: '1700000001' }]),
    );
    expect(events.map((e) => [e.sgEventId, e.event, e.timestamp])).toEqual([
      ['e1', 'delivered', 1_700_000_000],
      ['e1', 'delivered', 1_700_000_001],
    ]);
    expect(invalid).toEqual([{ index: 1, reason: 'missing or invalid event' }]);
  });

  it("reads what each type says: a deferral's response and attempt, a group's id, a block without status, an empty sg_message_id as none", () => {
    const base = { sg_event_id: 'x', timestamp: 1_700_000_000, email: 'a@example.com' };
    const { events } = parseEventBatch(
      JSON.stringify([
        { ...base, event: 'deferred', response: '421 Try again later', attempt: '3', sg_message_id: 'm.1' },
        { ...base, event: 'deferred', attempt: 2 },
        {
          ...base,
          event: 'group_unsubscribe',
          asm_group_id: 10,
          url: 'https://x.example/',
          useragent: 'UA',
          ip: '192.0.2.1',
        },
        { ...base, event: 'group_resubscribe', asm_group_id: 10 },
        {
          ...base,
          event: 'bounce',
          type: 'blocked',
          reason: '554 blocked',
          tls: 0,
          bounce_classification: 'Unclassified',
        },
        { ...base, event: 'bounce', type: 'bounce', status: '5.1.1', reason: '550 gone', sg_message_id: '' },
        { ...base, event: 'click', url: 'https://x.example/', useragent: 'UA', ip: '192.0.2.1' },
      ]),
    );
    expect(events.map((e) => [e.event, e.reason, eventReason(e), e.sgMessageId, e.asmGroupId])).toEqual([
      ['deferred', '421 Try again later (attempt 3)', '421 Try again later (attempt 3)', 'm.1', undefined],
      ['deferred', 'attempt 2', 'attempt 2', undefined, undefined],
      ['group_unsubscribe', undefined, 'unsubscribe group 10', undefined, '10'],
      ['group_resubscribe', undefined, 'unsubscribe group 10', undefined, '10'],
      ['bounce', '554 blocked', 'blocked: 554 blocked', undefined, undefined],
      ['bounce', '550 gone', '550 gone', undefined, undefined],
      ['click', undefined, undefined, undefined, undefined],
    ]);
  });

  // Found by the fault suite's fuzzing: String() and Number() throw on objects whose toString and
  // valueOf are not functions, which answered a correctly signed batch 500.
  it('refuses, without throwing, fields that are objects which cannot be turned into text or numbers', () => {
    const odd = { toString: {}, valueOf: 1 };
    const body = JSON.stringify([
      { event: odd },
      { event: 'delivered', sg_event_id: 'e2', timestamp: odd, email: 'a@example.com' },
      { event: 'delivered', sg_event_id: odd, timestamp: 1, email: odd },
    ]);
    expect(parseEventBatch(body)).toEqual({
      events: [],
      invalid: [
        { index: 0, reason: 'missing or invalid sg_event_id, event, timestamp, email' },
        { index: 1, reason: 'missing or invalid timestamp' },
        { index: 2, reason: 'missing or invalid sg_event_id, email' },
      ],
    });
  });
});
