import { UnrecoverableError, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { QUEUES } from '../src/queues/names.ts';
import { deadLetterRig, enrollmentJob } from './support/dead-letters.ts';
import { SETTLE } from './support/env.ts';
import { deadLetterOf } from './support/worker-deps.ts';
import { startTestService } from './support/receiver.ts';
import { recordKey } from '../src/redis/keys.ts';

const PASSWORD = 'dlq-test-password';
let t: Awaited<ReturnType<typeof startTestService>>;
let rig: ReturnType<typeof deadLetterRig>;

const auth = { authorization: 'Basic ' + Buffer.from(`admin:${PASSWORD}`).toString('base64') };
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${t.base}/admin/api${path}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Moves a dead letter's death `days` into the past, as if it had waited that long. */
async function age(queue: (typeof QUEUES)[keyof typeof QUEUES], id: string, days: number): Promise<void> {
  const letter = (await rig.deadLetters.get(queue, id))!;
  const deadAt = new Date(Date.now() - days * 86_400_000).toISOString();
  await letter.updateData({ ...letter.data, deadAt });
}

beforeAll(async () => {
  t = await startTestService({ JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '10', DASHBOARD_PASSWORD: PASSWORD });
  rig = deadLetterRig(t.config, t.service.redisUrl);
});
afterAll(async () => {
  await rig.stop();
  await t.stop();
});

describe('a job failing past its attempts', () => {
  it('lands in its dead-letter queue with the original data and every attempt error', async () => {
    const [id] = await rig.kill(QUEUES.contacts, ['enroll_dead_1']);
    const letter = (await rig.deadLetters.get(QUEUES.contacts, id!))!;
    expect(letter.queueName).toBe('crm-contacts-dlq');
    expect(letter.data).toMatchObject({
      queue: 'crm-contacts',
      jobId: 'enroll-enroll_dead_1',
      attemptsMade: 3,
      unrecoverable: false,
    });
    expect(letter.data.data).toEqual(
      expect.objectContaining({ key: 'enroll-enroll_dead_1', correlationId: 'corr-enroll_dead_1' }),
    );
    expect(letter.data.errors.map((e) => e.message)).toEqual([
      'HubSpot answered 500 #1',
      'HubSpot answered 500 #2',
      'HubSpot answered 500 #3',
    ]);
    expect(letter.data.errors.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
    // Only the final failure makes a dead letter; the original stays failed in its work queue.
    expect(await rig.queues.work[QUEUES.contacts].getJobState(id!)).toBe('failed');
  });

  it('lands there after one attempt when the error is unrecoverable', async () => {
    const worker = rig.work(QUEUES.email, async () => {
      throw new UnrecoverableError('SendGrid 400: Does not contain a valid address');
    });
    await rig.queues.work[QUEUES.email].add('course.student_enroll', enrollmentJob('enroll_bad_address'), {
      jobId: 'enroll-enroll_bad_address',
    });
    const letter = await deadLetterOf(rig.deadLetters, QUEUES.email, 'enroll-enroll_bad_address');
    await worker.close();
    expect(letter).toMatchObject({ attemptsMade: 1, unrecoverable: true });
    expect(letter.errors).toHaveLength(1);
  });

  it('stays a dead letter when the failed job is removed from its work queue', async () => {
    const [id] = await rig.kill(QUEUES.products, ['enroll_retention']);
    await rig.queues.work[QUEUES.products].remove(id!);
    expect(await rig.deadLetters.get(QUEUES.products, id!)).toBeDefined();
  });

  it('is listed by the admin API with its event id, last error and its time, and attempts', async () => {
    const res = await api('GET', '/dlq/crm-contacts');
    expect(res.status).toBe(200);
    const line = res.json.letters.find((l: any) => l.id === 'enroll-enroll_dead_1');
    expect(line).toMatchObject({
      queue: 'crm-contacts',
      eventId: 'enroll_dead_1',
      lastError: 'HubSpot answered 500 #3',
      attempts: 3,
    });
    expect(Date.parse(line.lastErrorAt)).toBeGreaterThan(Date.now() - 60_000);
    const all = await api('GET', '/dlq');
    expect(all.json.queues.map((q: any) => q.queue)).toEqual([
      'crm-contacts',
      'email-welcome',
      'crm-products',
      'email-events',
    ]);
    expect((await api('GET', '/dlq/crm-contacts-dlq')).status).toBe(200);
    expect((await api('GET', '/dlq/no-such-queue')).status).toBe(404);
    const one = await api('GET', '/dlq/crm-contacts/enroll-enroll_dead_1');
    expect(one.json.letter.errors).toHaveLength(3);
  });
});

describe('replay', () => {
  it('runs the job again on its queue with fresh attempts until it completes, and empties the dead letter', async () => {
    const [id] = await rig.kill(QUEUES.contacts, ['enroll_replay_1']);
    const seen: { attemptsMade: number; attempts?: number }[] = [];
    const worker = rig.work(QUEUES.contacts, async (job: Job) => {
      seen.push({ attemptsMade: job.attemptsMade, attempts: job.opts.attempts });
      return 'synced';
    });
    expect(await rig.deadLetters.replay(QUEUES.contacts, [id!])).toEqual({ replayed: [id], notReplayed: [] });
    await vi.waitFor(
      async () => expect(await rig.queues.work[QUEUES.contacts].getJobState(id!)).toBe('completed'),
      SETTLE,
    );
    await worker.close();
    expect(seen).toEqual([{ attemptsMade: 0, attempts: 3 }]);
    const job = (await rig.queues.work[QUEUES.contacts].getJob(id!))!;
    expect(job.data.key).toBe('enroll-enroll_replay_1');
    expect(job.returnvalue).toBe('synced');
    expect(await rig.deadLetters.get(QUEUES.contacts, id!)).toBeUndefined();
    expect(await rig.redis.exists(recordKey(t.config.redis.prefix, 'attempts', QUEUES.contacts, id!))).toBe(0);
  });

  it('through the API: {ids} replays those, {all: true} every one, and unknown ids are reported', async () => {
    const ids = await rig.kill(QUEUES.products, ['enroll_api_a', 'enroll_api_b', 'enroll_api_c']);
    const one = await api('POST', '/dlq/crm-products/replay', { ids: [ids[0], 'enroll-nope'] });
    expect(one.status).toBe(200);
    expect(one.json).toEqual({
      queue: 'crm-products',
      replayed: [ids[0]],
      notReplayed: [{ id: 'enroll-nope', reason: expect.stringContaining('no dead letter') }],
    });
    expect(await rig.queues.work[QUEUES.products].getJobState(ids[0]!)).toBe('waiting');

    const all = await api('POST', '/dlq/crm-products/replay', { all: true });
    expect(all.json.replayed).toEqual(expect.arrayContaining([ids[1], ids[2]]));
    expect(await rig.deadLetters.size(QUEUES.products)).toBe(0);
    for (const id of ids) expect(await rig.queues.work[QUEUES.products].getJobState(id)).toBe('waiting');
  });

  it('refuses a replay request that names neither ids nor all', async () => {
    expect((await api('POST', '/dlq/crm-products/replay', {})).status).toBe(400);
    expect((await api('POST', '/dlq/crm-products/replay', { ids: [] })).status).toBe(400);
    expect((await api('POST', '/dlq/crm-products/replay', { ids: ['a'], all: true })).status).toBe(400);
    expect((await api('POST', '/dlq/crm-products/replay', { ids: ['enroll-nope'] })).status).toBe(404);
  });
});

describe('purge', () => {
  it('removes only dead letters older than the duration', async () => {
    const [old, recent] = await rig.kill(QUEUES.email, ['enroll_old', 'enroll_recent']);
    await age(QUEUES.email, old!, 10);
    await age(QUEUES.email, recent!, 2);
    expect(await rig.deadLetters.purge(QUEUES.email, 30 * 86_400_000)).toEqual([]);

    const res = await api('POST', '/dlq/email-welcome/purge', { olderThan: '7d' });
    expect(res.status).toBe(200);
    expect(res.json.purged).toEqual([old]);
    expect(await rig.deadLetters.get(QUEUES.email, old!)).toBeUndefined();
    expect(await rig.deadLetters.get(QUEUES.email, recent!)).toBeDefined();

    expect(await rig.deadLetters.purge(QUEUES.email, 36 * 3_600_000)).toEqual([recent]);
    expect(await rig.deadLetters.get(QUEUES.email, 'enroll-enroll_bad_address')).toBeDefined();
  });

  it('refuses a purge without a readable duration', async () => {
    expect((await api('POST', '/dlq/email-welcome/purge', {})).status).toBe(400);
    const res = await api('POST', '/dlq/email-welcome/purge', { olderThan: 'a week' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/not a duration/);
  });
});

describe('metrics', () => {
  it('report dead-letter queue sizes', async () => {
    await rig.kill(QUEUES.email, ['enroll_metric']);
    const size = await rig.deadLetters.size(QUEUES.email);
    expect(size).toBeGreaterThan(0);
    const text = await (await fetch(`${t.base}/metrics`)).text();
    expect(text).toContain(`course_sync_queue_jobs{queue="email-welcome-dlq",state="waiting"} ${size}\n`);
  });
});
