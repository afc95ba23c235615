import { createHash } from 'node:crypto';
import { instantOf } from './timestamps.ts';
import type { LoopwiseEvent } from './types.ts';

/** BullMQ job ids may not contain ":"; everything else is kept readable. */
function safe(part: string): string {
  return part.replace(/[:%]/g, (c) => (c === ':' ? '%3A' : '%25'));
}

/**
 * The identity of a delivery, since the envelope has none: the enrollment id for enrollments;
 * type, course id and the instant of `updated_at` for course events (so `+08:00` and `Z` forms of
 * one update are one event). Also used as the BullMQ job id.
 */
export function idempotencyKey(event: LoopwiseEvent): string {
  if (event.type === 'course.student_enroll') return enrollmentKey(event.data.id);
  return `${event.type}-${safe(event.data.id)}-${instantOf(event.data.updated_at)}`;
}

/** The idempotency key (and job id, and trace key) of the enrollment with id `enrollmentId`. */
export function enrollmentKey(enrollmentId: string): string {
  return `enroll-${safe(enrollmentId)}`;
}

/** True for the idempotency key of an enrollment. */
export function isEnrollmentKey(key: string): boolean {
  return key.startsWith('enroll-');
}

/** True for the idempotency key of a Loopwise event (the job id of its enrollment or course jobs). */
export function isEventKey(jobId: string): boolean {
  return /^(enroll-|course\.(created|updated)-)/.test(jobId);
}

/** Fallback identity of a payload that has no known shape (`kind`-<hash of the raw body>; a SendGrid batch is `sg-`). */
export function bodyHashKey(rawBody: Buffer | string, kind = 'body'): string {
  return `${kind}-${createHash('sha256').update(rawBody).digest('hex').slice(0, 40)}`;
}
