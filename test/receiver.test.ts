import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../src/queues/names.ts';
import { PendingEvents } from '../src/queues/pending-events.ts';
import { Quarantine } from '../src/quarantine/store.ts';
import { fixture } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

let t: Awaited<ReturnType<typeof startTestService>>;
const queue = (name: string) => new Queue(name, { connection: t.redis, prefix: t.config.redis.prefix });
const waiting = async (name: string) => {
  const q = queue(name);
  const jobs = await q.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
  await q.close();
  return jobs;
};
const quarantined = () => new Quarantine(t.redis, t.config.redis.prefix, 100).list();

beforeAll(async () => {
  t = await startTestService({ WEBHOOK_SECRET: 'old-secret,test-signing-secret', WEBHOOK_MAX_BODY_BYTES: '1048576' });
});
afterAll(async () => t.stop());

describe('POST /webhooks/loopwise with the seed payloads', () => {
  it('puts an enrollment on crm-contacts and email-welcome with the same data and key', async () => {
    const res = await t.post(fixture('course.student_enroll'));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: true, key: 'enroll-enroll_123456' });
    for (const name of [QUEUES.contacts, QUEUES.email]) {
      const jobs = await waiting(name);
      expect(jobs.map((j) => j.id)).toEqual(['enroll-enroll_123456']);
      // The two jobs share the enrollment, kept once in its pending record (their workers read it there).
      expect(jobs[0]!.data).toEqual({ correlationId: res.headers.get('x-request-id') });
      await new PendingEvents(t.redis, t.config).resolve(jobs);
      expect(jobs[0]!.data.enrollment.user.email).toBe('student@example.com');
      expect(jobs[0]!.data.enrollment.course.id).toBe('course_789012');
      expect(jobs[0]!.data.correlationId).toBe(res.headers.get('x-request-id'));
      expect(jobs[0]!.opts.attempts).toBe(t.config.jobs.attempts);
    }
    expect(await waiting(QUEUES.products)).toEqual([]);
  });

  it('puts course.created and course.updated on crm-products only', async () => {
    const created = await t.post(fixture('course.created'));
    const updated = await t.post(fixture('course.updated'));
    expect([created.status, updated.status]).toEqual([202, 202]);
    const jobs = await waiting(QUEUES.products);
    const byKey = Object.fromEntries(jobs.map((j) => [j.id, j.data]));
    expect(Object.keys(byKey).sort()).toEqual([
      `course.created-550e8400-e29b-41d4-a716-446655440000-${Date.parse('2023-05-15T14:30:00Z')}`,
      `course.updated-550e8400-e29b-41d4-a716-446655440000-${Date.parse('2023-06-01T10:15:00Z')}`,
    ]);
    const upd = byKey[updated.json.key];
    expect(upd.course.plans.map((p: any) => p.amount)).toEqual([7500, 15000]);
    expect(upd.eventType).toBe('course.updated');
  });

  it('keeps extra fields the sender adds', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_extra';
    body.data.coupon = { code: 'SPRING' };
    body.data.user.locale = 'zh-TW';
    expect((await t.post(body)).status).toBe(202);
    const job = (await waiting(QUEUES.contacts)).find((j) => j.id === 'enroll-enroll_extra')!;
    await new PendingEvents(t.redis, t.config).resolve([job]);
    expect(job.data.enrollment.coupon).toEqual({ code: 'SPRING' });
    expect(job.data.enrollment.user.locale).toBe('zh-TW');
  });
});

describe('duplicates', () => {
  it('answers a redelivery 200 duplicate and enqueues nothing more', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_dup';
    const first = await t.post(body);
    const again = await t.post(body);
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ duplicate: true, key: 'enroll-enroll_dup' });
    expect((await waiting(QUEUES.contacts)).filter((j) => j.id === 'enroll-enroll_dup')).toHaveLength(1);
  });

  it('takes five concurrent deliveries of one event as one', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_concurrent';
    const results = await Promise.all(Array.from({ length: 5 }, () => t.post(body)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 202]);
    expect((await waiting(QUEUES.email)).filter((j) => j.id === 'enroll-enroll_concurrent')).toHaveLength(1);
  });

  it('treats the +08:00 and Z forms of one course update as one event', async () => {
    const body = fixture('course.updated');
    body.data.id = 'course-offset';
    body.data.updated_at = '2023-06-01T18:15:00+08:00';
    const first = await t.post(body);
    body.data.updated_at = '2023-06-01T10:15:00Z';
    const second = await t.post(body);
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(first.json.key).toBe(`course.updated-course-offset-${Date.parse('2023-06-01T10:15:00Z')}`);
  });
});

describe('signatures', () => {
  it('accepts the legacy Teachify-Webhook-Signature header', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_legacy';
    const res = await t.post(body, { header: 'teachify-webhook-signature' });
    expect(res.status).toBe(202);
  });

  it('accepts every secret of a rotation list', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_rotated';
    expect((await t.post(body, { secret: 'old-secret' })).status).toBe(202);
  });

  it.each([
    ['missing', { secret: false as const }, /Missing signature header/],
    ['wrong secret', { secret: 'not-the-secret' }, /No matching signature found/],
    ['malformed', { secret: false as const, headers: { 'loopwise-webhook-signature': 'abc' } }, /Malformed signature/],
  ])('answers 401 to a %s signature and enqueues nothing', async (_case, opts, message) => {
    const body = fixture('course.student_enroll');
    body.data.id = `enroll_unsigned_${_case.replace(' ', '_')}`;
    const res = await t.post(body, opts);
    expect(res.status).toBe(401);
    expect(res.json.error).toMatch(message);
    expect((await waiting(QUEUES.contacts)).find((j) => j.id === `enroll-${body.data.id}`)).toBeUndefined();
    expect((await quarantined())[0]).toMatchObject({ status: 401, replayable: false });
  });

  it('refuses a body changed after signing', async () => {
    const body = JSON.stringify(fixture('course.student_enroll'));
    const { WebhookSignature } = await import('../src/receiver/signature.ts');
    const sig = new WebhookSignature(['test-signing-secret']).sign(body);
    const res = await fetch(`${t.base}/webhooks/loopwise`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'loopwise-webhook-signature': sig },
      body: body.replace('Sample User', 'Sample Userx'),
    });
    expect(res.status).toBe(401);
  });
});

describe('bad input', () => {
  it('answers 415 to a non-JSON content type', async () => {
    const res = await t.post(fixture('course.student_enroll'), { contentType: 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.json.error).toMatch(/application\/json/);
  });

  it('accepts application/json with a charset', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_charset';
    expect((await t.post(body, { contentType: 'application/json; charset=utf-8' })).status).toBe(202);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const res = await t.post('{"type": "course.student_enroll", "data": ');
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/not valid JSON/);
  });

  it('answers 413 to a 2 MB body and keeps a record of it', async () => {
    const big = { type: 'course.student_enroll', data: { padding: 'x'.repeat(2 * 1024 * 1024) } };
    const res = await t.post(big);
    expect(res.status).toBe(413);
    expect((await quarantined())[0]).toMatchObject({ status: 413 });
  });

  it('answers 422 listing each bad field and keeps the payload in quarantine', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_bad';
    body.data.user.email = 'not-an-email';
    body.data.created_at = 'yesterday';
    delete body.data.course.id;
    const res = await t.post(body);
    expect(res.status).toBe(422);
    const fields = res.json.errors.map((e: any) => e.field).sort();
    expect(fields).toEqual(['data.course.id', 'data.created_at', 'data.user.email']);
    const [kept] = await quarantined();
    expect(kept).toMatchObject({ status: 422, eventType: 'course.student_enroll', replayable: true, truncated: false });
    expect(JSON.parse(kept!.body)).toEqual(body);
    expect((await waiting(QUEUES.contacts)).find((j) => j.id === 'enroll-enroll_bad')).toBeUndefined();
  });

  it('answers 422 to a course whose plan amount is not an integer', async () => {
    const body = fixture('course.created');
    body.data.plans[0].amount = '5000';
    const res = await t.post(body);
    expect(res.status).toBe(422);
    expect(res.json.errors.map((e: any) => e.field)).toContain('data.plans[0].amount');
  });

  it('answers 422 to an envelope without a type', async () => {
    const res = await t.post({ data: {} });
    expect(res.status).toBe(422);
  });

  it('answers 202 ignored to an unknown event type, enqueuing nothing', async () => {
    const before = (await waiting(QUEUES.products)).length;
    const res = await t.post({ type: 'course.deleted', data: { id: 'x' } });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ ignored: true, type: 'course.deleted' });
    expect((await waiting(QUEUES.products)).length).toBe(before);
    const metrics = await (await fetch(`${t.base}/metrics`)).text();
    expect(metrics).toMatch(/course_sync_webhook_ignored_total\{type="course.deleted"\} 1/);
  });

  it('accepts +08:00 timestamps', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_offset';
    body.data.created_at = '2023-12-04T18:45:44+08:00';
    expect((await t.post(body)).status).toBe(202);
  });
});

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ redis: 'ok' });
  });

  it('reports queue depths in /metrics', async () => {
    const text = await (await fetch(`${t.base}/metrics`)).text();
    expect(text).toMatch(/course_sync_queue_jobs\{queue="crm-contacts",state="waiting"\} [1-9]/);
    expect(text).toMatch(/course_sync_webhook_requests_total\{type="course.student_enroll",outcome="accepted"\}/);
  });
});
