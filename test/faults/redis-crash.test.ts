import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { createLogger } from '../../src/log.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues } from '../../src/queues/registry.ts';
import { startLocalRedis, type LocalRedis } from '../../src/redis/local-server.ts';
import { startService } from '../../src/service.ts';
import { SECRET, testConfig } from '../support/env.ts';
import { contactEmails, emailTally, enrollEvent, postSigned, report, unfinished } from '../support/faults.ts';
import { spawnService } from '../support/processes.ts';

// Redis is SIGKILLed while webhooks pour into a receiver process, then started again from its AOF
// on the same port. A 2xx is only sent once Redis acknowledged the write, so with
// `appendfsync always` every acknowledged webhook must be there and get processed; every other
// delivery got a 503 (or no answer) and Loopwise retries it. `everysec` is run too, to measure.
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
const POSTERS = 12;

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: 100_000 });
  sendgrid = await startSendGridEmulator();
});
afterAll(async () => {
  await hubspot?.close();
  await sendgrid?.close();
});

interface Delivery {
  id: string;
  status: number;
  answeredAt: number;
}

/** Posts distinct enrollments from POSTERS loops until `stop()` says so; `deliveries` grows as they are answered. */
function pour(base: string, tag: string, stop: () => boolean): { deliveries: Delivery[]; done: Promise<Delivery[]> } {
  const deliveries: Delivery[] = [];
  let next = 0;
  const done = Promise.all(
    Array.from({ length: POSTERS }, async () => {
      while (!stop()) {
        const id = `${tag}_${next++}`;
        const r = await postSigned(base, enrollEvent(id), 10_000);
        deliveries.push({ id, status: r.status, answeredAt: Date.now() });
        // A sender backs off a little after a failure (Loopwise retries later) instead of hammering.
        if (r.status === 0 || r.status >= 500) await sleep(25);
      }
    }),
  ).then(() => deliveries);
  return { deliveries, done };
}

/** Waits until at least `n` deliveries answered after `since` match `which`. */
async function answered(
  deliveries: Delivery[],
  since: number,
  which: (d: Delivery) => boolean,
  n: number,
): Promise<void> {
  await vi.waitFor(
    () => expect(deliveries.filter((d) => d.answeredAt >= since && which(d)).length).toBeGreaterThanOrEqual(n),
    { timeout: 30_000, interval: 25 },
  );
}

const isAcknowledged = (d: Delivery) => d.status === 202 || d.status === 200;

async function crashRun(appendfsync: 'always' | 'everysec') {
  const dir = mkdtempSync(join(tmpdir(), `cs-crash-${appendfsync}-`));
  let redis: LocalRedis = await startLocalRedis({ dataDir: dir, appendfsync });
  const config = testConfig({ REDIS_URL: redis.url });
  const receiver = spawnService(`receiver-${appendfsync}`, 'receiver', {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: redis.url,
    QUEUE_PREFIX: config.redis.prefix,
    WEBHOOK_SECRET: SECRET,
    DASHBOARD_PASSWORD: 'crash-test',
  });
  try {
    const base = `http://127.0.0.1:${await receiver.port()}`;
    let stop = false;
    const pouring = pour(base, `crash_${appendfsync}`, () => stop);
    // Traffic flowing, then the crash; Redis stays down until the receiver has refused a good many
    // deliveries, and the pouring goes on until some are acknowledged again after the restart.
    await answered(pouring.deliveries, 0, isAcknowledged, 150);
    const port = redis.port;
    const gone = new Promise((ok) => redis.process.once('exit', ok));
    redis.process.kill('SIGKILL');
    await gone;
    const killedAt = Date.now();
    await answered(pouring.deliveries, killedAt, (d) => d.status === 503, 2 * POSTERS);
    redis = await startLocalRedis({ dataDir: dir, port, appendfsync });
    const restartedAt = Date.now();
    await vi.waitFor(async () => expect((await fetch(`${base}/readyz`)).status).toBe(200), {
      timeout: 20_000,
      interval: 25,
    });
    await answered(pouring.deliveries, restartedAt, isAcknowledged, 2 * POSTERS);
    stop = true;
    const deliveries = await pouring.done;

    const acknowledged = deliveries.filter(isAcknowledged);
    const refused = deliveries.filter((d) => d.status >= 500);
    const unanswered = deliveries.filter((d) => d.status === 0);
    // No other answer is allowed: never a 4xx for a good webhook, never a 2xx for an unsaved one.
    expect(
      deliveries.filter((d) => !(d.status === 202 || d.status === 200 || d.status === 503 || d.status === 0)),
    ).toEqual([]);

    // Which acknowledged webhooks are in Redis after the restart (both jobs of each enrollment).
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queues = openQueues(conn, config);
    const stored = async (id: string) =>
      !!(await queues.work[QUEUES.contacts].getJob(`enroll-${id}`)) &&
      !!(await queues.work[QUEUES.email].getJob(`enroll-${id}`));
    const lost: Delivery[] = [];
    for (const d of acknowledged) if (!(await stored(d.id))) lost.push(d);
    let storedAfterRefusal = 0;
    for (const d of refused) if (await stored(d.id)) storedAfterRefusal++;

    // Process what survived with the real workers: every stored acknowledged enrollment becomes a contact and one email.
    const worker = await startService(
      {
        ...testConfig({
          REDIS_URL: redis.url,
          QUEUE_PREFIX: config.redis.prefix,
          HUBSPOT_ACCESS_TOKEN: hubspot.token,
          HUBSPOT_BASE_URL: hubspot.url,
          HUBSPOT_REQUESTS_PER_10S: '100000',
          SENDGRID_API_KEY: sendgrid.apiKey,
          SENDGRID_BASE_URL: sendgrid.url,
        }),
      },
      'worker',
      createLogger('silent'),
    );
    const kept = acknowledged.filter((d) => !lost.includes(d));
    try {
      await vi.waitFor(async () => expect((await unfinished(queues)).total).toBe(0), { timeout: 60_000, interval: 50 });
    } finally {
      await worker.stop();
    }
    const tally = emailTally(sendgrid);
    const contacts = contactEmails(hubspot);
    const processed = kept.filter(
      (d) => tally.perEnrollment.get(d.id) === 1 && contacts.has(`${d.id}@example.com`),
    ).length;
    const numbers = {
      appendfsync,
      sent: deliveries.length,
      acknowledged: acknowledged.length,
      refused503: refused.length,
      unanswered: unanswered.length,
      acknowledgedButLost: lost.length,
      lostWithinLastSecond: lost.filter((d) => d.answeredAt > killedAt - 1_000).length,
      storedThoughRefused: storedAfterRefusal,
      processed,
      duplicateEmails: tally.duplicates,
    };
    report(`redis-sigkill-${appendfsync}`, numbers);
    await queues.close();
    await conn.quit();
    return { numbers, kept };
  } finally {
    await receiver.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Redis SIGKILLed while webhooks are posted, restarted from its AOF', () => {
  it('appendfsync always: every acknowledged webhook is kept and processed; the rest got 503', async () => {
    const { numbers, kept } = await crashRun('always');
    expect(numbers.acknowledged).toBeGreaterThan(100);
    expect(numbers.acknowledgedButLost).toBe(0);
    expect(numbers.refused503).toBeGreaterThan(0); // the outage was seen
    expect(numbers.processed).toBe(kept.length);
    expect(numbers.duplicateEmails).toBe(0);
  });

  it('appendfsync everysec: measured (a process kill leaves the OS page cache intact; the window is an OS crash)', async () => {
    const { numbers, kept } = await crashRun('everysec');
    // Not a failure if some are lost here: the documented window is up to one second of writes.
    expect(numbers.acknowledgedButLost).toBeLessThanOrEqual(numbers.acknowledged);
    expect(numbers.processed).toBe(kept.length);
    expect(numbers.duplicateEmails).toBe(0);
  });
});
