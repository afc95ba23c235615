import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { dropPrefix, redisUrl, SECRET, testConfig } from '../support/env.ts';
import {
  contactEmails,
  contactWrites,
  courseEvent,
  deadLetterCount,
  emailTally,
  enrollEvent,
  postSigned,
  report,
  unfinished,
} from '../support/faults.ts';
import { spawnService, type ServiceProcess } from '../support/processes.ts';

// Two receiver and two worker processes on one Redis. Every event is delivered to both receivers
// at once; HubSpot allows LIMIT requests per rolling 10 s and each worker process is given a budget
// of BUDGET (10 % below, as docs/hubspot.md advises: the budget is taken just before a request leaves, so
// a CPU-starved process can send late and bunch requests; measured: with BUDGET = LIMIT on a
// machine loaded by a second test run, 21 arrived in one window). The budget lives in Redis, so
// together they must stay within LIMIT; two separate budgets would allow 2 x BUDGET.
// Small batches make ~3x BUDGET requests, so the window really binds (the run takes ~30 s).
const LIMIT = 20;
const BUDGET = 18;
const ENROLLMENTS = 30;
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let redis: Redis;
let queues: QueueSet;
const config = testConfig();
const children: ServiceProcess[] = [];

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: LIMIT, intervalMs: 10_000 });
  sendgrid = await startSendGridEmulator();
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  queues = openQueues(redis, config);
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: config.redis.prefix,
    WEBHOOK_SECRET: SECRET,
    DASHBOARD_PASSWORD: randomBytes(8).toString('hex'),
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_REQUESTS_PER_10S: String(BUDGET),
    HUBSPOT_BATCH_SIZE: '2',
    HUBSPOT_BATCH_WAIT_MS: '20',
    SENDGRID_API_KEY: sendgrid.apiKey,
    SENDGRID_BASE_URL: sendgrid.url,
  };
  for (const name of ['receiver-a', 'receiver-b']) children.push(spawnService(name, 'receiver', env));
  for (const name of ['worker-a', 'worker-b']) children.push(spawnService(name, 'worker', env));
  await Promise.all(children.slice(2).map((w) => w.waitFor('"msg":"workers started"')));
}, 60_000);

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop()));
  await queues?.close();
  await dropPrefix(redis, config.redis.prefix);
  await redis?.quit();
  await hubspot?.close();
  await sendgrid?.close();
});

/** The most requests the emulator received within any `windowMs` (two-pointer sweep over arrival times). */
function busiestWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < t.length; j++) {
    while (t[j]! - t[i]! >= windowMs) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

it('two receivers and two workers: no duplicates, and the HubSpot limit shared across processes holds', async () => {
  const bases = await Promise.all(children.slice(0, 2).map(async (r) => `http://127.0.0.1:${await r.port()}`));
  const ids = Array.from({ length: ENROLLMENTS }, (_, i) => `mp_${i}`);
  const events = [
    ...ids.map((id, i) => enrollEvent(id, { id: `mp-course-${i % 2}` })),
    courseEvent('course.created', 'mp-course-0'),
    courseEvent('course.created', 'mp-course-1'),
    courseEvent('course.updated', 'mp-course-1', '2023-06-01T00:00:00Z'),
  ];
  const started = Date.now();
  // Each event reaches both receivers at the same moment: exactly one of them accepts it.
  const answers = await Promise.all(
    events.map(async (e) => (await Promise.all(bases.map((b) => postSigned(b, e)))).map((r) => r.status).sort()),
  );
  expect(answers).toEqual(events.map(() => [200, 202]));

  await vi.waitFor(
    async () => {
      const done = {
        contacts: contactEmails(hubspot).size,
        enrollmentsEmailed: emailTally(sendgrid).perEnrollment.size,
        products: hubspot.state.objects.products.size,
        unfinished: (await unfinished(queues)).total,
      };
      expect(done).toEqual({ contacts: ENROLLMENTS, enrollmentsEmailed: ENROLLMENTS, products: 4, unfinished: 0 });
    },
    { timeout: 90_000, interval: 50 },
  );
  const seconds = (Date.now() - started) / 1000;

  const tally = emailTally(sendgrid);
  expect(tally.duplicates).toBe(0);
  const writes = ids.map((id) => contactWrites(hubspot, `${id}@example.com`));
  expect(writes.filter((n) => n !== 1)).toEqual([]);
  expect(await deadLetterCount(queues)).toBe(0);

  const requests = hubspot.state.requests;
  const busiest = busiestWindow(
    requests.map((r) => r.at),
    10_000,
  );
  const refused429 = requests.filter((r) => r.status === 429).length;
  // Both workers really took part.
  const sentBy = children.slice(2).map((w) => (w.output().match(/welcome email sent/g) ?? []).length);
  expect(sentBy.every((n) => n > 0)).toBe(true);
  report('two-receivers-two-workers', {
    events: events.length,
    deliveries: events.length * 2,
    acknowledged202: events.length,
    duplicate200: events.length,
    contacts: contactEmails(hubspot).size,
    emails: sendgrid.outbox.size,
    duplicateEmails: tally.duplicates,
    emailsByWorker: sentBy,
    hubspotRequests: requests.length,
    limitPer10s: LIMIT,
    budgetPer10s: BUDGET,
    busiest10s: busiest,
    refused429,
    seconds,
  });
  expect(requests.length).toBeGreaterThan(LIMIT * 1.5);
  expect(refused429).toBe(0);
  expect(busiest).toBeLessThanOrEqual(LIMIT);
});
