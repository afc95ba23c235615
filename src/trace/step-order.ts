import type { TraceStep } from './model.ts';

// The order a journey's steps are shown in: by when they happened, ties broken by the flow's order.
// SendGrid's events carry whole seconds (`timestamp` is Unix seconds), every other step the
// millisecond it was written, so "processed" at 06 s may really have come after "email-welcome
// completed" at 06.683 s. Against a SendGrid event both sides are compared at the second, and
// within one second the flow decides: receiver → HubSpot jobs → the welcome email → SendGrid's
// events (in their own order: processed before delivered before open…).

/** Where a step stands in the flow, for ties. */
function flowRank(step: TraceStep): number {
  if (step.kind === 'email') return 3;
  if (step.kind === 'duplicate' || step.kind === 'quarantined' || !step.queue) return 0;
  return step.queue === 'email-welcome' ? 2 : 1;
}

/** SendGrid's event types in the order they happen to one message. */
const EMAIL_EVENT_ORDER = [
  'processed',
  'dropped',
  'deferred',
  'bounce',
  'blocked',
  'delivered',
  'open',
  'click',
  'spamreport',
  'unsubscribe',
  'group_unsubscribe',
  'group_resubscribe',
];

function eventRank(step: TraceStep): number {
  const i = step.event === undefined ? -1 : EMAIL_EVENT_ORDER.indexOf(step.event);
  return i < 0 ? EMAIL_EVENT_ORDER.length : i;
}

/** True for a step whose time is known to the second only (a SendGrid event). */
export function wholeSeconds(step: TraceStep): boolean {
  return step.kind === 'email';
}

/**
 * Compares two steps by when they happened: to the millisecond when both know it, to the second
 * when one is a SendGrid event; equal times go by the flow's order. A SendGrid event ranks after
 * every other step, so the order is the same whichever pair is compared (a total order).
 */
export function compareSteps(a: TraceStep, b: TraceStep): number {
  const ta = Date.parse(a.at);
  const tb = Date.parse(b.at);
  const coarse = wholeSeconds(a) || wholeSeconds(b);
  const byTime = coarse ? Math.floor(ta / 1000) - Math.floor(tb / 1000) : ta - tb;
  if (byTime !== 0) return byTime;
  const byFlow = flowRank(a) - flowRank(b);
  if (byFlow !== 0) return byFlow;
  if (coarse) return eventRank(a) - eventRank(b) || ta - tb;
  return 0;
}

/** The steps in the order they are shown (a new array; equal steps keep the order given). */
export function orderSteps(steps: readonly TraceStep[]): TraceStep[] {
  return [...steps].sort(compareSteps);
}
