import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { checkEventWebhook } from '../src/doctor/sendgrid.ts';
import { createLogger } from '../src/log.ts';
import { QUEUES } from '../src/queues/names.ts';
import { openQueues } from '../src/queues/registry.ts';
import { startLocalRedis } from '../src/redis/local-server.ts';
import {
  EVENT_SIGNATURE_HEADER,
  EVENT_TIMESTAMP_HEADER,
  EventWebhookSignature,
  generateEventKeyPair,
  signEventBatch,
} from '../src/sendgrid-signature.ts';
import { startService } from '../src/service.ts';
import { testConfig } from './support/env.ts';
import { startTestService } from './support/receiver.ts';
import { postEvents, sgEvent } from './support/sendgrid-events.ts';

const keys = generateEventKeyPair();

describe('POST /webhooks/sendgrid', () => {
  it('does not exist in production without SENDGRID_WEBHOOK_PUBLIC_KEY (404), and nothing is stored', async () => {
    const t = await startTestService({
      NODE_ENV: 'production',
      HUBSPOT_ACCESS_TOKEN: 'pat-x',
      SENDGRID_API_KEY: 'SG.x',
    });
    try {
      expect((await postEvents(t.base, keys.privateKey, [sgEvent('processed', 'e1', 'm')])).status).toBe(404);
      expect(
        (await t.redis.keys(`${t.config.redis.prefix}:email-events:*`)).filter((k) => !k.endsWith(':meta')),
      ).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('outside production without a key takes unsigned events (and says so at start-up)', async () => {
    // Credentials given: not sandbox mode, whose emulator signs with a key pair of its own.
    const t = await startTestService({ HUBSPOT_ACCESS_TOKEN: 'pat-x', SENDGRID_API_KEY: 'SG.x' });
    try {
      const res = await fetch(`${t.base}/webhooks/sendgrid`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([sgEvent('processed', 'e1', 'm')]),
      });
      expect(res.status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it('answers 503 while Redis cannot store the batch, and 200 once it can', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-sg-outage-'));
    let redis = await startLocalRedis({ dataDir: dir });
    const service = await startService(
      testConfig({
        REDIS_URL: redis.url,
        SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
        HUBSPOT_ACCESS_TOKEN: 'pat-x',
        SENDGRID_API_KEY: 'SG.x',
      }),
      'receiver',
      createLogger('silent'),
    );
    const base = `http://127.0.0.1:${service.port}`;
    try {
      expect((await postEvents(base, keys.privateKey, [sgEvent('processed', 'e1', 'm1')])).status).toBe(200);
      await redis.stop();
      const during = await postEvents(base, keys.privateKey, [sgEvent('processed', 'e2', 'm2')]);
      expect(during.status).toBe(503);
      redis = await startLocalRedis({ dataDir: dir, port: redis.port });
      await vi.waitFor(
        async () =>
          expect((await postEvents(base, keys.privateKey, [sgEvent('processed', 'e3', 'm3')])).status).toBe(200),
        { timeout: 10_000, interval: 100 },
      );
      const { Redis } = await import('ioredis');
      const check = new Redis(redis.url);
      const queues = openQueues(check, service.config);
      const stored = (await queues.work[QUEUES.emailEvents].getJobs(['waiting']))
        .flatMap((j) => j.data.events.map((e: { enrollmentId: string }) => e.enrollmentId))
        .sort();
      expect(stored).toEqual(['e1', 'e3']);
      await queues.close();
      await check.quit();
    } finally {
      await service.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('doctor: the Event Webhook', () => {
  it.each([
    [[keys.publicKey], true, 'ok'],
    [[], true, 'problem'],
    [[], false, 'unknown'],
  ] as const)('%j in production %s → %s, saying how to turn it on', (publicKeys, production, status) => {
    const result = checkEventWebhook({ publicKeys: [...publicKeys] }, production);
    expect(result.status).toBe(status);
    if (status !== 'ok') expect(result.fix).toMatch(/webhooks\/sendgrid.*SENDGRID_WEBHOOK_PUBLIC_KEY/);
  });
});

describe('more than one verification key (a key being changed, or sandbox mode with a key of your own)', () => {
  it('takes a batch signed by any of them and refuses one signed by another key', () => {
    const [a, b, c] = [generateEventKeyPair(), generateEventKeyPair(), generateEventKeyPair()];
    const verifier = new EventWebhookSignature([a.publicKey, b.publicKey]);
    const body = Buffer.from('[{"event":"delivered"}]\r\n');
    const headers = (key: string) => ({
      [EVENT_SIGNATURE_HEADER]: signEventBatch(key, '1700000000', body),
      [EVENT_TIMESTAMP_HEADER]: '1700000000',
    });
    expect(() => verifier.verify(body, headers(a.privateKey))).not.toThrow();
    expect(() => verifier.verify(body, headers(b.privateKey))).not.toThrow();
    expect(() => verifier.verify(body, headers(c.privateKey))).toThrow(/No matching signature found/);
  });
});
