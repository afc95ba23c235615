import { describe, expect, it } from 'vitest';
import { parseEventBatch } from '../src/sendgrid/events.ts';

describe('parseEventBatch', () => {
  it('takes the events it can read and names what is wrong with the others', () => {
    const ok = { event: 'delivered', sg_event_id: 'e1', timestamp: 1_700_000_000, email: 'a@example.com', sg_message_id: 'm1.filter', enrollment_id: 'enr-1' };
    const { events, invalid } = parseEventBatch(JSON.stringify([ok, { ...ok, event: 'nope' }, { ...ok, timestamp: '1700000001' }]));
    expect(events.map((e) => [e.sgEventId, e.event, e.timestamp])).toEqual([['e1', 'delivered', 1_700_000_000], ['e1', 'delivered', 1_700_000_001]]);
    expect(invalid).toEqual([{ index: 1, reason: 'missing or invalid event' }]);
  });

  // Found by the fault suite's fuzzing: String() and Number() throw on objects whose toString and
  // valueOf are not functions, which answered a correctly signed batch 500.
  it('refuses, without throwing, fields that are objects which cannot be turned into text or numbers', () => {
    const odd = { toString: {}, valueOf: 1 };
    const body = JSON.stringify([{ event: odd }, { event: 'delivered', sg_event_id: 'e2', timestamp: odd, email: 'a@example.com' }, { event: 'delivered', sg_event_id: odd, timestamp: 1, email: odd }]);
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
