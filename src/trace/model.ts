import { maskText } from '../privacy/text.ts';
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
  /** Set when its jobs made calls whose details are gone: kept this many days (CALL_DETAIL_RETENTION_DAYS), the journey longer. */
  callsExpiredAfterDays?: number;
}

/** The kinds of value a trace is found by. */
export type IndexKind = 'enrollment' | 'course' | 'plan' | 'email';

/** One index entry: a raw value, except for `email` whose value is the keyed hash. */
export interface IndexTerm {
  kind: IndexKind;
  value: string;
}

/** The header of trace `key` from its hash (field `h`, JSON, stored without the key). */
export function headerOf(key: string, hash: Record<string, string>): TraceHeader | undefined {
  return hash.h ? { key, ...(JSON.parse(hash.h) as Omit<TraceHeader, 'key'>) } : undefined;
}

/** Reads stored steps (hash fields `s:<order>`) back into time order. */
export function sortSteps(fields: [string, string][]): TraceStep[] {
  return fields
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, json]) => JSON.parse(json) as TraceStep)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/**
 * A step with the addresses and phone numbers in its texts masked: its error, its reason (a
 * SendGrid bounce's), every error of a dead letter. Written so, and shown so whatever was stored.
 */
export function maskStepTexts(step: TraceStep): TraceStep {
  const masked: TraceStep = { ...step };
  if (step.error !== undefined) masked.error = maskText(step.error);
  if (step.reason !== undefined) masked.reason = maskText(step.reason);
  if (step.errors) masked.errors = step.errors.map((e) => ({ ...e, message: maskText(e.message) }));
  return masked;
}
