import type { Journey } from './journey.ts';
import type { AttemptCalls } from './calls.ts';
import type { TraceHeader, TraceStep } from './model.ts';

const oneLine = (text: string, max = 300) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
};

/** What an event is about, in one phrase: "enrollment e1 · course c1 · s***@example.com". */
export function describeSubject(h: TraceHeader | undefined): string {
  if (!h) return '(received before the trace expired)';
  return [
    h.enrollmentId && `enrollment ${h.enrollmentId}`,
    h.courseId && `course ${h.courseId}`,
    h.planIds?.length && `plans ${h.planIds.join(', ')}`,
    h.studentEmail,
  ]
    .filter(Boolean)
    .join(' · ');
}

/** The ids a step wrote or got back: HubSpot contact/products, SendGrid message id. */
function stepIds(step: TraceStep): string {
  return [
    step.hubspotContactId && `HubSpot contact ${step.hubspotContactId}`,
    step.hubspotProductIds?.length && `HubSpot products ${step.hubspotProductIds.join(', ')}`,
    step.sendgridMessageId && `SendGrid message ${step.sendgridMessageId}`,
  ]
    .filter(Boolean)
    .join(' · ');
}

/** One step as ops read it: "completed (attempt 1, 120 ms) HubSpot contact 101". */
export function describeStep(step: TraceStep): string {
  const attempt = [
    step.attempt !== undefined && `attempt ${step.attempt}`,
    step.durationMs !== undefined && `${step.durationMs} ms`,
  ]
    .filter(Boolean)
    .join(', ');
  const parts: (string | false | undefined)[] = [step.kind, attempt && `(${attempt})`];
  switch (step.kind) {
    case 'skipped':
      parts.push(`as ${step.reason ?? 'not needed'}`);
      break;
    case 'retrying':
    case 'failed':
      parts.push(step.error && `— ${oneLine(step.error)}`, step.retryAt && `next try ${step.retryAt}`);
      break;
    case 'delayed':
      parts.push(step.retryAt && `until ${step.retryAt}`);
      break;
    case 'dead-lettered':
      parts.push(
        `after ${step.errors?.length ?? 0} error(s)${step.unrecoverable ? ' (not retryable)' : ''}`,
        ...(step.errors ?? []).map((e) => `[${e.attempt}] ${oneLine(e.message, 160)}`),
      );
      break;
    case 'duplicate':
      parts.push('delivery answered 200 duplicate', step.correlationId && `(request ${step.correlationId})`);
      break;
    case 'quarantined':
      parts.push(step.error && `— ${oneLine(step.error)}`);
      break;
    case 'replayed':
      parts.push('from the dead-letter queue');
      break;
    case 'email':
      parts.push(
        step.event,
        step.emailStatus && `→ status ${step.emailStatus}`,
        step.reason && `— ${oneLine(step.reason, 200)}`,
      );
      break;
  }
  parts.push(stepIds(step));
  return parts.filter(Boolean).join(' ');
}

/** The journey as text, one line per step, then where each job is now. */
export function formatJourney(j: Journey): string[] {
  const h = j.header;
  const lines = [`${j.key}  ${h?.eventType ?? ''}  ${describeSubject(h)}`.trimEnd()];
  if (h) {
    const where = h.quarantineId ? `quarantine (entry ${h.quarantineId})` : h.queues.join(', ');
    lines.push(
      `  ${h.receivedAt}  ${'receiver'.padEnd(14)} received → ${where}${h.correlationId ? `  (request ${h.correlationId})` : ''}`,
    );
  }
  for (const s of j.steps) lines.push(`  ${s.at}  ${(s.queue ?? 'receiver').padEnd(14)} ${describeStep(s)}`);
  lines.push(
    `  now: ${j.now.map((p) => `${p.queue} ${p.state}${p.detail ? ` (${p.detail})` : ''}`).join(' · ') || 'unknown'}`,
  );
  return lines;
}

/** Compact JSON of a call's part: `{"firstname":"Mary","phone":"+88*****78"}`. */
const compact = (v: unknown) => JSON.stringify(v);

/**
 * The calls an event's jobs took part in, one line each: "crm-contacts attempt 1: hubspot
 * contacts.upsert asked {...} → answered {...}" (the record's own part; e-mail and phone masked).
 */
export function describeCalls(calls: AttemptCalls[] | undefined): string[] {
  return (calls ?? []).flatMap((a) =>
    a.calls.map(
      (c) =>
        `${a.queue} attempt ${a.attempt}: ${c.api} ${c.operation} asked ${compact(c.request)} → answered ${compact(c.response)}`,
    ),
  );
}

/** What is said of a journey whose call details expired (see TraceRecord.callsExpiredAfterDays). */
export function callsExpiredText(days: number): string {
  return `call details expired: they are kept ${days} day${days === 1 ? '' : 's'} after the calls (CALL_DETAIL_RETENTION_DAYS), the journey longer (TRACE_RETENTION_DAYS)`;
}
