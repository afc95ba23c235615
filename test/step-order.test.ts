import { describe, expect, it } from 'vitest';
import type { TraceStep } from '../src/trace/model.ts';
import { sortSteps } from '../src/trace/model.ts';
import { compareSteps, orderSteps } from '../src/trace/step-order.ts';

// A journey's steps in the order they happened. SendGrid's events carry whole seconds, every other
// step milliseconds: against an event both are compared at the second, and ties go by the flow.
const job = (queue: string, at: string, kind: TraceStep['kind'] = 'completed'): TraceStep => ({
  at: `2026-05-04T09:12:${at}Z`,
  kind,
  queue,
  attempt: 1,
});
const sg = (event: string, at: string): TraceStep => ({
  at: `2026-05-04T09:12:${at}Z`,
  kind: 'email',
  queue: 'email-events',
  event,
});
const dup = (at: string): TraceStep => ({ at: `2026-05-04T09:12:${at}Z`, kind: 'duplicate' });

/** A step as the table names it. */
const label = (s: TraceStep) => `${s.queue ?? 'receiver'} ${s.event ?? s.kind} ${s.at.slice(17, -1)}`;

describe('the order of a journey', () => {
  it.each<[string, TraceStep[], string[]]>([
    [
      "a SendGrid event in the second the email was sent comes after the send (the issue's case)",
      [sg('processed', '06.000'), job('email-welcome', '06.683'), job('crm-contacts', '05.120')],
      ['crm-contacts completed 05.120', 'email-welcome completed 06.683', 'email-events processed 06.000'],
    ],
    [
      'an event of a later second comes after a step of an earlier one, whatever the milliseconds',
      [sg('delivered', '07.000'), job('email-welcome', '06.999')],
      ['email-welcome completed 06.999', 'email-events delivered 07.000'],
    ],
    [
      'an event of an earlier second comes first',
      [job('crm-contacts', '08.001'), sg('processed', '07.000')],
      ['email-events processed 07.000', 'crm-contacts completed 08.001'],
    ],
    [
      'SendGrid events of one second go in their own order: processed, delivered, open',
      [sg('open', '09.000'), sg('delivered', '09.000'), sg('processed', '09.000')],
      ['email-events processed 09.000', 'email-events delivered 09.000', 'email-events open 09.000'],
    ],
    [
      'steps that know their millisecond keep it, whatever the flow says',
      [job('email-welcome', '06.100'), job('crm-contacts', '06.900'), dup('06.500')],
      ['email-welcome completed 06.100', 'receiver duplicate 06.500', 'crm-contacts completed 06.900'],
    ],
    [
      'the same millisecond goes by the flow: receiver, HubSpot, the welcome email, SendGrid',
      [job('email-welcome', '06.000'), sg('processed', '06.000'), job('crm-contacts', '06.000'), dup('06.000')],
      [
        'receiver duplicate 06.000',
        'crm-contacts completed 06.000',
        'email-welcome completed 06.000',
        'email-events processed 06.000',
      ],
    ],
    [
      'a retry and its later success stay in time order',
      [
        job('crm-contacts', '10.400'),
        job('crm-contacts', '06.200', 'retrying'),
        sg('bounce', '06.000'),
        job('email-welcome', '06.700'),
      ],
      [
        'crm-contacts retrying 06.200',
        'email-welcome completed 06.700',
        'email-events bounce 06.000',
        'crm-contacts completed 10.400',
      ],
    ],
  ])('%s', (_name, steps, expected) => {
    expect(orderSteps(steps).map(label)).toEqual(expected);
    // Whatever order they were stored in.
    expect(orderSteps([...steps].reverse()).map(label)).toEqual(expected);
  });

  it('is a total order: every three steps compare consistently', () => {
    const steps = [
      sg('processed', '06.000'),
      sg('delivered', '06.000'),
      sg('processed', '07.000'),
      job('email-welcome', '06.683'),
      job('crm-contacts', '06.000'),
      job('crm-contacts', '06.999'),
      dup('06.500'),
      job('crm-products', '07.000'),
      dup('07.000'),
    ];
    for (const a of steps) {
      expect(compareSteps(a, a)).toBe(0);
      for (const b of steps) {
        expect(Math.sign(compareSteps(a, b)) + Math.sign(compareSteps(b, a))).toBe(0);
        for (const c of steps)
          if (compareSteps(a, b) < 0 && compareSteps(b, c) < 0)
            expect(compareSteps(a, c), `${label(a)} < ${label(b)} < ${label(c)}`).toBeLessThan(0);
      }
    }
  });

  it('is the order stored steps are read back in', () => {
    const stored: [string, string][] = [
      ['s:1777885926000-sgev1', JSON.stringify(sg('processed', '06.000'))],
      ['s:1777885926683-1-0', JSON.stringify(job('email-welcome', '06.683'))],
    ];
    expect(sortSteps(stored).map(label)).toEqual(['email-welcome completed 06.683', 'email-events processed 06.000']);
  });
});
