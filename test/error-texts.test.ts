import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import type { DeadLetter } from '../src/queues/dead-letter.ts';
import { QUEUES } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { TraceKeys } from '../src/trace/keys.ts';
import { startQueueWorker } from '../src/workers/start.ts';
import { basic } from './support/admin.ts';
import { runCli } from './support/cli.ts';
import { enrollEvent } from './support/faults.ts';
import { testConfig } from './support/env.ts';
import { startTestService } from './support/receiver.ts';
import { holding, textsUnder, type HeldText } from './support/redis-texts.ts';
import { startScriptedServer } from './support/scripted-server.ts';
import { finishedJob, testWorkerDeps } from './support/worker-deps.ts';

// HubSpot's and SendGrid's error messages quote the student's address and phone number. Through a
// whole service (real workers, tracer, client libraries): HubSpot refuses Ada's contact naming both,
// SendGrid answers her welcome email with a 500 naming both until it is a dead letter, and Bob's
// welcome email fails once the same way before it goes out (his journey ends packed). Afterwards
// nothing in Redis holds their address or phone in clear but the data kept on purpose, and the
// console, the admin API and the CLI show the masked form.
const AUTH = basic('ops', 'error-texts-pw');
const ada = {
  email: 'ada.lovelace@school.c0m',
  phone: '+886 987 654 321',
  digits: '987654321',
  masked: { email: 'a***@school.c0m', phone: '+88********21' },
};
const bob = { email: 'bob.babbage@example.com', phone: '+886 955 123 456', digits: '955123456' };
const RAW = [ada.email, bob.email];
const RAW_DIGITS = [ada.digits, bob.digits];

let hubspot: HubSpotEmulator;
let sendgrid: Awaited<ReturnType<typeof startScriptedServer>>;
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

/** SendGrid's answer to a Mail Send whose mailbox is away, in SendGrid's error shape, naming the student. */
const sendGridDown = (s: { email: string; phone: string }) => ({
  status: 500,
  body: {
    errors: [
      {
        message: `Mailbox ${s.email} unavailable; the recipient asks to be called at ${s.phone}`,
        field: 'personalizations.0.to',
        help: null,
      },
    ],
  },
});

function enrollment(id: string, s: { email: string; phone: string }) {
  const event = enrollEvent(id);
  event.data.user = { ...event.data.user, email: s.email, phone_number: s.phone };
  return event;
}

const page = async (path: string) => (await fetch(`${t.base}${path}`, { headers: { authorization: AUTH } })).text();
const cli = (args: string[]) => runCli(args, { REDIS_URL: t.service.redisUrl, QUEUE_PREFIX: t.config.redis.prefix });
/** What Redis holds in clear on purpose: a dead letter's original job data (a replay needs it) and the address a HubSpot contact is written under. */
const onPurpose = (h: HeldText) => h.where.startsWith('data.data') || h.key.includes(':cs:contact-owner:');

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startScriptedServer();
  t = await startTestService(
    {
      HUBSPOT_ACCESS_TOKEN: hubspot.token,
      HUBSPOT_BASE_URL: hubspot.url,
      SENDGRID_API_KEY: 'SG.test-key',
      SENDGRID_BASE_URL: sendgrid.url,
      JOB_ATTEMPTS: '2',
      JOB_BACKOFF_MS: '1000',
      HUBSPOT_BATCH_WAIT_MS: '20',
      TRACE_COMPACT_AFTER_SECONDS: '1',
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 'error-texts-pw',
    },
    'all',
  );
  queues = openQueues(t.redis, t.config);

  // Ada: this portal's phone property takes numbers only, so HubSpot's 207 names her phone (in
  // E.164) beside her address, which it refuses for its top-level domain.
  hubspot.state.properties.contacts.get('phone')!.type = 'number';
  sendgrid.answer(sendGridDown(ada));
  expect((await t.post(enrollment('ada-1', ada))).status).toBe(202);
  await vi.waitFor(
    async () =>
      expect([await queues.deadLetter[QUEUES.contacts].count(), await queues.deadLetter[QUEUES.email].count()]).toEqual(
        [1, 1],
      ),
    { timeout: 30_000, interval: 50 },
  );
  hubspot.state.properties.contacts.get('phone')!.type = 'string';

  // Bob: his welcome email fails once naming him, then goes out; his journey is packed.
  sendgrid.answer(sendGridDown(bob));
  expect((await t.post(enrollment('bob-1', bob))).status).toBe(202);
  await vi.waitFor(async () => expect((await queues.work[QUEUES.email].getJob('enroll-bob-1'))?.attemptsMade).toBe(1), {
    timeout: 15_000,
    interval: 20,
  });
  sendgrid.answer({ status: 202, headers: { 'x-message-id': 'msg-bob-1' } });
  const trace = new TraceKeys(t.config.redis.prefix).trace('enroll-bob-1');
  await vi.waitFor(async () => expect(await t.redis.hexists(trace, 'z0')).toBe(1), { timeout: 20_000, interval: 100 });
}, 90_000);

afterAll(async () => {
  await queues?.close();
  await t?.stop();
  await hubspot?.close();
  await sendgrid?.close();
});

describe('API error texts naming a student', () => {
  it('were what HubSpot and SendGrid answered (the test is real)', async () => {
    const refused = hubspot.state.requests.filter((r) => r.path.endsWith('/contacts/batch/upsert') && r.status === 207);
    expect(refused.length).toBeGreaterThan(0);
    const letter = (await queues.deadLetter[QUEUES.contacts].getJob('enroll-ada-1'))!.data as DeadLetter;
    expect(letter.errors.at(-1)!.message).toMatch(/INVALID_EMAIL.*INVALID_DECIMAL/);
    expect((await queues.work[QUEUES.email].getJob('enroll-bob-1'))!.returnvalue).toMatchObject({
      status: 'sent',
      messageId: 'msg-bob-1',
    });
  });

  it('are nowhere in Redis in clear: job hashes, event streams, attempt logs, dead letters, traces (packed too) and their calls', async () => {
    const texts = await textsUnder(t.redis, t.config.redis.prefix);
    // Where they were stored: the checks below look at each of these.
    const masked = holding(texts, [ada.masked.email, ada.masked.phone]);
    const places = (re: RegExp) => masked.filter((h) => re.test(`${h.key} ${h.where}`));
    expect(places(/crm-contacts:enroll-ada-1 failedReason/)).toHaveLength(1);
    expect(places(/crm-contacts:enroll-ada-1 stacktrace/)).toHaveLength(1);
    expect(places(/email-welcome:enroll-ada-1 failedReason/)).toHaveLength(1);
    expect(places(/crm-contacts:events /).length).toBeGreaterThan(0);
    expect(places(/email-welcome:events /).length).toBeGreaterThan(0);
    expect(places(/cs:attempts:email-welcome:enroll-ada-1/).length).toBeGreaterThan(0);
    expect(places(/crm-contacts-dlq:enroll-ada-1 data \(the letter\)/)).toHaveLength(1);
    expect(places(/cs:trace:enroll-ada-1 s:/).length).toBeGreaterThan(1);
    expect(places(/cs:calls:enroll-ada-1 crm-contacts:1/)).toHaveLength(1);
    expect(places(/cs:calls:enroll-ada-1 email-welcome:/).length).toBeGreaterThan(0);
    const bobs = texts.filter((h) => h.key.endsWith(':cs:trace:enroll-bob-1'));
    expect(
      bobs.filter(
        (h) =>
          h.where.startsWith('z → s:') &&
          /retrying/.test(h.text) &&
          /b\*\*\*@example\.com.*\+88\* \*\*\* \*\*\* \*56/.test(h.text),
      ),
    ).toHaveLength(1);

    expect(holding(texts, RAW, RAW_DIGITS).filter((h) => !onPurpose(h))).toEqual([]);
  });

  it('are masked on the console, in the admin API and in the CLI', async () => {
    for (const html of [
      await page('/admin/dead-letters'),
      await page('/admin/dead-letters/crm-contacts/enroll-ada-1'),
    ]) {
      expect(html).toContain(ada.masked.email);
      expect(html).toContain(ada.masked.phone);
      expect(html).not.toContain(ada.email);
      expect(html.replace(/[\s()+.-]/g, '')).not.toContain(ada.digits);
    }
    const journeys = await page(`/admin/api/events?q=${encodeURIComponent(ada.email)}`);
    expect(journeys).toContain(ada.masked.phone);
    expect(holding([{ key: '', where: '', text: journeys }], RAW, RAW_DIGITS)).toEqual([]);

    const trace = await cli(['trace', 'ada-1', '--calls']);
    expect(trace.code).toBe(0);
    expect(trace.stdout).toMatch(
      /call: crm-contacts attempt 1: hubspot contacts\.upsert .*a\*\*\*@school\.c0m.*\+88\*\*\*\*\*\*\*\*21/,
    );
    expect(trace.stdout).toMatch(/dead-lettered .*a\*\*\*@school\.c0m/);
    expect(holding([{ key: '', where: '', text: trace.stdout }], RAW, RAW_DIGITS)).toEqual([]);

    const list = await cli(['dlq', 'list']);
    expect(list.stdout).toContain(ada.masked.email);
    expect(holding([{ key: '', where: '', text: list.stdout }], RAW, RAW_DIGITS)).toEqual([]);
    const shown = JSON.parse((await cli(['dlq', 'show', 'crm-contacts', 'enroll-ada-1'])).stdout) as DeadLetter;
    expect(shown.errors.at(-1)!.message).toContain(ada.masked.phone);
    expect(holding([{ key: '', where: '', text: JSON.stringify(shown.errors) }], RAW, RAW_DIGITS)).toEqual([]);
  });

  it('are masked where shown even when stored raw (a letter an older version wrote)', async () => {
    const error = `HubSpot 400 VALIDATION_ERROR: contact cy@old.example has phone 0912 345 678`;
    const letter: DeadLetter = {
      queue: QUEUES.contacts,
      jobId: 'enroll-old-1',
      name: 'course.student_enroll',
      data: { key: 'enroll-old-1' },
      attemptsMade: 1,
      errors: [{ attempt: 1, message: error, at: new Date().toISOString() }],
      deadAt: new Date().toISOString(),
      unrecoverable: true,
    };
    await queues.deadLetter[QUEUES.contacts].add('course.student_enroll', letter, { jobId: 'enroll-old-1' });
    const masked = 'contact c***@old.example has phone 09** *** *78';
    expect(await page('/admin/dead-letters/crm-contacts/enroll-old-1')).toContain(masked);
    expect((await cli(['dlq', 'list', 'crm-contacts'])).stdout).toContain(masked);
    expect((await cli(['dlq', 'show', 'crm-contacts', 'enroll-old-1'])).stdout).toContain(masked);
    const api = await page('/admin/api/dlq/crm-contacts/enroll-old-1');
    expect(api).toContain(masked);
    expect(api).not.toMatch(/cy@old|345 678/);
  });
});

describe('any worker of a work queue', () => {
  it('hands BullMQ its errors masked: the failed reason and stack on the job, the event stream, the dead letter', async () => {
    const deps = testWorkerDeps(testConfig({ JOB_ATTEMPTS: '1' }));
    const message = `HubSpot 400 VALIDATION_ERROR: contact ${ada.email} has phone ${ada.phone}`;
    const worker = await startQueueWorker(deps, {
      queue: QUEUES.products,
      concurrency: 1,
      processor: async () => {
        throw new UnrecoverableError(message);
      },
    });
    try {
      await deps.queues.work[QUEUES.products].add('course.updated', { key: 'course-c1' }, { jobId: 'course-c1' });
      const job = await finishedJob(deps.queues.work[QUEUES.products], 'course-c1');
      expect(job.failedReason).toBe(
        `HubSpot 400 VALIDATION_ERROR: contact ${ada.masked.email} has phone +88* *** *** *21`,
      );
      expect((job.stacktrace ?? []).join('\n')).toContain(job.failedReason);
      await vi.waitFor(async () =>
        expect(await deps.queues.deadLetter[QUEUES.products].getJob('course-c1')).toBeDefined(),
      );
      const texts = await textsUnder(deps.redis, deps.config.redis.prefix);
      expect(holding(texts, [ada.masked.email]).map((h) => h.key.slice(deps.config.redis.prefix.length + 1))).toEqual(
        expect.arrayContaining([
          'crm-products:course-c1',
          'crm-products:events',
          'crm-products-dlq:course-c1',
          'cs:attempts:crm-products:course-c1',
        ]),
      );
      expect(holding(texts, RAW, RAW_DIGITS)).toEqual([]);
    } finally {
      await worker.close();
      await deps.stop();
    }
  });
});
