import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { QUEUES } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { recordKey } from '../src/redis/keys.ts';
import { generateEventKeyPair } from '../src/sendgrid-signature.ts';
import { EmailEventLog } from '../src/sendgrid/email-status.ts';
import { TraceReader } from '../src/trace/reader.ts';
import { enrollEvent } from './support/faults.ts';
import { startTestService } from './support/receiver.ts';
import { postEvents, sgEvent } from './support/sendgrid-events.ts';

// SendGrid's Event Webhook end to end: signed batches in, statuses that only move forward, steps in
// the traces, counts in /metrics, and the status on the HubSpot contact — through the real workers.
const keys = generateEventKeyPair();
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;
let statuses: EmailEventLog;
const messageIds = new Map<string, string>();

const eventsJobs = () =>
  queues.work[QUEUES.emailEvents].getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
const contactStatus = (id: string) =>
  [...hubspot.state.objects.contacts.values()].find((c) => c.properties.email === `${id}@example.com`)?.properties
    .loopwise_welcome_email_status;
const metric = async (name: string, label: string) =>
  Number(
    new RegExp(`^${name}\\{${label}\\} (\\d+)`, 'm').exec(await (await fetch(`${t.base}/metrics`)).text())?.[1] ?? 0,
  );

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
  t = await startTestService(
    {
      HUBSPOT_ACCESS_TOKEN: hubspot.token,
      HUBSPOT_BASE_URL: hubspot.url,
      SENDGRID_API_KEY: sendgrid.apiKey,
      SENDGRID_BASE_URL: sendgrid.url,
      SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
      HUBSPOT_BATCH_WAIT_MS: '100',
      SENDGRID_WEBHOOK_MAX_AGE_SECONDS: '600',
    },
    'all',
  );
  queues = openQueues(t.redis, t.config);
  statuses = new EmailEventLog(t.redis, t.config.redis.prefix, 60);
  for (const id of ['e1', 'e2', 'e3', 'e4']) expect((await t.post(enrollEvent(id))).status).toBe(202);
  await vi.waitFor(() => expect(sendgrid.outbox.size).toBe(4), { timeout: 20_000 });
  for (const e of sendgrid.outbox.all()) messageIds.set(e.customArgs.enrollment_id!, e.messageId);
  await vi.waitFor(
    () =>
      expect(
        ['e1', 'e2', 'e3', 'e4'].every(
          (id) =>
            contactStatus(id) !== undefined ||
            [...hubspot.state.objects.contacts.values()].some((c) => c.properties.email === `${id}@example.com`),
        ),
      ).toBe(true),
    { timeout: 20_000 },
  );
}, 60_000);
afterAll(async () => {
  await queues?.close();
  await t?.stop();
  await hubspot?.close();
  await sendgrid?.close();
});

describe('a signed batch of SendGrid events', () => {
  it('moves each welcome email status forward, once per sg_event_id, whatever the order', async () => {
    const m = (id: string) => messageIds.get(id)!;
    const delivered1 = sgEvent('delivered', 'e1', m('e1'));
    const batch = [
      sgEvent('processed', 'e1', m('e1')),
      delivered1,
      { ...delivered1 }, // SendGrid says duplicates happen: the same sg_event_id again
      sgEvent('processed', 'e2', m('e2')),
      sgEvent('bounce', 'e2', m('e2'), { type: 'bounce', status: '5.1.1', reason: '550 5.1.1 no such user' }),
      sgEvent('dropped', 'e3', m('e3'), { reason: 'Bounced Address' }, true), // matched by the message id only
      sgEvent('bounce', 'e4', m('e4'), { type: 'blocked', reason: '554 blocked' }), // a bounce before a late delivered
      sgEvent('delivered', 'e4', m('e4'), { timestamp: Math.floor(Date.now() / 1000) + 5 }),
      sgEvent('open', 'e1', m('e1')),
      sgEvent('delivered', 'someone-else', 'NotOurMessageId', {}, true), // another app's mail on the same account
    ];
    const before = await metric('course_sync_email_events_total', 'event="delivered"');
    const res = await postEvents(t.base, keys.privateKey, batch);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accepted: 10 });
    await vi.waitFor(async () => expect((await eventsJobs()).completed).toBe(1), { timeout: 10_000 });

    const [e1, e2, e3, e4] = await statuses.read(['e1', 'e2', 'e3', 'e4']);
    expect([e1!.status, e2!.status, e3!.status, e4!.status]).toEqual(['delivered', 'bounced', 'dropped', 'bounced']);
    expect(e1!.opens).toBe(1);
    expect(e2!.reason).toBe('550 5.1.1 no such user');
    // delivered: e1's once (its repeat deduplicated), e4's late one, and the one of someone else's mail.
    expect(await metric('course_sync_email_events_total', 'event="delivered"')).toBe(before + 3);
    expect(await metric('course_sync_email_events_ignored_total', 'reason="duplicate"')).toBe(1);
    expect(await metric('course_sync_email_events_ignored_total', 'reason="not_ours"')).toBe(1);
    // An event id is remembered SENDGRID_EVENT_DEDUPE_HOURS (72 by default): past SendGrid's 24 h of retries, not a month.
    const remembered = await t.redis.ttl(recordKey(t.config.redis.prefix, 'sg-event', String(delivered1.sg_event_id)));
    expect(remembered).toBeGreaterThan(71 * 3600);
    expect(remembered).toBeLessThanOrEqual(72 * 3600);

    const [trace] = await new TraceReader(t.redis, t.config).load(['enroll-e2']);
    // Both events carry the same second: their order in the trace is not the point.
    expect(
      trace!.steps
        .filter((s) => s.kind === 'email')
        .map((s) => [s.event, s.emailStatus])
        .sort(),
    ).toEqual([
      ['bounce', 'bounced'],
      ['processed', 'sent'],
    ]);
    expect(trace!.steps.find((s) => s.event === 'bounce')!.reason).toBe('550 5.1.1 no such user');

    // Marketing sees it on the contact, and a late "delivered" never hid e4's bounce.
    await vi.waitFor(
      () => expect(['e1', 'e2', 'e3', 'e4'].map(contactStatus)).toEqual(['delivered', 'bounced', 'dropped', 'bounced']),
      { timeout: 20_000 },
    );
  });

  it.each([
    ['a missing signature', { signature: '' }],
    ['a signature by another key', { signature: 'MEUCIQDY' + 'A'.repeat(60) + '==' }],
    ['a timestamp other than the one signed', { sentTimestamp: String(Math.floor(Date.now() / 1000) - 1) }],
    ['one byte changed after signing', { alter: (b: string) => b.replace('"processed"', '"processes"') }],
    ['the trailing newline removed after signing', { alter: (b: string) => b.trimEnd() }],
  ])('answers 401 to %s and records nothing', async (_name, opts) => {
    const before = await eventsJobs();
    const res = await postEvents(t.base, keys.privateKey, [sgEvent('processed', 'e1', 'x')], opts);
    expect(res.status).toBe(401);
    expect(await eventsJobs()).toEqual(before);
  });

  it('answers 401 to a batch signed longer ago than SENDGRID_WEBHOOK_MAX_AGE_SECONDS', async () => {
    const res = await postEvents(t.base, keys.privateKey, [sgEvent('processed', 'e1', 'x')], {
      timestamp: String(Math.floor(Date.now() / 1000) - 3600),
    });
    expect(res.status).toBe(401);
    expect(res.json.error).toMatch(/old/);
  });

  it.each([
    ['not JSON', 'not json', 400],
    ['not an array', '{"event":"processed"}', 400],
  ])('answers a body that is %s with %i, kept in quarantine', async (_name, body, status) => {
    const before = await t.redis.xlen(`${t.config.redis.prefix}:cs:quarantine`);
    expect((await postEvents(t.base, keys.privateKey, body)).status).toBe(status);
    expect(await t.redis.xlen(`${t.config.redis.prefix}:cs:quarantine`)).toBe(before + 1);
  });
});

describe('many events', () => {
  it('5,000 events for 1,000 enrollments cost at most 12 HubSpot requests for the status property', async () => {
    const requestsBefore = hubspot.state.requestsTo('/contacts/batch/upsert').length;
    for (let b = 0; b < 10; b++) {
      const batch = Array.from({ length: 100 }, (_, i) => `bulk_${b * 100 + i}`).flatMap((id) =>
        ['processed', 'deferred', 'delivered', 'open', 'click'].map((e) => sgEvent(e, id, `msg_${id}`)),
      );
      batch.sort(() => Math.random() - 0.5);
      expect((await postEvents(t.base, keys.privateKey, batch)).status).toBe(200);
    }
    await vi.waitFor(
      () =>
        expect(
          Array.from({ length: 1000 }, (_, i) => contactStatus(`bulk_${i}`)).filter((s) => s === 'delivered'),
        ).toHaveLength(1000),
      { timeout: 60_000, interval: 200 },
    );
    const statusRequests = hubspot.state
      .requestsTo('/contacts/batch/upsert')
      .slice(requestsBefore)
      .filter((r) => (r.body as any).inputs.some((i: any) => 'loopwise_welcome_email_status' in i.properties));
    expect(statusRequests.length).toBeLessThanOrEqual(12);
  }, 90_000);
});
