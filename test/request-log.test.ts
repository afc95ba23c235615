import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';
import { mountAdmin } from '../src/admin/mount.ts';
import { createMetrics } from '../src/metrics.ts';
import { EventIntake } from '../src/queues/intake.ts';
import { openQueues } from '../src/queues/registry.ts';
import { createApp } from '../src/receiver/app.ts';
import { Quarantine } from '../src/quarantine/store.ts';
import { WebhookSignature } from '../src/receiver/signature.ts';
import { dropPrefix, fixture, redisUrl, SECRET, testConfig } from './support/env.ts';
import { TraceWriter } from '../src/trace/writer.ts';

const config = testConfig({ DASHBOARD_PASSWORD: 'log-test' });
const redis = new Redis(redisUrl());
const queues = openQueues(redis, config);
const intake = new EventIntake(redis, config, new TraceWriter(redis, config));
const quarantine = new Quarantine(redis, config.redis.prefix, 100);
const output: string[] = [];
const log = createLogger('info', { write: (line: string) => void output.push(line) });
let server: Server;
let base: string;

const requestLines = () => output.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');

beforeAll(async () => {
  const mount = mountAdmin({ config, log, redis, queues, quarantine, intake, metrics: createMetrics() });
  const app = createApp({ config, log, redis, intake, quarantine, queues, metrics: createMetrics(), mount });
  server = await new Promise<Server>((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((ok) => server.close(ok));
  await queues.close();
  await dropPrefix(redis, config.redis.prefix);
  await redis.quit();
});

describe('request log', () => {
  it('writes one line per webhook request with method, path, status, duration and its correlation id', async () => {
    const body = JSON.stringify(fixture('course.student_enroll'));
    const res = await fetch(`${base}/webhooks/loopwise`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'loopwise-webhook-signature': new WebhookSignature([SECRET]).sign(body),
      },
      body,
    });
    expect(res.status).toBe(202);
    const correlationId = res.headers.get('x-request-id');
    const lines = requestLines().filter((l) => l.path === '/webhooks/loopwise');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, method: 'POST', status: 202, correlationId });
    expect(typeof lines[0].ms).toBe('number');
    // The job on the queue carries the same id, so the event can be followed from here to HubSpot/SendGrid.
    const job = await queues.work['crm-contacts'].getJob('enroll-enroll_123456');
    expect(job!.data.correlationId).toBe(correlationId);
  });

  it('keeps a caller-sent X-Request-Id on other paths, and logs admin refusals', async () => {
    await fetch(`${base}/admin/api/dlq`, { headers: { 'x-request-id': 'ops-check-1' } });
    const line = requestLines().find((l) => l.path === '/admin/api/dlq');
    expect(line).toMatchObject({ method: 'GET', status: 401, correlationId: 'ops-check-1' });
  });

  it('never writes the student e-mail, phone or the admin credentials', async () => {
    await fetch(`${base}/admin/queues`, {
      headers: { authorization: 'Basic ' + Buffer.from('admin:log-test').toString('base64') },
    });
    const all = output.join('');
    expect(all).not.toContain('student@example.com');
    expect(all).not.toContain('+1234567890');
    expect(all).not.toContain('log-test');
    expect(all).not.toContain(Buffer.from('admin:log-test').toString('base64'));
  });
});
