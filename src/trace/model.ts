import type { AttemptError } from '../queues/dead-letter.ts';
import type { AttemptCalls } from './calls.ts';

/** What the receiver knew when it accepted an event: the first line of every journey. */
export interface TraceHeader {
  /** Idempotency key of the delivery, also the job id in every queue. */
  key: string;
  eventType: string;
  receivedAt: string;
  correlationId?: string;
  /** Queues the event went to (empty for a quarantined delivery). */
  queues: string[];
  enrollmentId?: string;
  courseId?: string;
  planIds?: string[];
  /** The student e-mail masked (s***@example.com); never the address in clear. */
  studentEmail?: string;
  /** Set for a delivery kept in quarantine: its quarantine entry id. */
  quarantineId?: string;
}

/** Something that happened to an event after it was received. */
export type StepKind =
  | 'duplicate'
  | 'completed'
  | 'skipped'
  | 'retrying'
  | 'delayed'
  | 'failed'
  | 'dead-lettered'
  | 'replayed'
  | 'quarantined'
  /** A SendGrid event about the welcome email (processed, delivered, bounce, open, ...). */
  | 'email';

/** One step of a journey; which fields are set depends on `kind`. */
export interface TraceStep {
  at: string;
  kind: StepKind;
  queue?: string;
  /** Attempt number (1 = first) of a completed or failed attempt. */
  attempt?: number;
  durationMs?: number;
  error?: string;
  /** Why a job completed without writing anything (e.g. "stale"). */
  reason?: string;
  hubspotContactId?: string;
  hubspotProductIds?: string[];
  sendgridMessageId?: string;
  /** When a retry is due. */
  retryAt?: string;
  /** Every attempt's error, for a dead letter. */
  errors?: AttemptError[];
  unrecoverable?: boolean;
  correlationId?: string;
  /** For `email` steps: SendGrid's event, and the welcome email status it moved to (if it did). */
  event?: string;
  emailStatus?: string;
}

/** A stored trace: its header (absent when it expired before a late step) and its steps, oldest first. */
export interface TraceRecord {
  key: string;
  header?: TraceHeader;
  steps: TraceStep[];
  /** The HubSpot and SendGrid calls each attempt of its jobs took part in. */
  calls?: AttemptCalls[];
}

/** The kinds of value a trace is found by. */
export type IndexKind = 'enrollment' | 'course' | 'plan' | 'email';

/** One index entry: a raw value, except for `email` whose value is the keyed hash. */
export interface IndexTerm {
  kind: IndexKind;
  value: string;
}

/**
 * The header as fields of the trace hash, `receivedAt` first (the header is there exactly when it
 * is): each value short, so a trace that has no steps yet stays a compact hash in Redis.
 */
export function headerFields(h: TraceHeader): [string, string][] {
  const fields: [string, string | undefined][] = [
    ['receivedAt', h.receivedAt],
    ['eventType', h.eventType],
    ['queues', h.queues.join(',')],
    ['correlationId', h.correlationId],
    ['enrollmentId', h.enrollmentId],
    ['courseId', h.courseId],
    ['planIds', h.planIds && JSON.stringify(h.planIds)],
    ['studentEmail', h.studentEmail],
    ['quarantineId', h.quarantineId],
  ];
  return fields.filter((f): f is [string, string] => f[1] !== undefined);
}

/** The header of trace `key` from its hash: the fields above, or field `h` (JSON) of traces written before them. */
export function headerOf(key: string, hash: Record<string, string>): TraceHeader | undefined {
  if (hash.h) return JSON.parse(hash.h) as TraceHeader;
  if (hash.receivedAt === undefined) return undefined;
  return {
    key,
    eventType: hash.eventType ?? '',
    receivedAt: hash.receivedAt,
    correlationId: hash.correlationId,
    queues: hash.queues ? hash.queues.split(',') : [],
    enrollmentId: hash.enrollmentId,
    courseId: hash.courseId,
    planIds: hash.planIds ? (JSON.parse(hash.planIds) as string[]) : undefined,
    studentEmail: hash.studentEmail,
    quarantineId: hash.quarantineId,
  };
}

/** Reads stored steps (hash fields `s:<order>`) back into time order. */
export function sortSteps(fields: [string, string][]): TraceStep[] {
  return fields
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, json]) => JSON.parse(json) as TraceStep)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
