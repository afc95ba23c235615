import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';
import { startService } from '../src/service.ts';
import { basic } from './support/admin.ts';
import { dropPrefix, fixture, testConfig } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

describe('ADMIN_PORT: the inside on a second port', () => {
  it('serves /admin, /metrics and health there, and takes them off the public port, which keeps the webhooks', async () => {
    const t = await startTestService({ ADMIN_PORT: '0', ADMIN_HOST: '127.0.0.1', DASHBOARD_PASSWORD: 'pw' });
    try {
      const inside = `http://127.0.0.1:${t.service.adminPort}`;
      expect(t.service.adminPort).toBeGreaterThan(0);
      expect(t.service.adminPort).not.toBe(t.service.port);
      for (const path of ['/admin', '/admin/queues', '/ADMIN/api/dlq', '/metrics', '/healthz', '/readyz']) {
        expect(
          (await fetch(t.base + path, { headers: { authorization: basic('admin', 'pw') } })).status,
          `public ${path}`,
        ).toBe(404);
      }
      for (const path of ['/admin', '/admin/api/dlq', '/metrics', '/healthz', '/readyz']) {
        expect(
          (await fetch(inside + path, { headers: { authorization: basic('admin', 'pw') } })).status,
          `inside ${path}`,
        ).toBe(200);
      }
      expect((await fetch(`${inside}/admin/api/dlq`)).status).toBe(401);
      expect((await t.post(fixture('course.student_enroll'))).status).toBe(202);
      expect(
        (
          await fetch(`${inside}/webhooks/loopwise`, {
            method: 'POST',
            body: '{}',
            headers: { 'content-type': 'application/json' },
          })
        ).status,
      ).toBe(404);
    } finally {
      await t.stop();
    }
  });
});

describe('METRICS_TOKEN', () => {
  it('makes /metrics answer 401 without "Authorization: Bearer <token>", and the metrics with it', async () => {
    const t = await startTestService({ METRICS_TOKEN: 'scrape-me' });
    try {
      for (const authorization of [
        undefined,
        'Bearer wrong',
        'Bearer scrape-me-too',
        'Basic c2NyYXBlLW1l',
        'scrape-me',
      ]) {
        const res = await fetch(`${t.base}/metrics`, { headers: authorization ? { authorization } : {} });
        expect(res.status, authorization).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(await res.text()).not.toContain('course_sync_');
      }
      const ok = await fetch(`${t.base}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('course_sync_webhook_requests_total');
      expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
    } finally {
      await t.stop();
    }
  });
});

describe('failed admin logins in the log', () => {
  it('are logged once per address and window, never with what was tried', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const config = testConfig({ DASHBOARD_PASSWORD: 'right-password' });
    const service = await startService(config, 'receiver', createLogger('info', sink));
    const { Redis } = await import('ioredis');
    const redis = new Redis(service.redisUrl);
    try {
      for (let i = 0; i < 12; i++)
        await fetch(`http://127.0.0.1:${service.port}/admin`, {
          headers: { authorization: basic('admin', `tried-secret-${i}`) },
        });
      const failures = lines.filter((l) => l.includes('failed admin login'));
      expect(failures).toHaveLength(1);
      expect(JSON.parse(failures[0]!)).toMatchObject({ level: 40, address: '127.0.0.1' });
      expect(lines.join('')).not.toContain('tried-secret');
    } finally {
      await service.stop();
      await dropPrefix(redis, config.redis.prefix);
      await redis.quit();
    }
  });
});
