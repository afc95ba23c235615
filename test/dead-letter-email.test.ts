import { randomBytes } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { QUEUES } from '../src/queues/names.ts';
import type { RunningWorker } from '../src/workers/deps.ts';
import { startEmailWorker } from '../src/workers/email-worker.ts';
import { runCli } from './support/cli.ts';
import { enrollmentJob } from './support/dead-letters.ts';
import { redisUrl, testConfig } from './support/env.ts';
import { testWorkerDeps } from './support/worker-deps.ts';

// The real email-welcome worker against the SendGrid emulator: a job dies in the dead-letter
// queue through the worker's own hook, and replaying it sends the welcome email exactly once.
let emu: SendGridEmulator;
let deps: ReturnType<typeof testWorkerDeps>;
let worker: RunningWorker;

const queue = () => deps.queues.work[QUEUES.email];
const sentTo = (enrollmentId: string) => emu.outbox.withCustomArg('enrollment_id', enrollmentId);
const cli = (...args: string[]) => runCli(args, { REDIS_URL: redisUrl(), QUEUE_PREFIX: deps.config.redis.prefix });
const state = (id: string) => queue().getJobState(id);

beforeAll(async () => {
  emu = await startSendGridEmulator();
  deps = testWorkerDeps(
    testConfig({
      QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
      SENDGRID_API_KEY: emu.apiKey,
      SENDGRID_BASE_URL: emu.url,
      HUBSPOT_ACCESS_TOKEN: 'unused-here',
      JOB_ATTEMPTS: '3',
      JOB_BACKOFF_MS: '10',
    }),
  );
  worker = await startEmailWorker(deps);
});
afterAll(async () => {
  await worker?.close();
  await deps?.stop();
  await emu?.close();
});
beforeEach(() => emu.reset());

describe('dead letters of the email-welcome worker', () => {
  it('a job SendGrid refuses on every attempt dies with each error; `dlq replay` then sends it once', async () => {
    emu.failNext(3, 503);
    await queue().add('course.student_enroll', enrollmentJob('enroll_dlq_mail'), { jobId: 'enroll-enroll_dlq_mail' });
    await vi.waitFor(
      async () => expect(await deps.deadLetters.get(QUEUES.email, 'enroll-enroll_dlq_mail')).toBeTruthy(),
      { timeout: 15_000 },
    );
    const letter = (await deps.deadLetters.get(QUEUES.email, 'enroll-enroll_dlq_mail'))!;
    expect(letter.data.errors).toHaveLength(3);
    expect(letter.data.attemptsMade).toBe(3);
    expect(emu.requests.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(sentTo('enroll_dlq_mail')).toHaveLength(0);

    const listed = await cli('dlq', 'list', 'email-welcome');
    expect(listed.stdout.split('\t').slice(0, 3)).toEqual([
      'email-welcome',
      'enroll-enroll_dlq_mail',
      'enroll_dlq_mail',
    ]);

    const replayed = await cli('dlq', 'replay', 'email-welcome', 'enroll-enroll_dlq_mail');
    expect(replayed.code).toBe(0);
    await vi.waitFor(async () => expect(await state('enroll-enroll_dlq_mail')).toBe('completed'), { timeout: 15_000 });
    expect(sentTo('enroll_dlq_mail')).toHaveLength(1);
    expect(await deps.deadLetters.size(QUEUES.email)).toBe(0);
  });

  it('replaying an enrollment that was already emailed does not email again', async () => {
    await queue().add('course.student_enroll', enrollmentJob('enroll_dlq_sent'), { jobId: 'enroll-enroll_dlq_sent' });
    await vi.waitFor(async () => expect(await state('enroll-enroll_dlq_sent')).toBe('completed'), { timeout: 15_000 });
    expect(sentTo('enroll_dlq_sent')).toHaveLength(1);
    // As if the job had been declared dead after SendGrid accepted it (e.g. it stalled past its attempts).
    const job = (await queue().getJob('enroll-enroll_dlq_sent'))!;
    expect(
      await deps.deadLetters.recordFailure(
        QUEUES.email,
        job,
        new UnrecoverableError('job stalled more than allowable limit'),
      ),
    ).toBe(true);

    const res = await cli('dlq', 'replay', 'email-welcome', '--all');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('enroll-enroll_dlq_sent');
    await vi.waitFor(async () => expect(await state('enroll-enroll_dlq_sent')).toBe('completed'), { timeout: 15_000 });
    expect((await queue().getJob('enroll-enroll_dlq_sent'))!.returnvalue).toMatchObject({ status: 'skipped' });
    expect(sentTo('enroll_dlq_sent')).toHaveLength(1);
  });
});
