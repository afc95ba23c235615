/** SendGrid Event Webhook events as course-sync reads them: the fields it uses, and the welcome email status they mean. */

/** The event types SendGrid posts. */
export const EVENT_TYPES = [
  'processed',
  'dropped',
  'delivered',
  'deferred',
  'bounce',
  'open',
  'click',
  'spamreport',
  'unsubscribe',
  'group_unsubscribe',
  'group_resubscribe',
] as const;
export type EmailEventType = (typeof EVENT_TYPES)[number];

/** One event, reduced to what course-sync uses (nothing else of SendGrid's payload is kept). */
export interface EmailEvent {
  sgEventId: string;
  event: EmailEventType;
  /** Unix seconds. */
  timestamp: number;
  email: string;
  /** `<X-Message-Id of the send>.<suffix>`; absent on some asynchronous bounces. */
  sgMessageId?: string;
  /** The send's custom_args, when SendGrid passed them back. */
  enrollmentId?: string;
  /** Bounces and drops: why; deferrals: the receiving server's response and SendGrid's attempt. Bounces: `bounce` or `blocked`, the SMTP status. */
  reason?: string;
  type?: string;
  status?: string;
  /** Group unsubscribes and resubscribes: the unsubscribe group (asm_group_id). */
  asmGroupId?: string;
}

/** A welcome email's status, from first to last; the last four are final. */
export const EMAIL_STATUSES = [
  'sent',
  'deferred',
  'delivered',
  'bounced',
  'dropped',
  'spam_report',
  'unsubscribed',
] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

const FINAL = new Set<EmailStatus>(['bounced', 'dropped', 'spam_report', 'unsubscribed']);

/** How far a status is along: sent 1, deferred 2, delivered 3, any final one 4. */
export function statusRank(status: EmailStatus): number {
  return FINAL.has(status) ? 4 : EMAIL_STATUSES.indexOf(status) + 1;
}

/** The status an event means, if any (opens and clicks are counted, not a status). */
export function statusOfEvent(event: EmailEventType): EmailStatus | undefined {
  switch (event) {
    case 'processed':
      return 'sent';
    case 'deferred':
      return 'deferred';
    case 'delivered':
      return 'delivered';
    case 'bounce':
      return 'bounced';
    case 'dropped':
      return 'dropped';
    case 'spamreport':
      return 'spam_report';
    case 'unsubscribe':
    case 'group_unsubscribe':
      return 'unsubscribed';
    default:
      return undefined;
  }
}

/**
 * The rule a status moves by, whatever order events arrive in: only forward (sent → deferred →
 * delivered), a final status (bounced, dropped, spam_report, unsubscribed) over anything earlier,
 * and between two final ones the later event. Returns the new status, or undefined for no change.
 * The Lua in email-status.ts applies the same rule atomically (a test runs both on one table).
 */
export function nextStatus(
  current: { status: EmailStatus; at: number } | undefined,
  incoming: { status: EmailStatus; at: number },
): EmailStatus | undefined {
  if (!current) return incoming.status;
  const [was, now] = [statusRank(current.status), statusRank(incoming.status)];
  if (now > was) return incoming.status;
  if (now === 4 && was === 4 && incoming.at > current.at && incoming.status !== current.status) return incoming.status;
  return undefined;
}

/**
 * What an event says about why, as kept with the status and shown in the trace: a bounce's or drop's
 * reason (a block marked as such), a deferral's response and attempt, a group event's group.
 * Addresses inside are the caller's to mask.
 */
export function eventReason(e: Pick<EmailEvent, 'event' | 'reason' | 'type' | 'asmGroupId'>): string | undefined {
  if (e.event === 'bounce' && e.type === 'blocked') return e.reason ? `blocked: ${e.reason}` : 'blocked';
  if (e.event === 'group_unsubscribe' || e.event === 'group_resubscribe')
    return e.asmGroupId ? `unsubscribe group ${e.asmGroupId}` : undefined;
  return e.reason ?? e.type;
}

/** The X-Message-Id of the send an event is about: its sg_message_id up to the first dot. */
export function sendIdOf(sgMessageId: string | undefined): string | undefined {
  const id = sgMessageId?.split('.')[0];
  return id ? id : undefined;
}

/** A deferral's response and attempt, as one reason ("421 Try again later (attempt 2)"). */
function deferral(e: Record<string, unknown>): string | undefined {
  const [response, attempt] = [text(e.response), text(e.attempt)];
  if (!response) return attempt ? `attempt ${attempt}` : undefined;
  return attempt ? `${response} (attempt ${attempt})` : response;
}

const text = (v: unknown) =>
  typeof v === 'string' && v !== '' ? v.slice(0, 500) : typeof v === 'number' ? String(v) : undefined;

/** A batch that is not an array of events (400). */
export class EventBatchError extends Error {}

/**
 * Reads a posted batch: a JSON array of objects. Events without an `sg_event_id`, a known `event`,
 * a `timestamp` or an `email` are returned apart (kept for inspection), the others reduced to
 * EmailEvent. Throws EventBatchError when the body is not JSON or not an array.
 */
export function parseEventBatch(body: Buffer | string): {
  events: EmailEvent[];
  invalid: { index: number; reason: string }[];
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    throw new EventBatchError('Body is not valid JSON');
  }
  if (!Array.isArray(parsed)) throw new EventBatchError('Body must be a JSON array of events');
  const events: EmailEvent[] = [];
  const invalid: { index: number; reason: string }[] = [];
  parsed.forEach((raw, index) => {
    const e = (raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
    const event = e.event as EmailEventType;
    // Only strings and numbers are read: String() or Number() of an object whose toString/valueOf
    // is not a function (`{"toString": {}}`) throws, which would answer a signed batch 500.
    const timestamp = typeof e.timestamp === 'number' || typeof e.timestamp === 'string' ? Number(e.timestamp) : NaN;
    const missing = [
      !text(e.sg_event_id) && 'sg_event_id',
      !(EVENT_TYPES as readonly string[]).includes(event) && 'event',
      !(Number.isFinite(timestamp) && timestamp > 0) && 'timestamp',
      typeof e.email !== 'string' && 'email',
    ].filter(Boolean);
    if (missing.length) return void invalid.push({ index, reason: `missing or invalid ${missing.join(', ')}` });
    events.push({
      sgEventId: text(e.sg_event_id)!,
      event,
      timestamp,
      email: String(e.email),
      sgMessageId: text(e.sg_message_id),
      enrollmentId: text(e.enrollment_id),
      // A deferral has no reason: SendGrid gives the receiving server's `response` and its `attempt` (a count, sent as a string).
      reason: event === 'deferred' ? deferral(e) : text(e.reason),
      type: text(e.type),
      status: text(e.status),
      asmGroupId: event === 'group_unsubscribe' || event === 'group_resubscribe' ? text(e.asm_group_id) : undefined,
    });
  });
  return { events, invalid };
}
