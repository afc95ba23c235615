import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { createLogger } from '../src/log.ts';
import { QUEUES } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { recordKey } from '../src/redis/keys.ts';
import { generateEventKeyPair } from '../src/sendgrid-signature.ts';
import { EmailEventLog } from '../src/sendgrid/email-status.ts';
import { startService, type RunningService } from '../src/service.ts';
import { TraceReader } from '../src/trace/reader.ts';
import { dropPrefix, emulatorEnv, SECRET, SETTLE, testConfig } from './support/env.ts';
import { enrollEvent } from './support/faults.ts';
import { postEvents, sgEvent } from './support/sendgrid-events.ts';
import { WebhookSignature } from '../src/receiver/signature.ts';

// An asynchronous bounce — reported after delivery, without sg_message_id and without the send's
// custom_args — posted signed to the real /webhooks/sendgrid: matched by the student's address to
// the latest welcome email sent to it (within SENDGRID_MESSAGE_INDEX_DAYS), else counted, logged
// with the address masked and kept, never applied to another send.
const keys = generateEventKeyPair();
const logLines: string[] = [];
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let service: RunningService;
let redis: Redis;
let queues: QueueSet;
let statuses: EmailEventLog;
let base: string;
const prefix = () => service.config.redis.prefix;

/** The async bounce SendGrid posts: no custom_args, and sg_message_id empty (as observed) or absent. */
const lateBounce = (address: string, over: Record<string, unknown> = {}, emptyId = false) => {
  const e = sgEvent(
    'bounce',
    'x',
    'x',
    { email: address, type: 'bounce', status: '5.1.1', reason: `550 5.1.1 <${address}>: mailbox unknown`, ...over },
    true,
  );
  if (emptyId) e.sg_message_id = '';
  else delete e.sg_message_id;
  return e;
};
const enroll = async (id: string, email: string) => {
  const body = enrollEvent(id);
  body.data.user.email = email;
  const raw = JSON.stringify(body);
  const res = await fetch(`${base}/webhooks/loopwise`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'loopwise-webhook-signature': new WebhookSignature([SECRET]).sign(raw),
    },
    body: raw,
  });
  expect(res.status).toBe(202);
  await vi.waitFor(async () => expect((await statuses.read([id]))[0]!.status).toBe('sent'), SETTLE);
};
const contactStatus = (address: string) =>
  [...hubspot.state.objects.contacts.values()].find((c) => c.properties.email === address)?.properties
    .loopwise_welcome_email_status;
const metric = async (name: string, label: string) =>
  Number(
    new RegExp(`^${name}\\{${label}\\} (\\d+)`, 'm').exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? 0,
  );
const completedBatches = async () => (await queues.work[QUEUES.emailEvents].getJobCounts('completed')).completed ?? 0;
/** Posts a batch and waits until its job is done. */
const deliver = async (events: unknown[]) => {
  const before = await completedBatches();
  const res = await postEvents(base, keys.privateKey, events);
  expect(res.status).toBe(200);
  await vi.waitFor(async () => expect(await completedBatches()).toBe(before + 1), SETTLE);
  return res;
};
const sentAt = (id: string) => recordKey(prefix(), 'sent', id);

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
  const config = testConfig({
    ...emulatorEnv(hubspot, sendgrid),
    SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
    HUBSPOT_BATCH_WAIT_MS: '50',
    LOG_LEVEL: 'info',
  });
  service = await startService(
    config,
    'all',
    createLogger('info', { write: (line: string) => void logLines.push(line) }),
  );
  base = `http://127.0.0.1:${service.port}`;
  redis = new Redis(service.redisUrl);
  queues = openQueues(redis, config);
  statuses = new EmailEventLog(redis, config.redis.prefix, 60);
}, 60_000);
afterAll(async () => {
  await queues?.close();
  await service?.stop();
  if (redis) {
    await dropPrefix(redis, prefix());
    await redis.quit();
  }
  await hubspot?.close();
  await sendgrid?.close();
});

describe('an asynchronous bounce without sg_message_id or custom_args', () => {
  it.each([
    ['absent', false],
    ['empty, as SendGrid sends it', true],
  ])(
    '(sg_message_id %s) bounces the welcome email sent to that address, on the contact and in the trace',
    async (_name, emptyId) => {
      const id = `late-${emptyId ? 'empty' : 'absent'}`;
      const address = `${id}@example.com`;
      await enroll(id, address);
      await deliver([sgEvent('delivered', id, sendgrid.outbox.to(address)[0]!.messageId)]);
      expect((await statuses.read([id]))[0]!.status).toBe('delivered');
      const bouncesBefore = await metric('course_sync_email_events_total', 'event="bounce"');

      // The address in another letter case is still the student's.
      await deliver([lateBounce(address.toUpperCase(), {}, emptyId)]);

      expect((await statuses.read([id]))[0]).toMatchObject({
        status: 'bounced',
        reason: '550 5.1.1 <L***@EXAMPLE.COM>: mailbox unknown',
      });
      expect(await metric('course_sync_email_events_total', 'event="bounce"')).toBe(bouncesBefore + 1);
      expect(await metric('course_sync_email_events_ignored_total', 'reason="no_message_id"')).toBe(0);
      const [trace] = await new TraceReader(redis, service.config).load([`enroll-${id}`]);
      expect(trace!.steps.find((s) => s.event === 'bounce')).toMatchObject({
        kind: 'email',
        emailStatus: 'bounced',
        reason: '550 5.1.1 <L***@EXAMPLE.COM>: mailbox unknown (no message id: matched by address)',
      });
      await vi.waitFor(() => expect(contactStatus(address)).toBe('bounced'), SETTLE);
    },
  );

  it('goes to the latest welcome email sent to the address before it, not to a later one', async () => {
    const address = 'twice@example.com';
    await enroll('twice-1', address);
    await enroll('twice-2', address);
    // The first welcome email went out two hours ago, the second just now.
    await redis.hset(sentAt('twice-1'), 'sentAt', new Date(Date.now() - 2 * 3_600_000).toISOString());
    const now = Math.floor(Date.now() / 1000);

    await deliver([lateBounce(address, { timestamp: now - 3600 })]); // an hour ago: only the first was sent by then
    expect((await statuses.read(['twice-1', 'twice-2'])).map((s) => s.status)).toEqual(['bounced', 'sent']);

    await deliver([lateBounce(address, { timestamp: now, reason: '550 5.1.1 gone' })]); // now: the latest send
    expect((await statuses.read(['twice-1', 'twice-2'])).map((s) => s.status)).toEqual(['bounced', 'bounced']);
    await vi.waitFor(() => expect(contactStatus(address)).toBe('bounced'), SETTLE);
  });

  it('does not reach a welcome email sent after it, nor one sent longer ago than SENDGRID_MESSAGE_INDEX_DAYS (7)', async () => {
    await enroll('old-send', 'old@example.com');
    await redis.hset(sentAt('old-send'), 'sentAt', new Date(Date.now() - 8 * 86_400_000).toISOString());
    await enroll('new-send', 'new@example.com');
    const unmatched = await metric('course_sync_email_events_ignored_total', 'reason="no_message_id"');

    await deliver([
      lateBounce('old@example.com'),
      lateBounce('new@example.com', { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
    ]);

    expect((await statuses.read(['old-send', 'new-send'])).map((s) => s.status)).toEqual(['sent', 'sent']);
    expect(await metric('course_sync_email_events_ignored_total', 'reason="no_message_id"')).toBe(unmatched + 2);
  });

  it('matching nothing, is counted, logged with the address masked and kept — and the rest of its batch is applied', async () => {
    await enroll('batch-mate', 'mate@example.com');
    const key = recordKey(prefix(), 'sg-unmatched');
    const keptBefore = await redis.xlen(key);
    const [bounces, unmatched] = [
      await metric('course_sync_email_events_total', 'event="bounce"'),
      await metric('course_sync_email_events_ignored_total', 'reason="no_message_id"'),
    ];
    const stranger = lateBounce('stranger@example.org');
    const batch = [stranger, sgEvent('delivered', 'batch-mate', sendgrid.outbox.to('mate@example.com')[0]!.messageId)];

    const res = await deliver(batch);

    expect(res.json).toMatchObject({ accepted: 2, notTaken: 0 });
    expect((await statuses.read(['batch-mate']))[0]!.status).toBe('delivered');
    expect(await metric('course_sync_email_events_total', 'event="bounce"')).toBe(bounces + 1);
    expect(await metric('course_sync_email_events_ignored_total', 'reason="no_message_id"')).toBe(unmatched + 1);
    const kept = (await redis.xrange(key, '-', '+'))
      .slice(keptBefore)
      .map(([, fields]) =>
        Object.fromEntries(
          fields.reduce<[string, string][]>((acc, v, i) => (i % 2 ? acc : [...acc, [v, fields[i + 1]!]]), []),
        ),
      );
    expect(kept).toEqual([
      {
        sgEventId: stranger.sg_event_id,
        event: 'bounce',
        at: new Date(Number(stranger.timestamp) * 1000).toISOString(),
        email: 's***@example.org',
        reason: '550 5.1.1 <s***@example.org>: mailbox unknown',
        status: '5.1.1',
      },
    ]);
    expect(JSON.stringify(await redis.xrange(key, '-', '+'))).not.toContain('stranger@');
    expect(await redis.ttl(key)).toBeGreaterThan(0);
    const warning = logLines
      .map((l) => JSON.parse(l))
      .find((l) => /matched no welcome email/.test(l.msg) && l.sample?.[0]?.sgEventId === stranger.sg_event_id);
    expect(warning).toMatchObject({
      level: 40,
      count: 1,
      sample: [{ event: 'bounce', to: 's***@example.org', sgEventId: stranger.sg_event_id }],
    });
    expect(logLines.join('\n')).not.toContain('stranger@example.org');

    // SendGrid posts the event again in another batch: a duplicate by its sg_event_id, neither counted nor kept twice.
    await deliver([stranger]);
    expect(await redis.xlen(key)).toBe(keptBefore + 1);
    expect(await metric('course_sync_email_events_ignored_total', 'reason="no_message_id"')).toBe(unmatched + 1);
  });
});
