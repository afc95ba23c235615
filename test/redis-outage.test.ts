import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.ts';
import { startLocalRedis, type LocalRedis } from '../src/redis/local-server.ts';
import { WebhookSignature } from '../src/receiver/signature.ts';
import { startService, type RunningService } from '../src/service.ts';
import { fixture, SECRET, testConfig } from './support/env.ts';

// A Redis of this test's own, so it can be stopped and started again on the same port.
let dir: string;
let redis: LocalRedis;
let service: RunningService;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-outage-'));
  redis = await startLocalRedis({ dataDir: dir });
  service = await startService(testConfig({ REDIS_URL: redis.url }), 'receiver', createLogger('silent'));
  base = `http://127.0.0.1:${service.port}`;
});
afterAll(async () => {
  await service.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

function post(id: string) {
  const body = fixture('course.student_enroll');
  body.data.id = id;
  const raw = JSON.stringify(body);
  return fetch(`${base}/webhooks/loopwise`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'loopwise-webhook-signature': new WebhookSignature([SECRET]).sign(raw),
    },
    body: raw,
  });
}

it('answers 503 while Redis is down, acknowledges nothing, and recovers when it is back', async () => {
  expect((await post('enroll_before')).status).toBe(202);

  await redis.stop();
  const during = await post('enroll_during');
  expect(during.status).toBe(503);
  expect(during.headers.get('retry-after')).toBe('5');
  expect((await fetch(`${base}/readyz`)).status).toBe(503);

  redis = await startLocalRedis({ dataDir: dir, port: redis.port });
  // The producer connection reconnects on its own: 503 until it has.
  await vi.waitFor(async () => expect((await post('enroll_after')).status).toBe(202), {
    timeout: 15_000,
    interval: 100,
  });

  const check = new Redis(redis.url);
  const q = new Queue('crm-contacts', { connection: check, prefix: service.config.redis.prefix });
  const ids = (await q.getJobs(['waiting'])).map((j) => j.id).sort();
  // The AOF kept the job accepted before the outage; the one refused with 503 was never stored.
  expect(ids).toEqual(['enroll-enroll_after', 'enroll-enroll_before']);
  await q.close();
  await check.quit();
});
