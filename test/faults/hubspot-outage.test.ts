import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config.ts';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { idempotencyKey } from '../../src/events/idempotency-key.ts';
import { createLogger } from '../../src/log.ts';
import { EventIntake } from '../../src/queues/intake.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { runCli } from '../support/cli.ts';
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
import { TraceWriter } from '../../src/trace/writer.ts';

// HubSpot goes away (503s, then connection refused) while enrollments keep coming. The contacts
// worker must back off (delayed retries, no hot loop), lose nothing, and sync everything when
// HubSpot is back; past JOB_ATTEMPTS the jobs are dead letters that `dlq replay` completes.
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
const rigs: { service: RunningService; queues: QueueSet; redis: Redis; config: Config }[] = [];

async function rig(env: Record<string, string>) {
  const config = testConfig({
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_REQUESTS_PER_10S: '1000',
    HUBSPOT_BATCH_SIZE: '10',
    HUBSPOT_BATCH_WAIT_MS: '20',
    SENDGRID_API_KEY: sendgrid.apiKey,
    SENDGRID_BASE_URL: sendgrid.url,
    ...env,
  });
  const service = await startService(config, 'worker', createLogger('silent'));
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const r = { service, queues: openQueues(redis, config), redis, config };
  rigs.push(r);
  const intake = new EventIntake(redis, config, new TraceWriter(redis, config));
  return {
    ...r,
    async accept(ids: string[]) {
      for (const id of ids) {
        const e = enrollEvent(id);
        expect(await intake.accept(e, idempotencyKey(e), `corr-${id}`)).toBe('accepted');
      }
    },
  };
}

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: 1000 });
  sendgrid = await startSendGridEmulator();
});
afterAll(async () => {
  for (const r of rigs) {
    await r.service.stop();
    await r.queues.close();
    await dropPrefix(r.redis, r.config.redis.prefix);
    await r.redis.quit();
  }
  await hubspot?.close();
  await sendgrid?.close();
});

/** Attempts made so far by each unfinished enrollment job of `queue`, by enrollment id. */
async function attempts(queue: QueueSet['work'][typeof QUEUES.contacts]): Promise<Map<string, number>> {
  const jobs = (await queue.getJobs(['delayed', 'waiting', 'active', 'prioritized'])).filter(Boolean);
  return new Map(jobs.map((j) => [enrollmentIdOf(j), j.attemptsMade]));
}

const emailsOf = (ids: string[]) => ids.map((id) => `${id}@example.com`);
const hasAll = (ids: string[]) => emailsOf(ids).every((e) => contactEmails(hubspot).has(e));

describe('HubSpot down for a while', () => {
  it('backs off, loses nothing and syncs everything once HubSpot is back', async () => {
    const r = await rig({ JOB_ATTEMPTS: '8', JOB_BACKOFF_MS: '300' });
    const ids = Array.from({ length: 100 }, (_, i) => `outage_${i}`);
    const queue = r.queues.work[QUEUES.contacts];

    await hubspot.injectFaults({ status: 503, count: Infinity });
    const outageStart = Date.now();
    await r.accept(ids.slice(0, 50));
    await vi.waitFor(async () => expect(await queue.getDelayedCount()).toBe(50), { timeout: 10_000 });
    // The 503s last until the workers have come back for more after a backoff.
    await vi.waitFor(async () => expect(Math.max(...(await attempts(queue)).values())).toBeGreaterThanOrEqual(2), {
      timeout: 10_000,
      interval: 100,
    });
    const answered503 = hubspot.state.requests.filter((q) => q.status === 503).length;

    // Now the port is closed: connection refused.
    hubspot.clearFaults();
    await hubspot.injectFaults({ down: true });
    const before = await attempts(queue);
    await r.accept(ids.slice(50));
    // Connection refused until every job has been tried against the closed port.
    await vi.waitFor(
      async () => {
        const now = await attempts(queue);
        for (const id of ids) expect(now.get(id) ?? 0, id).toBeGreaterThan(before.get(id) ?? 0);
      },
      { timeout: 20_000, interval: 100 },
    );
    const during = await unfinished(r.queues);
    // Backing off: every job waits its turn in "delayed" or "waiting", none failed for good.
    expect(during.byQueue[QUEUES.contacts]!.failed).toBe(0);
    expect(await deadLetterCount(r.queues)).toBe(0);
    expect(hasAll(ids.slice(0, 1))).toBe(false);
    // Backoff, not a hot loop: with delays of at least 150 ms doubling (300 ms, jitter 0.5), k attempts
    // take at least 150 * (2^(k-1) - 1) ms, so an outage of T ms allows 1 + log2(T/150 + 1) of them.
    const outageMs = Date.now() - outageStart;
    const waiting = (await queue.getJobs(['delayed', 'waiting', 'active'])).filter(Boolean);
    const attemptsDuring = waiting.map((j) => j.attemptsMade);
    expect(Math.max(...attemptsDuring)).toBeLessThanOrEqual(Math.floor(1 + Math.log2(outageMs / 150 + 1)) + 1);
    expect(Math.max(...attemptsDuring)).toBeGreaterThanOrEqual(2);

    await hubspot.injectFaults({ down: false });
    await vi.waitFor(async () => expect([hasAll(ids), (await unfinished(r.queues)).total]).toEqual([true, 0]), {
      timeout: 60_000,
      interval: 100,
    });
    expect(await deadLetterCount(r.queues)).toBe(0);
    const jobs = await queue.getCompleted(0, -1);
    const retried = jobs.filter((j) => ids.includes(enrollmentIdOf(j)) && j.attemptsMade > 1).length;
    expect(retried).toBeGreaterThan(0);
    report('hubspot-outage', {
      enrollments: ids.length,
      answered503,
      outageMs,
      maxAttemptsDuringOutage: Math.max(...attemptsDuring),
      failedAttempts: jobs.reduce((a, j) => a + j.attemptsMade - 1, 0),
      jobsRetried: retried,
      contacts: emailsOf(ids).filter((e) => contactEmails(hubspot).has(e)).length,
      deadLetters: 0,
    });
  });

  it('past JOB_ATTEMPTS puts the jobs in the dead-letter queue, and `dlq replay` completes them', async () => {
    const r = await rig({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '100' });
    const ids = Array.from({ length: 30 }, (_, i) => `dlq_outage_${i}`);
    await hubspot.injectFaults({ down: true });
    await r.accept(ids);
    await vi.waitFor(async () => expect(await r.queues.deadLetter[QUEUES.contacts].count()).toBe(ids.length), {
      timeout: 20_000,
    });
    expect(hasAll(ids.slice(0, 1))).toBe(false);
    // The welcome emails do not wait for HubSpot.
    await vi.waitFor(
      () => expect(ids.map((id) => emailTally(sendgrid).perEnrollment.get(id))).toEqual(ids.map(() => 1)),
      { timeout: 10_000 },
    );

    await hubspot.injectFaults({ down: false });
    const cli = await runCli(['dlq', 'replay', QUEUES.contacts, '--all'], {
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: r.config.redis.prefix,
    });
    expect(cli.code, cli.stderr).toBe(0);
    await vi.waitFor(async () => expect([hasAll(ids), (await unfinished(r.queues)).total]).toEqual([true, 0]), {
      timeout: 30_000,
      interval: 100,
    });
    expect(await deadLetterCount(r.queues)).toBe(0);
    const tally = emailTally(sendgrid);
    expect(ids.map((id) => tally.perEnrollment.get(id))).toEqual(ids.map(() => 1));
    report('hubspot-dlq-replay', {
      enrollments: ids.length,
      deadLettered: ids.length,
      replayed: ids.length,
      contacts: emailsOf(ids).filter((e) => contactEmails(hubspot).has(e)).length,
      emails: ids.length,
      duplicateEmails: 0,
    });
  });
});
