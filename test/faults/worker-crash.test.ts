import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config.ts';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { idempotencyKey } from '../../src/events/idempotency-key.ts';
import { EventIntake } from '../../src/queues/intake.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { dropPrefix, redisUrl, testConfig } from '../support/env.ts';
import {
  contactEmails,
  deadLetterCount,
  emailTally,
  enrollEvent,
  enrollmentIdOf,
  report,
  unfinished,
} from '../support/faults.ts';
import { spawnService, type ServiceProcess } from '../support/processes.ts';
import { TraceWriter } from '../../src/trace/writer.ts';

// A worker process is SIGKILLed in the middle of a 5,000-enrollment drain and started again.
// BullMQ takes the killed process's active jobs back once their locks (30 s, the workers' default
// lockDuration) have lapsed and a stalled check (every 30 s) has seen them twice: so recovery takes
// 30-60 s, which bounds this test. The email duplicate window is "SendGrid accepted, sent marker not
// yet written": only a job active at the kill can be in it.
const N = 5_000;
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let config: Config;
let redis: Redis;
let queues: QueueSet;
const children: ServiceProcess[] = [];

function startWorker(name: string): ServiceProcess {
  const child = spawnService(name, 'worker', {
    NODE_ENV: 'test',
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: config.redis.prefix,
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_REQUESTS_PER_10S: '100000',
    HUBSPOT_BATCH_WAIT_MS: '20',
    SENDGRID_API_KEY: sendgrid.apiKey,
    SENDGRID_BASE_URL: sendgrid.url,
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: 100_000 });
  sendgrid = await startSendGridEmulator();
  config = testConfig();
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  queues = openQueues(redis, config);
});

afterAll(async () => {
  for (const c of children) await c.stop();
  await queues?.close();
  await dropPrefix(redis, config.redis.prefix);
  await redis?.quit();
  await hubspot?.close();
  await sendgrid?.close();
});

it('loses nothing and emails each enrollment once (bar the jobs in flight) when a worker is SIGKILLed mid-drain', async () => {
  // 5,000 enrollments accepted as the receiver accepts them, before any worker runs.
  const intake = new EventIntake(redis, config, new TraceWriter(redis, config));
  const ids = Array.from({ length: N }, (_, i) => `crash_${i}`);
  for (let i = 0; i < N; i += 250) {
    await Promise.all(
      ids.slice(i, i + 250).map((id) => {
        const event = enrollEvent(id);
        return intake.accept(event, idempotencyKey(event), `corr-${id}`);
      }),
    );
  }
  expect(await queues.work[QUEUES.email].getWaitingCount()).toBe(N);

  const first = startWorker('worker-1');
  await first.waitFor('"msg":"workers started"');
  await vi.waitFor(
    () => expect([sendgrid.outbox.size >= N * 0.3, contactEmails(hubspot).size >= 100]).toEqual([true, true]),
    { timeout: 60_000, interval: 25 },
  );
  await first.kill();

  // What the dead process had in hand: its jobs stay "active" until the stalled check takes them back.
  const activeEmail = await queues.work[QUEUES.email].getActive();
  const activeContacts = await queues.work[QUEUES.contacts].getActiveCount();
  const inFlight = new Set(activeEmail.map(enrollmentIdOf));
  const atKill = {
    emails: sendgrid.outbox.size,
    contacts: contactEmails(hubspot).size,
    activeEmailJobs: inFlight.size,
    activeContactJobs: activeContacts,
  };
  expect(atKill.emails).toBeLessThan(N); // the kill really came mid-drain
  const killedAt = Date.now();

  const second = startWorker('worker-2');
  await second.waitFor('"msg":"workers started"');
  await vi.waitFor(
    async () => {
      const left = await unfinished(queues);
      const drained = {
        enrollmentsEmailed: emailTally(sendgrid).perEnrollment.size,
        contacts: contactEmails(hubspot).size,
        unfinished: left.total,
      };
      expect(drained, `not drained after the kill; unfinished ${JSON.stringify(left.byQueue)}`).toEqual({
        enrollmentsEmailed: N,
        contacts: N,
        unfinished: 0,
      });
    },
    { timeout: 120_000, interval: 100 },
  );
  const recoveredMs = Date.now() - killedAt;

  expect([...contactEmails(hubspot)].sort()).toEqual(ids.map((id) => `${id}@example.com`).sort());
  const tally = emailTally(sendgrid);
  const duplicated = [...tally.perEnrollment].filter(([, n]) => n > 1).map(([id]) => id);
  // Only an enrollment whose job was in the dead worker's hands may have been emailed twice.
  expect(duplicated.filter((id) => !inFlight.has(id))).toEqual([]);
  expect(tally.duplicates).toBeLessThanOrEqual(atKill.activeEmailJobs);
  expect([...tally.perEnrollment.values()].every((n) => n <= 2)).toBe(true);
  expect((await unfinished(queues)).total).toBe(0);
  expect(await deadLetterCount(queues)).toBe(0);

  report('worker-sigkill', {
    enrollments: N,
    atKill,
    emailsSent: sendgrid.outbox.size,
    duplicateEmails: tally.duplicates,
    contacts: contactEmails(hubspot).size,
    recoveredMs,
  });
});
