import { contactRecordDigest } from '../../src/hubspot/contact-courses.ts';
import { PiiHasher } from '../../src/privacy/pii-hash.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { packFields } from '../../src/trace/packing.ts';
import { FIXTURE_PII_HASH_KEY } from './formats-capture.ts';
import { fixture } from './env.ts';
import type { FormatFixture } from './formats.ts';

/**
 * The earlier versions of the formats, rebuilt from the code that wrote them (git history: the
 * enrollment in the job before 7b409b1, the plain dedupe marker before 461f973, calls kept in the
 * trace and one packed field before 834de0c, `seeded` and the owner key before the contact id).
 * Written once (UPDATE_FORMAT_FIXTURES=1 when a file is missing), then committed: never rebuilt
 * from code that has moved on. Times are fixed: the load test gives every record a day to live.
 */
const AT = Date.UTC(2026, 10, 30, 9, 0, 0);
const ISO = new Date(AT).toISOString();

/** The e-mail index hash of `email` under the fixtures' key. */
const emailHash = (email: string) => new PiiHasher(FIXTURE_PII_HASH_KEY).hash(email);

function enrollment(id: string, email: string, courseId: string) {
  const e = fixture('course.student_enroll').data;
  return { ...e, id, user: { ...e.user, email, id: `user_${id}` }, course: { ...e.course, id: courseId } };
}

function inlineJobs(id: string, email: string, courseId: string): FormatFixture['jobs'] {
  const key = `enroll-${id}`;
  const data = {
    key,
    eventType: 'course.student_enroll',
    receivedAt: ISO,
    correlationId: `corr-${id}`,
    enrollment: enrollment(id, email, courseId),
  };
  return [QUEUES.contacts, QUEUES.email].map((queue) => ({
    queue,
    id: key,
    name: 'course.student_enroll',
    data,
    timestamp: AT,
  }));
}

const header = (id: string, email: string, courseId: string) =>
  JSON.stringify({
    eventType: 'course.student_enroll',
    receivedAt: ISO,
    correlationId: `corr-${id}`,
    queues: [QUEUES.contacts, QUEUES.email],
    enrollmentId: id,
    courseId,
    studentEmail: `${email[0]}***@example.com`,
  });

export function legacyFixtures(): FormatFixture[] {
  const rebuilt = (what: string) => `rebuilt from the code that wrote it (${what})`;
  const j = { id: 'fmt_v1_job', email: 'format-v1-job@example.com', course: 'course_fmt_v1' };
  const p = { id: 'fmt_v1_pending', email: 'format-v1-pending@example.com', course: 'course_fmt_v1' };
  const t = { id: 'fmt_v1_trace', email: 'format-v1-trace@example.com', course: 'course_fmt_v1' };
  const c = { email: 'format-v1-contact@example.com', contactId: '9001' };
  const step = (queue: string, extra: object) =>
    JSON.stringify({ at: ISO, queue, kind: 'completed', attempt: 1, durationMs: 12, ...extra });
  const packed = packFields([
    ['h', header(t.id, t.email, t.course)],
    [`s:${AT}-crm-contacts-${AT}-0`, step(QUEUES.contacts, { hubspotContactId: '9002' })],
    [`s:${AT}-email-welcome-${AT}-0`, step(QUEUES.email, { sendgridMessageId: 'fmt-v1-message' })],
    [
      `c:${QUEUES.contacts}:1`,
      JSON.stringify([
        {
          api: 'hubspot',
          operation: 'contacts.upsert',
          request: { email: 'f***@example.com' },
          response: { outcome: 'written', contactId: '9002', created: true },
        },
      ]),
    ],
  ]);
  const idx = (kind: string, value: string, key: string) => ({
    key: `{prefix}:cs:trace-idx:${kind}:${encodeURIComponent(value)}`,
    type: 'zset' as const,
    value: [[key, AT]] as [string, number][],
  });
  return [
    {
      format: 'job-enrollment',
      version: 1,
      origin: rebuilt('the enrollment in each job; trace header and index written at intake'),
      records: [
        { key: `{prefix}:cs:seen:enroll-${j.id}`, type: 'string', value: String(AT) },
        { key: `{prefix}:cs:trace:enroll-${j.id}`, type: 'hash', value: { h: header(j.id, j.email, j.course) } },
        idx('email', emailHash(j.email), `enroll-${j.id}`),
      ],
      jobs: inlineJobs(j.id, j.email, j.course),
      expect: {
        contacts: [{ email: j.email, courses: [j.course] }],
        welcomes: [j.email],
        traces: [
          { query: j.id, key: `enroll-${j.id}` },
          { query: j.email, key: `enroll-${j.id}` },
        ],
        students: [{ email: j.email, where: [`cs:trace:enroll-${j.id}`] }],
      },
    },
    {
      format: 'pending',
      version: 1,
      origin: rebuilt('a plain dedupe marker: the arrival time; the jobs held the enrollment'),
      records: [
        { key: `{prefix}:cs:seen:enroll-${p.id}`, type: 'string', value: String(AT) },
        { key: `{prefix}:cs:trace:enroll-${p.id}`, type: 'hash', value: { h: header(p.id, p.email, p.course) } },
      ],
      jobs: inlineJobs(p.id, p.email, p.course),
      expect: {
        contacts: [{ email: p.email, courses: [p.course] }],
        welcomes: [p.email],
        traces: [{ query: p.id, key: `enroll-${p.id}` }],
      },
    },
    {
      format: 'trace',
      version: 1,
      origin: rebuilt('calls in the trace, packed into one field z; indexes as sorted sets'),
      records: [
        { key: `{prefix}:cs:trace:enroll-${t.id}`, type: 'hash', value: { z: { base64: packed.toString('base64') } } },
        idx('email', emailHash(t.email), `enroll-${t.id}`),
        idx('course', t.course, `enroll-${t.id}`),
      ],
      jobs: [],
      expect: {
        traces: [
          { query: t.id, key: `enroll-${t.id}` },
          { query: t.email, key: `enroll-${t.id}` },
        ],
        students: [{ email: t.email, where: [`cs:trace:enroll-${t.id}`] }],
      },
    },
    {
      format: 'contact',
      version: 1,
      origin: rebuilt("`seeded` and the course name inside `last`; the contact's address in an owner key"),
      records: [
        {
          key: `{prefix}:cs:contact:${contactRecordDigest(c.email)}`,
          type: 'hash',
          value: {
            'c:course_fmt_v1': '1',
            last: JSON.stringify({ at: ISO, courseId: 'course_fmt_v1', courseName: 'Formats 101' }),
            seeded: '1',
          },
        },
        { key: `{prefix}:cs:contact-owner:${c.contactId}`, type: 'string', value: c.email },
      ],
      jobs: [],
      expect: { students: [{ email: c.email, where: [`cs:contact:${contactRecordDigest(c.email)}`] }] },
    },
  ];
}
