import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.ts';
import { startService, type RunningService } from '../src/service.ts';
import { WebhookSignature } from '../src/receiver/signature.ts';
import { dropPrefix, fixture, SECRET, SETTLE, testConfig } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

// A worker process opens no port unless ADMIN_PORT is set; then it answers the probes Kubernetes
// needs and serves its own counters (API calls, job times), which no receiver can show.
describe('--role worker with ADMIN_PORT', () => {
  const config = testConfig({ ADMIN_PORT: '0', HUBSPOT_BATCH_WAIT_MS: '20' });
  let worker: RunningService;
  let receiver: RunningService;
  let redis: Redis;
  const inside = (path: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${worker.adminPort}${path}`, { headers });

  beforeAll(async () => {
    worker = await startService(config, 'worker', createLogger('silent'));
    receiver = await startService(config, 'receiver', createLogger('silent'));
    redis = new Redis(worker.redisUrl);
  });
  afterAll(async () => {
    await receiver?.stop();
    await worker?.stop();
    await dropPrefix(redis, config.redis.prefix);
    await redis.quit();
  });

  it('answers /healthz and /readyz on the admin port, and nothing of the admin area', async () => {
    expect(worker.port).toBeUndefined();
    expect(worker.adminPort).toBeGreaterThan(0);
    expect((await inside('/healthz')).status).toBe(200);
    expect(await (await inside('/readyz')).json()).toEqual({ status: 'ready', redis: 'ok' });
    for (const path of ['/admin', '/admin/queues', '/webhooks/loopwise'])
      expect((await inside(path)).status, path).toBe(404);
  });

  it("serves the worker's own job times and API calls, and no queue gauges (the receivers serve those, once)", async () => {
    const body = JSON.stringify(fixture('course.student_enroll'));
    const res = await fetch(`http://127.0.0.1:${receiver.port}/webhooks/loopwise`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'loopwise-webhook-signature': new WebhookSignature([SECRET]).sign(body),
      },
      body,
    });
    expect(res.status).toBe(202);
    const text = await vi.waitFor(async () => {
      const t = await (await inside('/metrics')).text();
      expect(t).toMatch(/^course_sync_job_duration_seconds_count\{queue="email-welcome",outcome="completed"\} 1$/m);
      expect(t).toMatch(
        /^course_sync_api_calls_total\{api="hubspot",operation="contacts\.upsert",status="[^"]+"\} \d+$/m,
      );
      return t;
    }, SETTLE);
    expect(text).not.toMatch(/^course_sync_queue_jobs\{/m);
    expect(text).toMatch(/^course_sync_process_resident_memory_bytes \d+/m);
  });
});

describe('--role worker', () => {
  it('opens no port without ADMIN_PORT', async () => {
    const t = await startTestService({}, 'worker');
    try {
      expect(t.service.port).toBeUndefined();
      expect(t.service.adminPort).toBeUndefined();
    } finally {
      await t.stop();
    }
  });

  it('keeps its /metrics behind METRICS_TOKEN', async () => {
    const t = await startTestService({ ADMIN_PORT: '0', METRICS_TOKEN: 'scrape-me' }, 'worker');
    try {
      const url = `http://127.0.0.1:${t.service.adminPort}/metrics`;
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer scrape-me' } })).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${t.service.adminPort}/healthz`)).status).toBe(200);
    } finally {
      await t.stop();
    }
  });
});
