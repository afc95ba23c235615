import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import type { EnrollmentJob, JobMeta } from '../src/queues/jobs.ts';
import { QUEUES } from '../src/queues/names.ts';
import { createSendGridMail } from '../src/sendgrid/client.ts';
import { emailKeys } from '../src/sendgrid/email-keys.ts';
import { SentMarkers } from '../src/sendgrid/sent-markers.ts';
import type { RunningWorker } from '../src/workers/deps.ts';
import { startEmailWorker } from '../src/workers/email-worker.ts';
import type { WelcomeEmailResult } from '../src/workers/welcome-email-job.ts';
import { fixture, SETTLE, testConfig } from './support/env.ts';
import { startTestService } from './support/receiver.ts';
import { deadLetterOf, finishedJob, testWorkerDeps } from './support/worker-deps.ts';

let emu: SendGridEmulator;
let deps: ReturnType<typeof testWorkerDeps>;
let worker: RunningWorker;
let service: Awaited<ReturnType<typeof startTestService>>;
let markers: SentMarkers;

/** Settings shared by the worker and the receiver: the same queue prefix, the emulator, fast retries. */
const env = () => ({
  QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
  SENDGRID_API_KEY: emu.apiKey,
  SENDGRID_BASE_URL: emu.url,
  HUBSPOT_ACCESS_TOKEN: 'unused-here',
  JOB_BACKOFF_MS: '10',
  EMAIL_CONCURRENCY: '20',
  SENT_MARKER_TTL_DAYS: '40',
  SENDGRID_MESSAGE_INDEX_DAYS: '2',
});

function enrollment(id: string, user: Record<string, unknown> = {}): EnrollmentJob & JobMeta {
  const data = fixture('course.student_enroll').data;
  data.id = id;
  Object.assign(data.user, { email: `${id}@example.com` }, user);
  return {
    key: `enroll-${id}`,
    eventType: 'course.student_enroll',
    receivedAt: new Date().toISOString(),
    correlationId: `c-${id}`,
    enrollment: data,
  };
}

const emailQueue = () => deps.queues.work[QUEUES.email];
const add = (jobId: string, data: EnrollmentJob & JobMeta) => emailQueue().add(data.eventType, data, { jobId });
const sentTo = (enrollmentId: string) => emu.outbox.withCustomArg('enrollment_id', enrollmentId);

const finished = (jobId: string) => finishedJob<EnrollmentJob, WelcomeEmailResult>(emailQueue(), jobId);

beforeAll(async () => {
  emu = await startSendGridEmulator();
  const e = env();
  deps = testWorkerDeps(testConfig(e));
  worker = await startEmailWorker(deps);
  service = await startTestService(e, 'receiver');
  markers = new SentMarkers(deps.redis, deps.config.redis.prefix, 1000);
});
afterAll(async () => {
  await worker?.close();
  await service?.stop();
  await deps?.stop();
  await emu?.close();
});
beforeEach(() => emu.reset());

describe('email-welcome worker against the SendGrid emulator', () => {
  it('sends the seed enrollment one welcome email with the right data, and records its X-Message-Id', async () => {
    const res = await service.post(fixture('course.student_enroll'));
    expect(res.status).toBe(202);
    const job = await finished(res.json.key);
    expect(job.returnvalue).toMatchObject({ status: 'sent', enrollmentId: 'enroll_123456' });

    const [email, ...more] = sentTo('enroll_123456');
    expect(more).toEqual([]);
    expect(email).toMatchObject({
      to: [{ email: 'student@example.com', name: 'Sample User' }],
      from: { email: 'no-reply@example.com', name: 'Course team' },
      subject: 'Welcome to Introduction to Programming',
      customArgs: { enrollment_id: 'enroll_123456', course_id: 'course_789012' },
    });
    expect(email!.text).toContain('Hi Sample,');
    expect(email!.html).toContain('https://school.example.com/courses/intro-to-programming');
    const marker = await markers.get('enroll_123456');
    expect(marker).toMatchObject({ messageId: email!.messageId, jobId: res.json.key });
    expect(job.returnvalue.messageId).toBe(email!.messageId);
    // Each record lives as its setting says: the marker SENT_MARKER_TTL_DAYS, the message id's entry SENDGRID_MESSAGE_INDEX_DAYS.
    const prefix = deps.config.redis.prefix;
    expect(await deps.redis.ttl(emailKeys.sent(prefix, 'enroll_123456'))).toBeGreaterThan(40 * 86_400 - 60);
    expect(await deps.redis.ttl(emailKeys.sent(prefix, 'enroll_123456'))).toBeLessThanOrEqual(40 * 86_400);
    expect(await deps.redis.ttl(emailKeys.message(prefix, email!.messageId))).toBeGreaterThan(2 * 86_400 - 60);
    expect(await deps.redis.ttl(emailKeys.message(prefix, email!.messageId))).toBeLessThanOrEqual(2 * 86_400);
  });

  it('sends one email when the same enrollment is delivered three times (at once and again)', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_thrice';
    const first = await Promise.all([service.post(body), service.post(body)]);
    await finished('enroll-enroll_thrice');
    const third = await service.post(body);
    expect([...first.map((r) => r.status), third.status].sort()).toEqual([200, 200, 202]);
    // And as separate jobs that slipped past the receiver's dedupe (different job ids).
    await Promise.all(
      ['a', 'b', 'c'].map((s) => add(`thrice-${s}`, { ...enrollment('enroll_thrice'), enrollment: body.data })),
    );
    const results = await Promise.all(
      ['a', 'b', 'c'].map(async (s) => (await finished(`thrice-${s}`)).returnvalue.status),
    );
    expect(results).toEqual(['skipped', 'skipped', 'skipped']);
    expect(sentTo('enroll_thrice')).toHaveLength(1);
    expect(emu.requests).toHaveLength(1);
  });

  it('lets only one of several concurrent jobs of one enrollment send', async () => {
    const data = enrollment('enroll_race');
    await Promise.all([1, 2, 3, 4, 5].map((i) => add(`race-${i}`, data)));
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map(async (i) => (await finished(`race-${i}`)).returnvalue.status),
    );
    expect(results.filter((s) => s === 'sent')).toHaveLength(1);
    expect(results.filter((s) => s === 'skipped')).toHaveLength(4);
    expect(sentTo('enroll_race')).toHaveLength(1);
  });

  it('does not send again when a completed job is replayed', async () => {
    await add('replay-1', enrollment('enroll_replay'));
    const job = await finished('replay-1');
    expect(job.returnvalue.status).toBe('sent');
    await job.retry('completed');
    await vi.waitFor(
      async () => expect((await emailQueue().getJob('replay-1'))?.returnvalue?.status).toBe('skipped'),
      SETTLE,
    );
    expect(sentTo('enroll_replay')).toHaveLength(1);
  });

  it('waits out a 429 through the queue rate limit, without using an attempt, then sends once', async () => {
    emu.failNext(1, 429, { resetInMs: 1000 });
    await add('limited-1', enrollment('enroll_limited'));
    await vi.waitFor(() => expect(emu.requests).toHaveLength(1), SETTLE);
    await vi.waitFor(async () => expect(await emailQueue().getRateLimitTtl()).toBeGreaterThan(0), SETTLE);
    const job = await finished('limited-1');
    expect(await job.getState()).toBe('completed');
    expect(emu.requests.map((r) => r.status)).toEqual([429, 202]);
    expect(job.attemptsMade).toBe(1);
    expect(sentTo('enroll_limited')).toHaveLength(1);
    expect(await deps.deadLetters.get(QUEUES.email, 'limited-1')).toBeUndefined();
  });

  it('retries 5xx answers with backoff, then sends once', async () => {
    emu.failNext(2, 503);
    await add('flaky-1', enrollment('enroll_flaky'));
    const job = await finished('flaky-1');
    expect(await job.getState()).toBe('completed');
    expect(emu.requests.map((r) => r.status)).toEqual([503, 503, 202]);
    expect(job.attemptsMade).toBe(3);
    expect(sentTo('enroll_flaky')).toHaveLength(1);
  });

  it('dead-letters an invalid recipient at once with SendGrid’s reason, and records no marker', async () => {
    await add('invalid-1', enrollment('enroll_invalid', { email: 'student@example' }));
    const letter = await deadLetterOf(deps.deadLetters, QUEUES.email, 'invalid-1');
    expect(letter.unrecoverable).toBe(true);
    expect(letter.attemptsMade).toBe(1);
    expect(letter.errors.map((e) => e.message)).toEqual([
      'SendGrid 400: Does not contain a valid address. (personalizations.0.to.0.email)',
    ]);
    expect(emu.requests.map((r) => r.status)).toEqual([400]);
    expect(await markers.get('enroll_invalid')).toBeUndefined();
    expect(emu.outbox.size).toBe(0);
  });

  it('escapes a <script> in the student name in the HTML body', async () => {
    await add('script-1', enrollment('enroll_script', { name: '<script>alert(1)</script>' }));
    await finished('script-1');
    const [email] = sentTo('enroll_script');
    expect(email!.html).toContain('Hi &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(email!.html).not.toContain('<script>');
    expect(email!.to).toEqual([{ email: 'enroll_script@example.com', name: '<script>alert(1)</script>' }]);
  });

  it('counts SendGrid calls by status in the metrics', async () => {
    const text = await deps.metrics.registry.getSingleMetricAsString('course_sync_api_calls_total');
    expect(text).toMatch(/course_sync_api_calls_total\{api="sendgrid",operation="mail.send",status="202"\} [1-9]/);
    expect(text).toMatch(/status="429"\} 1/);
    expect(text).toMatch(/status="400"\} 1/);
  });
});

describe('email-welcome worker with other settings', () => {
  it('sends the dynamic template with its data when SENDGRID_WELCOME_TEMPLATE_ID is set', async () => {
    const other = testWorkerDeps(
      testConfig({
        ...env(),
        SENDGRID_WELCOME_TEMPLATE_ID: 'd-welcome1',
        COURSE_URL_PATTERN: 'https://s.example/{id}',
      }),
    );
    const w = await startEmailWorker(other);
    try {
      await other.queues.work[QUEUES.email].add('course.student_enroll', enrollment('enroll_tpl'), { jobId: 'tpl-1' });
      await vi.waitFor(() => expect(sentTo('enroll_tpl')).toHaveLength(1), SETTLE);
      expect(sentTo('enroll_tpl')[0]).toMatchObject({
        templateId: 'd-welcome1',
        dynamicTemplateData: {
          first_name: 'Sample',
          course_url: 'https://s.example/course_789012',
          enrollment_id: 'enroll_tpl',
        },
      });
    } finally {
      await w.close();
      await other.stop();
    }
  });

  it('dead-letters every email with SendGrid’s message when the API key is refused', async () => {
    const other = testWorkerDeps(testConfig(env()));
    const w = await startEmailWorker(other, { mail: createSendGridMail({ apiKey: 'SG.revoked', baseUrl: emu.url }) });
    try {
      await other.queues.work[QUEUES.email].add('course.student_enroll', enrollment('enroll_401'), { jobId: 'k-1' });
      const letter = await deadLetterOf(other.deadLetters, QUEUES.email, 'k-1');
      expect(letter.errors[0]!.message).toBe(
        'SendGrid 401: The provided authorization grant is invalid, expired, or revoked',
      );
      expect(emu.outbox.size).toBe(0);
    } finally {
      await w.close();
      await other.stop();
    }
  });
});
