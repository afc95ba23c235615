import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { WebhookSignature } from '../../src/receiver/signature.ts';
import { dropPrefix, fixture, redisUrl } from '../support/env.ts';
import { contactEmails, courseEvent, report } from '../support/faults.ts';
import { spawnService, type ServiceProcess } from '../support/processes.ts';

// The whole flow at LOG_LEVEL=debug in a receiver and a worker process, including failures
// (mis-signed, schema-invalid, HubSpot 503, SendGrid 500) and admin use: their combined pino
// output must hold no secret and no student e-mail, phone or name in clear.
const tag = randomBytes(4).toString('hex');
const SECRETS = {
  WEBHOOK_SECRET: `whsec-${tag}-do-not-log`,
  DASHBOARD_PASSWORD: `dash-${tag}-do-not-log`,
  PII_HASH_KEY: `pii-${tag}-do-not-log`,
  HUBSPOT_ACCESS_TOKEN: `pat-na1-${tag}-do-not-log`,
  SENDGRID_API_KEY: `SG.${tag}-do-not-log`,
};
const STUDENT = { email: 'student@example.com', phone: '+1234567890', name: 'Sample User' };
const prefix = `t${randomBytes(5).toString('hex')}`;
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let receiver: ServiceProcess;
let worker: ServiceProcess;
let base: string;

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ token: SECRETS.HUBSPOT_ACCESS_TOKEN, requestsPer10s: 1000 });
  sendgrid = await startSendGridEmulator({ apiKey: SECRETS.SENDGRID_API_KEY });
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: prefix,
    HUBSPOT_BASE_URL: hubspot.url,
    SENDGRID_BASE_URL: sendgrid.url,
    JOB_BACKOFF_MS: '100',
    HUBSPOT_BATCH_WAIT_MS: '20',
    ...SECRETS,
  };
  receiver = spawnService('receiver', 'receiver', env);
  worker = spawnService('worker', 'worker', env);
  base = `http://127.0.0.1:${await receiver.port()}`;
  await worker.waitFor('"msg":"workers started"');
}, 60_000);
afterAll(async () => {
  await receiver?.stop();
  await worker?.stop();
  const redis = new Redis(redisUrl());
  await dropPrefix(redis, prefix);
  await redis.quit();
  await hubspot?.close();
  await sendgrid?.close();
});

async function post(body: unknown, secret = SECRETS.WEBHOOK_SECRET): Promise<number> {
  const raw = JSON.stringify(body);
  const res = await fetch(`${base}/webhooks/loopwise`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'loopwise-webhook-signature': new WebhookSignature([secret]).sign(raw),
    },
    body: raw,
  });
  await res.arrayBuffer();
  return res.status;
}

it('writes no secret and no student e-mail, phone or name to the logs of a full run', async () => {
  const seed = fixture('course.student_enroll');
  const invalid = fixture('course.student_enroll');
  invalid.data.id = 'enroll_invalid';
  invalid.data.created_at = 'not a date';
  const second = fixture('course.student_enroll');
  second.data.id = 'enroll_second';
  second.data.user = {
    ...second.data.user,
    email: 'Other.Student@Example.com',
    phone_number: '0912345678',
    name: 'Other Student',
  };

  await hubspot.injectFaults({ status: 503, count: 1 });
  sendgrid.failNext(1, 500);
  expect(await post(seed)).toBe(202);
  expect(await post(seed)).toBe(200);
  expect(await post(seed, 'wrong-secret')).toBe(401);
  expect(await post(invalid)).toBe(422);
  expect(await post(second)).toBe(202);
  expect(await post(courseEvent('course.created', 'course-logs'))).toBe(202);
  const auth = { authorization: 'Basic ' + Buffer.from(`admin:${SECRETS.DASHBOARD_PASSWORD}`).toString('base64') };
  for (const path of [
    '/admin',
    `/admin/api/events?q=${encodeURIComponent(STUDENT.email)}`,
    '/admin/api/quarantine',
    '/admin/api/dlq',
    '/metrics',
  ]) {
    expect((await fetch(base + path, { headers: auth })).status, path).toBe(200);
  }
  await fetch(`${base}/admin`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: `q=${encodeURIComponent(STUDENT.email)}`,
  });

  await vi.waitFor(
    () => {
      expect([...contactEmails(hubspot)]).toEqual(expect.arrayContaining([STUDENT.email, 'other.student@example.com']));
      expect(sendgrid.outbox.size).toBeGreaterThanOrEqual(2);
      expect(hubspot.state.objects.products.size).toBeGreaterThanOrEqual(2);
    },
    { timeout: 30_000, interval: 25 },
  );
  await receiver.stop();
  await worker.stop();

  const logs = receiver.output() + worker.output();
  const lines = logs.split('\n').filter(Boolean);
  // The capture is real: debug lines, the event ids, the failures that were provoked.
  expect(lines.some((l) => l.includes('"level":20'))).toBe(true);
  expect(logs).toContain('enroll-enroll_123456');
  expect(logs).toMatch(/webhook rejected/);
  expect(logs).toMatch(/will retry|attempt failed/);

  const forbidden: [string, string][] = [
    ...Object.entries(SECRETS),
    ['WEBHOOK_SECRET (base64)', Buffer.from(SECRETS.WEBHOOK_SECRET).toString('base64')],
    ['basic auth header', Buffer.from(`admin:${SECRETS.DASHBOARD_PASSWORD}`).toString('base64')],
    ['student e-mail', STUDENT.email],
    ['student e-mail (URL-encoded)', encodeURIComponent(STUDENT.email)],
    ['second student e-mail', 'other.student@example.com'],
    ['student phone', STUDENT.phone],
    ['student phone digits', STUDENT.phone.slice(1)],
    ['second student phone', '0912345678'],
    ['second student phone (E.164)', '+886912345678'],
    ['student name', STUDENT.name],
    ['second student name', 'Other Student'],
  ];
  const leaks = forbidden
    .filter(([, value]) => logs.toLowerCase().includes(value.toLowerCase()))
    .map(
      ([what]) =>
        `${what}: ${lines.find((l) => l.toLowerCase().includes(forbidden.find(([w]) => w === what)![1].toLowerCase()))}`,
    );
  expect(leaks).toEqual([]);
  report('log-secrets', {
    logLines: lines.length,
    debugLines: lines.filter((l) => l.includes('"level":20')).length,
    checkedValues: forbidden.length,
    leaks: leaks.length,
  });
});
