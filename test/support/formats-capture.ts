import { randomBytes } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { expect, vi } from 'vitest';
import type { HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import type { SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { FORMATS } from '../../src/formats.ts';
import { QUEUES, WORK_QUEUES } from '../../src/queues/names.ts';
import { DeadLetters } from '../../src/queues/dead-letter.ts';
import { PendingEvents } from '../../src/queues/pending-events.ts';
import { openQueues } from '../../src/queues/registry.ts';
import { traceFields } from '../../src/trace/packing.ts';
import { emailStatusJob } from '../../src/workers/email-events-worker.ts';
import { emulatorEnv, fixture, SETTLE } from './env.ts';
import {
  dumpJobs,
  dumpRecords,
  jobsShape,
  recordsShape,
  type FixtureJob,
  type FixtureRecord,
  type FormatFixture,
} from './formats.ts';
import { startTestService } from './receiver.ts';

/** The key of the e-mail hash in every fixture (the index entries of a trace are hashes of addresses under it). */
export const FIXTURE_PII_HASH_KEY = 'format-fixtures-pii-hash-key-not-a-secret';

/** The settings a release runs fixtures with: the emulators, the fixtures' hash key, traces packed a second after. */
export function formatEnv(hubspot: HubSpotEmulator, sendgrid: SendGridEmulator): Record<string, string> {
  return {
    ...emulatorEnv(hubspot, sendgrid),
    PII_HASH_KEY: FIXTURE_PII_HASH_KEY,
    TRACE_COMPACT_AFTER_SECONDS: '1',
    HUBSPOT_BATCH_WAIT_MS: '20',
  };
}

/**
 * A dead letter as this release writes it: another enrollment's crm-contacts job, read as a worker
 * reads it and failed for good (HubSpot refused it), then its jobs taken off the queues.
 */
async function deadLetter(receiver: Awaited<ReturnType<typeof startTestService>>, tag: string): Promise<FormatFixture> {
  const enroll = fixture('course.student_enroll');
  const id = `fmt_dead_${tag}`;
  const email = `format-dead-${tag}@example.com`;
  enroll.data.id = id;
  enroll.data.user.email = email;
  enroll.data.course.id = `course_dead_${tag}`;
  expect((await receiver.post(enroll)).status).toBe(202);
  const queues = openQueues(receiver.redis, receiver.config);
  try {
    const pending = new PendingEvents(receiver.redis, receiver.config);
    const job = (await queues.work[QUEUES.contacts].getJob(`enroll-${id}`))!;
    await pending.resolve([job]);
    await new DeadLetters(receiver.redis, queues, receiver.config.redis.prefix, pending).recordFailure(
      QUEUES.contacts,
      job,
      new UnrecoverableError('HubSpot 400 rejected: Property values were not valid'),
    );
    for (const q of [QUEUES.contacts, QUEUES.email]) await (await queues.work[q].getJob(`enroll-${id}`))?.remove();
    const letter = (await queues.deadLetter[QUEUES.contacts].getJob(`enroll-${id}`))!;
    const jobs = [
      {
        queue: QUEUES.contacts,
        deadLetter: true as const,
        id: letter.id!,
        name: letter.name,
        data: letter.data,
        timestamp: letter.timestamp,
      },
    ];
    return make('dead-letter', "written by this release's DeadLetters", [], jobs, {
      replays: [{ queue: QUEUES.contacts, id: letter.id! }],
      contacts: [{ email, courses: [enroll.data.course.id] }],
    });
  } finally {
    await queues.close();
  }
}

const current = (name: string) => FORMATS.find((f) => f.name === name)!.current;

/** The shape a record's value is pinned by: a trace or calls hash unpacked (what its readers see), and how it was packed. */
function valueForShape(r: FixtureRecord): FixtureRecord {
  if (r.type !== 'hash' || !/^\{prefix\}:cs:(trace|calls):/.test(r.key)) return r;
  const raw = Object.fromEntries(
    Object.entries(r.value).map(([f, v]) => [
      f,
      typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.base64, 'base64'),
    ]),
  );
  const packed = Object.keys(raw)
    .filter((f) => /^z\d*$/.test(f))
    .sort();
  const format = packed.length ? raw[packed[0]!]![0] : undefined;
  return {
    ...r,
    value: {
      ...traceFields(raw, r.key.includes(':cs:calls:')),
      ...(packed.length
        ? { [`packed: ${packed.length > 1 ? 'pieces' : 'one field'}, dictionary ${format}`]: 'bytes' }
        : {}),
    },
  };
}

/** The shape of a fixture (what the pin test compares). */
export function fixtureShape(f: Pick<FormatFixture, 'records' | 'jobs'>): unknown {
  return { records: recordsShape(f.records.map(valueForShape)), jobs: jobsShape(f.jobs) };
}

function make(
  format: string,
  origin: string,
  records: FixtureRecord[],
  jobs: FixtureJob[],
  expectations: FormatFixture['expect'],
): FormatFixture {
  const f: FormatFixture = { format, version: current(format), origin, records, jobs, expect: expectations };
  return { ...f, shape: fixtureShape(f) };
}

/**
 * Today's formats, as today's code writes them: a receiver takes an enrollment, a course update and
 * a SendGrid event batch (the jobs and pending record as queued), then a worker runs them (the
 * trace as packed, the contact's course record, the welcome email's record).
 */
export async function captureFormats(hubspot: HubSpotEmulator, sendgrid: SendGridEmulator): Promise<FormatFixture[]> {
  const tag = randomBytes(3).toString('hex');
  const id = `fmt_now_${tag}`;
  const email = `format-now-${tag}@example.com`;
  const enroll = fixture('course.student_enroll');
  enroll.data.id = id;
  enroll.data.user.email = email;
  enroll.data.course.id = `course_fmt_${tag}`;
  const course = fixture('course.updated');
  const env = formatEnv(hubspot, sendgrid);
  const receiver = await startTestService(env, 'receiver');
  const prefix = receiver.config.redis.prefix;
  let worker: Awaited<ReturnType<typeof startTestService>> | undefined;
  try {
    expect((await receiver.post(enroll)).status).toBe(202);
    expect((await receiver.post(course)).status).toBe(202);
    // About another send: an event about this enrollment's would stand for its welcome email.
    const sg = [
      {
        email: `other-${email}`,
        timestamp: Math.floor(Date.now() / 1000),
        event: 'delivered',
        sg_event_id: `fmt-${tag}`,
        sg_message_id: `fmt-${tag}.filter0001`,
        enrollment_id: `other_${id}`,
        course_id: enroll.data.course.id,
      },
    ];
    expect(
      (
        await fetch(`${receiver.base}/webhooks/sendgrid`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(sg),
        })
      ).status,
    ).toBeLessThan(300);
    const queues = openQueues(receiver.redis, receiver.config);
    const jobs = await dumpJobs(queues, WORK_QUEUES).finally(() => queues.close());
    const queued = await dumpRecords(receiver.redis, prefix, (family) => family === 'seen' || family === 'trace-idx');
    const of = (queue: string) => jobs.filter((j) => j.queue === queue);
    const key = `enroll-${id}`;
    const enrolled = {
      contacts: [{ email, courses: [enroll.data.course.id] }],
      welcomes: [email],
      traces: [{ query: id, key }],
      students: [{ email, where: [`cs:trace:${key}`] }],
    };
    const fixtures = [
      make(
        'job-enrollment',
        "captured from this release's receiver",
        queued,
        [...of(QUEUES.contacts), ...of(QUEUES.email)],
        enrolled,
      ),
      make(
        'pending',
        "captured from this release's receiver",
        queued.filter((r) => r.key.includes(':cs:seen:')),
        [...of(QUEUES.contacts), ...of(QUEUES.email)],
        enrolled,
      ),
      make('job-course', "captured from this release's receiver", [], of(QUEUES.products), {
        products: course.data.plans?.map((p: { id: string }) => p.id) ?? [],
      }),
      make('job-email-events', "captured from this release's receiver", [], of(QUEUES.emailEvents), {}),
      make(
        'job-email-status',
        "what this release's email-events worker queues",
        [],
        [
          {
            queue: QUEUES.contacts,
            id: `email-status-${tag}`,
            name: 'email-status',
            data: emailStatusJob(id, email).data,
            timestamp: Date.now(),
          },
        ],
        {},
      ),
      await deadLetter(receiver, tag),
    ];

    worker = await startTestService({ ...env, QUEUE_PREFIX: prefix }, 'worker');
    await vi.waitFor(() => expect(sendgrid.outbox.to(email)).toHaveLength(1), { ...SETTLE, timeout: 30_000 });
    // SendGrid says it was delivered: the welcome email's record gets its status.
    const delivered = [
      {
        email,
        timestamp: Math.floor(Date.now() / 1000),
        event: 'delivered',
        sg_event_id: `fmt-d-${tag}`,
        sg_message_id: `${sendgrid.outbox.to(email)[0]!.messageId}.filter0001`,
        enrollment_id: id,
        course_id: enroll.data.course.id,
      },
    ];
    expect(
      (
        await fetch(`${receiver.base}/webhooks/sendgrid`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(delivered),
        })
      ).status,
    ).toBeLessThan(300);
    await vi.waitFor(
      async () => {
        expect(await receiver.redis.hget(`${prefix}:cs:sent:${id}`, 'status')).toBe('delivered');
        for (const hash of ['trace', 'calls'])
          expect(Object.keys(await receiver.redis.hgetall(`${prefix}:cs:${hash}:${key}`)), `${hash} packed`).toContain(
            'z0',
          );
      },
      { ...SETTLE, timeout: 30_000 },
    );
    const done = await dumpRecords(receiver.redis, prefix, () => true);
    // The enrollment's own records (the course event's trace is packed or not yet, as timing has it).
    const family = (...names: string[]) =>
      done.filter(
        (r) =>
          names.includes(r.key.split(':')[2]!) &&
          !r.key.includes('email-status') &&
          (!/:cs:(trace|calls):/.test(r.key) || r.key.endsWith(`:${key}`)),
      );
    const found = {
      traces: [
        { query: id, key },
        { query: email, key },
      ],
    };
    fixtures.push(
      make('trace', "captured from this release's workers (packed)", family('trace', 'calls', 'trace-idx'), [], {
        ...found,
        students: [{ email, where: [`cs:trace:${key}`] }],
      }),
      make('contact', "captured from this release's workers", family('contact', 'contact-alias'), [], {
        students: [{ email, where: ['cs:contact:'] }],
      }),
      make('sent', "captured from this release's workers", family('sent', 'sent-by'), [], { sent: [id] }),
    );
    return fixtures;
  } finally {
    await worker?.service.stop();
    await receiver.stop();
  }
}
