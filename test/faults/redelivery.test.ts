import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { contactWrites, enrollEvent, report, unfinished } from '../support/faults.ts';
import { startTestService } from '../support/receiver.ts';

// Loopwise signs no timestamp and has no event id: a webhook may come again at any time, also
// several copies at once. Through the receiver, with the real workers running: one contact write
// and one welcome email per enrollment, however many copies arrive.
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: 1000 });
  sendgrid = await startSendGridEmulator();
  t = await startTestService(
    {
      HUBSPOT_BASE_URL: hubspot.url,
      HUBSPOT_ACCESS_TOKEN: hubspot.token,
      HUBSPOT_REQUESTS_PER_10S: '1000',
      // A wide batch window, so copies that slipped past dedupe would meet in one batch or two.
      HUBSPOT_BATCH_WAIT_MS: '200',
      SENDGRID_BASE_URL: sendgrid.url,
      SENDGRID_API_KEY: sendgrid.apiKey,
    },
    'all',
  );
  queues = openQueues(t.redis, t.config);
}, 60_000);
afterAll(async () => {
  await queues?.close();
  await t?.stop();
  await hubspot?.close();
  await sendgrid?.close();
});

/**
 * Waits until the enrollment was written and sent and no job is left in any queue. Every copy was
 * answered before, so a copy that slipped past dedupe is a job by now: once nothing is waiting,
 * delayed or active, it has been processed too and shows in the counts.
 */
async function settled(id: string): Promise<void> {
  await vi.waitFor(
    async () => {
      expect(sendgrid.outbox.withCustomArg('enrollment_id', id).length).toBeGreaterThan(0);
      expect(contactWrites(hubspot, `${id}@example.com`)).toBeGreaterThan(0);
      expect((await unfinished(queues)).total).toBe(0);
    },
    { timeout: 20_000, interval: 25 },
  );
}

describe('the same enrollment webhook delivered 5 times', () => {
  it.each([
    ['one after another', 'redeliver_seq', false],
    ['all at once', 'redeliver_conc', true],
  ])('%s: one 202, four 200 duplicates, one contact write, one email', async (_how, id, concurrent) => {
    const body = enrollEvent(id);
    const statuses = concurrent
      ? (await Promise.all(Array.from({ length: 5 }, () => t.post(body)))).map((r) => r.status)
      : await (async () => {
          const out: number[] = [];
          for (let i = 0; i < 5; i++) out.push((await t.post(body)).status);
          return out;
        })();
    expect([...statuses].sort()).toEqual([200, 200, 200, 200, 202]);

    await settled(id);
    // And once more after it was processed: still a duplicate, nothing sent again.
    expect((await t.post(body)).status).toBe(200);
    expect((await unfinished(queues)).total, 'jobs made by the late copy').toBe(0);

    const writes = contactWrites(hubspot, `${id}@example.com`);
    const emails = sendgrid.outbox.withCustomArg('enrollment_id', id).length;
    expect(writes).toBe(1);
    expect(emails).toBe(1);
    report(`redelivery-${concurrent ? 'concurrent' : 'sequential'}`, {
      sent: 6,
      acknowledged202: 1,
      duplicate200: 5,
      contactWrites: writes,
      emails,
    });
  });
});
