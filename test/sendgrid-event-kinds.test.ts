import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { generateEventKeyPair } from '../src/sendgrid-signature.ts';
import { EmailEventLog } from '../src/sendgrid/email-status.ts';
import { TraceReader } from '../src/trace/reader.ts';
import { emulatorEnv } from './support/env.ts';
import { enrollEvent } from './support/faults.ts';
import { startTestService } from './support/receiver.ts';

// The SendGrid emulator posts every Event Webhook type by recipient domain, signed, to the service's
// real /webhooks/sendgrid; each must end as the right welcome email status in Redis, on the HubSpot
// contact and in the trace — an asynchronous bounce without sg_message_id or custom_args included.
const keys = generateEventKeyPair();
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let t: Awaited<ReturnType<typeof startTestService>>;
let statuses: EmailEventLog;

// [recipient domain, the status it ends with, the events posted for it]
const CASES: [string, string, string[]][] = [
  ['example.com', 'delivered', ['processed', 'delivered']],
  ['defer.example.com', 'delivered', ['processed', 'deferred', 'delivered']],
  ['engaged.example.com', 'delivered', ['processed', 'delivered', 'open', 'click']],
  ['spam.example.com', 'spam_report', ['processed', 'delivered', 'spamreport']],
  ['unsubscribe.example.com', 'unsubscribed', ['processed', 'delivered', 'unsubscribe']],
  ['group-unsubscribe.example.com', 'unsubscribed', ['processed', 'delivered', 'group_unsubscribe']],
  ['resubscribe.example.com', 'unsubscribed', ['processed', 'delivered', 'group_unsubscribe', 'group_resubscribe']],
  ['async-bounce.example.com', 'bounced', ['processed', 'delivered', 'bounce']],
  ['blocked.example.com', 'bounced', ['processed', 'bounce']],
  ['bounce.example.com', 'bounced', ['processed', 'bounce']],
  ['drop.example.com', 'dropped', ['processed', 'dropped']],
];
const idOf = (domain: string) => `kind-${domain.split('.')[0]}`;
const addressOf = (domain: string) => `${idOf(domain)}@${domain}`;
const contactStatus = (address: string) =>
  [...hubspot.state.objects.contacts.values()].find((c) => c.properties.email === address)?.properties
    .loopwise_welcome_email_status;
const emailSteps = async (domain: string) =>
  ((await new TraceReader(t.redis, t.config).load([`enroll-${idOf(domain)}`]))[0]?.steps ?? []).filter(
    (s) => s.kind === 'email',
  );
const metric = async (name: string, label: string) =>
  Number(
    new RegExp(`^${name}\\{${label}\\} (\\d+)`, 'm').exec(await (await fetch(`${t.base}/metrics`)).text())?.[1] ?? 0,
  );

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
  t = await startTestService(
    { ...emulatorEnv(hubspot, sendgrid), SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey, HUBSPOT_BATCH_WAIT_MS: '50' },
    'all',
  );
  sendgrid.setEventWebhook({
    url: `${t.base}/webhooks/sendgrid`,
    privateKey: keys.privateKey,
    deliverAfterMs: 50,
    flushMs: 50,
  });
  statuses = new EmailEventLog(t.redis, t.config.redis.prefix, 60);
  for (const [domain] of CASES) {
    const body = enrollEvent(idOf(domain));
    body.data.user.email = addressOf(domain);
    expect((await t.post(body)).status).toBe(202);
  }
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await hubspot?.close();
  await sendgrid?.close();
});

describe('every Event Webhook type the emulator posts', () => {
  it('ends as the right welcome email status in Redis and on the HubSpot contact, with each event a step of the trace', async () => {
    await vi.waitFor(
      async () => {
        for (const [domain, status, events] of CASES) {
          expect((await emailSteps(domain)).map((s) => s.event).sort(), domain).toEqual([...events].sort());
          expect((await statuses.read([idOf(domain)]))[0]!.status, domain).toBe(status);
          expect(contactStatus(addressOf(domain)), domain).toBe(status);
        }
      },
      { timeout: 30_000, interval: 200 },
    );
    // Every batch was taken (200), so none waits to be posted again.
    expect(sendgrid.events!.posted.length).toBeGreaterThan(0);
    expect(sendgrid.events!.posted.filter((b) => b.status !== 200)).toEqual([]);
  });

  it('counts each type in course_sync_email_events_total, and the late bounce was matched (nothing left unmatched)', async () => {
    for (const event of [
      'processed',
      'delivered',
      'deferred',
      'bounce',
      'dropped',
      'open',
      'click',
      'spamreport',
      'unsubscribe',
      'group_unsubscribe',
      'group_resubscribe',
    ]) {
      expect(await metric('course_sync_email_events_total', `event="${event}"`), event).toBeGreaterThan(0);
    }
    expect(await metric('course_sync_email_events_total', 'event="bounce"')).toBe(3);
    expect(await metric('course_sync_email_events_ignored_total', 'reason="no_message_id"')).toBe(0);
    expect(await metric('course_sync_email_events_ignored_total', 'reason="not_ours"')).toBe(0);
  });

  it("keeps what each event says: a deferral's response, a block, the unsubscribe group, opens and clicks, a bounce matched by address", async () => {
    const step = async (domain: string, event: string) => (await emailSteps(domain)).find((s) => s.event === event)!;
    expect(await step('defer.example.com', 'deferred')).toMatchObject({
      emailStatus: 'deferred',
      reason: '421 4.7.0 Try again later (attempt 1)',
    });
    expect(await step('blocked.example.com', 'bounce')).toMatchObject({
      emailStatus: 'bounced',
      reason: expect.stringMatching(/^blocked: 554 /),
    });
    expect(await step('group-unsubscribe.example.com', 'group_unsubscribe')).toMatchObject({
      emailStatus: 'unsubscribed',
      reason: 'unsubscribe group 10',
    });
    // A resubscribe is shown and counted, but the status only moves forward: still unsubscribed.
    const resubscribe = await step('resubscribe.example.com', 'group_resubscribe');
    expect(resubscribe.emailStatus).toBeUndefined();
    expect(resubscribe.reason).toBe('unsubscribe group 10');
    expect((await step('async-bounce.example.com', 'bounce')).reason).toMatch(
      /^550 5\.1\.1 .*\(no message id: matched by address\)$/,
    );
    const [engaged, bounced] = await statuses.read([idOf('engaged.example.com'), idOf('async-bounce.example.com')]);
    expect(engaged).toMatchObject({ status: 'delivered', opens: 1, clicks: 1 });
    expect(bounced!.reason).toMatch(/^550 5\.1\.1 /);
    // The emulated late bounce came as SendGrid sends one: no message id, none of the send's custom_args.
    const late = sendgrid
      .events!.posted.flatMap((b) => b.events)
      .find((e) => e.event === 'bounce' && e.email === addressOf('async-bounce.example.com'))!;
    expect(late.sg_message_id).toBe('');
    expect(late).not.toHaveProperty('enrollment_id');
  });
});
