import type { AcceptedEvent } from '../queues/record-write.ts';
import type { IndexTerm, TraceHeader } from './model.ts';
import type { PiiHasher } from '../privacy/pii-hash.ts';
import { maskEmail, normalizeEmail } from '../privacy/email.ts';

/** What an event is about: the values it can be searched by. `email` is in clear: hash it, never store it. */
export interface EventSubject {
  enrollmentId?: string;
  courseId?: string;
  planIds?: string[];
  email?: string;
}

const MAX_PLANS = 100;

function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim().slice(0, 200);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function objectAt(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Reads the searchable values of an event's `data`, leniently: it also serves payloads that failed
 * their schema (quarantine), so nothing here assumes a valid shape.
 */
export function subjectOf(type: string, data: unknown): EventSubject {
  const d = objectAt(data);
  if (type === 'course.student_enroll') {
    const email = objectAt(d.user).email;
    return {
      enrollmentId: idOf(d.id),
      courseId: idOf(objectAt(d.course).id),
      email: typeof email === 'string' && email.includes('@') ? email : undefined,
    };
  }
  if (type === 'course.created' || type === 'course.updated') {
    const plans = Array.isArray(d.plans) ? d.plans.slice(0, MAX_PLANS) : [];
    const planIds = plans.map((p) => idOf(objectAt(p).id)).filter((id): id is string => !!id);
    return { courseId: idOf(d.id), planIds: planIds.length ? planIds : undefined };
  }
  return {};
}

/** The index entries of a subject; the e-mail only as its keyed hash. */
export function indexTerms(subject: EventSubject, hasher: PiiHasher): IndexTerm[] {
  const terms: IndexTerm[] = [];
  if (subject.enrollmentId) terms.push({ kind: 'enrollment', value: subject.enrollmentId });
  if (subject.courseId) terms.push({ kind: 'course', value: subject.courseId });
  for (const plan of new Set(subject.planIds ?? [])) terms.push({ kind: 'plan', value: plan });
  if (subject.email) terms.push({ kind: 'email', value: hasher.hash(subject.email) });
  return terms;
}

/** The header fields of a subject, with the e-mail masked. */
export function subjectFields(subject: EventSubject) {
  return {
    enrollmentId: subject.enrollmentId,
    courseId: subject.courseId,
    planIds: subject.planIds,
    studentEmail: subject.email ? maskEmail(normalizeEmail(subject.email)) : undefined,
  };
}

/** The header of an accepted event's trace: what the receiver knew, the e-mail masked. */
export function eventHeader(event: AcceptedEvent): TraceHeader {
  return {
    key: event.key,
    eventType: event.type,
    receivedAt: event.receivedAt,
    correlationId: event.correlationId,
    queues: event.queues,
    ...subjectFields(subjectOf(event.type, event.data)),
  };
}
