/**
 * The formats course-sync writes into Redis — job data and its own records — and each version still
 * read. A job can wait hours (a HubSpot outage, a paused queue) and a record lives weeks, so a
 * release reads what the releases before it wrote, and during a rolling deploy a worker one release
 * behind reads what a new receiver wrote. Job data and pending records carry their version (`v`);
 * data without one is told by its shape (see each version's `shape`). Records whose readers tell
 * their versions apart by shape name it here only: the next change of them writes `v: 2`.
 * Fixtures of every version: test/fixtures/formats/<format>/<version>.json; test/formats.test.ts
 * fails when a format written today no longer matches its current fixture.
 */

/** One version of a format. */
export interface FormatVersion {
  version: number;
  /** How a record of this version looks (how a reader tells it apart). */
  shape: string;
  /** Until when a release reads it: a lifetime, or `current`. */
  readableUntil: string;
}

/** One format: where it lives, the version written today and every version still read. */
export interface Format {
  name: string;
  where: string;
  /** How a record says its version: a `v` field, or its shape (a packed trace: its first byte). */
  marked: 'v' | 'shape';
  current: number;
  versions: readonly FormatVersion[];
}

/** The version each format is written in today (job data and pending records carry it as `v`). */
export const FORMAT_VERSION = {
  enrollmentJob: 2,
  courseJob: 1,
  emailEventsJob: 1,
  emailStatusJob: 1,
  pending: 2,
} as const;

const current = (version: number, shape: string): FormatVersion => ({ version, shape, readableUntil: 'current' });

// prettier-ignore
export const FORMATS: readonly Format[] = [
  { name: 'job-enrollment', where: 'crm-contacts and email-welcome jobs of an enrollment', marked: 'v', current: FORMAT_VERSION.enrollmentJob, versions: [
    { version: 1, shape: '{key, eventType, receivedAt, correlationId, enrollment}: the enrollment in the job itself', readableUntil: 'as long as BullMQ keeps a job: no end while it waits (read by every release so far)' },
    current(2, '{v: 2, correlationId}: the enrollment waits once in its pending record (job id = key, name = type, timestamp = arrival)'),
  ] },
  { name: 'job-course', where: 'crm-products jobs', marked: 'v', current: FORMAT_VERSION.courseJob, versions: [
    current(1, '{v: 1, key, eventType, receivedAt, correlationId, course} (without `v` before versions were written)'),
  ] },
  { name: 'job-email-events', where: 'email-events jobs (a SendGrid event batch)', marked: 'v', current: FORMAT_VERSION.emailEventsJob, versions: [
    current(1, '{v: 1, key, receivedAt, correlationId, events[]} (without `v` before versions were written)'),
  ] },
  { name: 'job-email-status', where: 'crm-contacts jobs writing a welcome email status', marked: 'v', current: FORMAT_VERSION.emailStatusJob, versions: [
    current(1, '{v: 1, kind: "email-status", enrollmentId, email} (without `v` before versions were written)'),
  ] },
  { name: 'pending', where: 'cs:seen:<key>, an event\'s dedupe record', marked: 'v', current: FORMAT_VERSION.pending, versions: [
    { version: 1, shape: 'a string: the arrival time in ms (a plain dedupe marker; still what a course event and a released enrollment leave)', readableUntil: 'DEDUPE_TTL_SECONDS after arrival' },
    current(2, 'a hash: v, at, c, q:<queue> per unfinished job, e:<field> per scalar of the enrollment, x the rest'),
  ] },
  { name: 'dead-letter', where: '<queue>-dlq jobs, a job that failed for good', marked: 'shape', current: 1, versions: [
    current(1, '{queue, jobId, name, data (the job\'s data, an enrollment job\'s with its enrollment), attemptsMade, errors[{attempt, message, at}], deadAt, unrecoverable}'),
  ] },
  { name: 'trace', where: 'cs:trace:<key> and cs:calls:<key>, an event\'s journey and its call details', marked: 'shape', current: 3, versions: [
    { version: 1, shape: 'calls in the trace hash (c:<queue>:<attempt>), packed into one field z; indexes as sorted sets cs:trace-idx:<kind>:<value>', readableUntil: 'TRACE_RETENTION_DAYS after its last step (calls moved out while CALL_DETAIL_RETENTION_DAYS lasts)' },
    { version: 2, shape: 'h (header JSON), s:<order> (steps), packed into z0, z1, … (64-byte pieces, first byte the dictionary: 1); calls beside it in cs:calls (<queue>:<attempt>, a welcome email status write under email-status:<attempt>); indexes by day', readableUntil: 'TRACE_RETENTION_DAYS after its last step (call details CALL_DETAIL_RETENTION_DAYS)' },
    current(3, 'as version 2; a welcome email status write\'s calls under email-status (<status>):<attempt>, and a SendGrid event\'s step names its email-events job (jobId)'),
  ] },
  { name: 'contact', where: 'cs:contact:<address digest>, a student\'s course record', marked: 'shape', current: 2, versions: [
    { version: 1, shape: 'a hash: c:<course id> per course, last (JSON with courseName inside), seeded; the contact\'s address in cs:contact-owner:<id>', readableUntil: 'CONTACT_RECORD_TTL_DAYS after its last write (the first write turns it into version 2)' },
    current(2, 'a hash: c:<course id> per course, last (JSON), lastCourseName, id (the HubSpot contact)'),
  ] },
  { name: 'sent', where: 'cs:sent:<enrollment> and cs:sent-by:<message id>, a welcome email\'s record', marked: 'shape', current: 1, versions: [
    current(1, 'a hash: messageId, sentAt, jobId, then status, statusAt, reason; the index a string'),
  ] },
];

/** The format named `name`. */
export function format(name: string): Format {
  const found = FORMATS.find((f) => f.name === name);
  if (!found) throw new Error(`no format named ${name}`);
  return found;
}
