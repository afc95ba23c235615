import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { idempotencyKey } from '../../src/events/idempotency-key.ts';
import { EventIntake } from '../../src/queues/intake.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { generateEventKeyPair } from '../../src/sendgrid-signature.ts';
import { redisUrl } from '../support/env.ts';
import { emailTally, enrollEvent, report } from '../support/faults.ts';
import { spawnService, type ServiceProcess } from '../support/processes.ts';
import { startTestService } from '../support/receiver.ts';

// The worker-SIGKILL email scenario again, with SendGrid's Event Webhook flowing. SendGrid accepts
// each e-mail at once but answers 202 only 3 s later, so every send in the dead worker's hands was
// accepted and never recorded: without the events, each would be sent again. SendGrid posts its
// events in batches every 60 s here — later than the dead job's 35 s claim lapses and BullMQ gives
// its jobs back — so a retried welcome email whose earlier attempt may have gone out must wait
// (SENDGRID_EVENT_GRACE_SECONDS, the default 120 s) for them; they write the sent marker. No
// enrollment may be emailed twice. (GRACE_SECONDS=0 shows the test can fail: 50 duplicates of 50.)
const N = 600;
const keys = generateEventKeyPair();
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let receiver: Awaited<ReturnType<typeof startTestService>>;
let redis: Redis;
let queues: QueueSet;
const children: ServiceProcess[] = [];

function startWorker(name: string): ServiceProcess {
  const child = spawnService(name, 'worker', {
    NODE_ENV: 'test',
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: receiver.config.redis.prefix,
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_REQUESTS_PER_10S: '100000',
    SENDGRID_API_KEY: sendgrid.apiKey,
    SENDGRID_BASE_URL: sendgrid.url,
    SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
    ...(process.env.GRACE_SECONDS ? { SENDGRID_EVENT_GRACE_SECONDS: process.env.GRACE_SECONDS } : {}),
    EMAIL_CONCURRENCY: '50',
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: 100_000 });
  sendgrid = await startSendGridEmulator();
  receiver = await startTestService({
    SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    SENDGRID_API_KEY: sendgrid.apiKey,
  });
  sendgrid.setEventWebhook({
    url: `${receiver.base}/webhooks/sendgrid`,
    privateKey: keys.privateKey,
    deliverAfterMs: 500,
    flushMs: 60_000,
  });
  sendgrid.setAnswerDelay(3_000);
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  queues = openQueues(redis, receiver.config);
});
afterAll(async () => {
  for (const c of children) await c.stop();
  await queues?.close();
  await redis?.quit();
  await receiver?.stop();
  await hubspot?.close();
  await sendgrid?.close();
});

it('emails each enrollment exactly once when a worker is SIGKILLed mid-drain with the Event Webhook on', async () => {
  const intake = new EventIntake(redis, receiver.config);
  const ids = Array.from({ length: N }, (_, i) => `evcrash_${i}`);
  await Promise.all(
    ids.map((id) => {
      const event = enrollEvent(id);
      return intake.accept(event, idempotencyKey(event), `corr-${id}`);
    }),
  );

  const first = startWorker('worker-1');
  await first.waitFor('"msg":"workers started"');
  await vi.waitFor(() => expect(sendgrid.outbox.size).toBeGreaterThan(N * 0.3), { timeout: 60_000, interval: 50 });
  await first.kill();
  const inFlight = (await queues.work[QUEUES.email].getActive()).length;
  const atKill = sendgrid.outbox.size;

  const second = startWorker('worker-2');
  await second.waitFor('"msg":"workers started"');
  await vi.waitFor(
    async () => {
      expect(emailTally(sendgrid).perEnrollment.size).toBe(N);
      expect(await queues.work[QUEUES.email].getJobCounts('waiting', 'active', 'delayed', 'failed')).toMatchObject({
        waiting: 0,
        active: 0,
        delayed: 0,
        failed: 0,
      });
    },
    { timeout: 200_000, interval: 500 },
  );

  const tally = emailTally(sendgrid);
  report('worker-sigkill-with-events', {
    enrollments: N,
    emailsAtKill: atKill,
    activeEmailJobsAtKill: inFlight,
    emailsSent: sendgrid.outbox.size,
    duplicateEmails: tally.duplicates,
    eventBatchesPosted: sendgrid.events?.posted.length,
  });
  expect(tally.duplicates).toBe(0);
  expect([...tally.perEnrollment.keys()].sort()).toEqual([...ids].sort());
}, 300_000);
