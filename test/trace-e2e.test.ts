import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import type { Journey } from '../src/trace/journey.ts';
import { runCli } from './support/cli.ts';
import { emulatorEnv, fixture } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

// The whole way: the seed webhook through the receiver, the real workers and client libraries,
// the HubSpot and SendGrid emulators; then the trace must show the ids those emulators gave.
const EMAIL = 'student@example.com';
const PASSWORD = 'trace-e2e-password';
const auth = { authorization: 'Basic ' + Buffer.from(`admin:${PASSWORD}`).toString('base64') };
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let t: Awaited<ReturnType<typeof startTestService>>;

async function events(q: string): Promise<Journey[]> {
  const res = await fetch(`${t.base}/admin/api/events?q=${encodeURIComponent(q)}`, { headers: auth });
  expect(res.status).toBe(200);
  return (await res.json()).journeys;
}

const stepOf = (j: Journey, queue: string, kind: string) => j.steps.find((s) => s.queue === queue && s.kind === kind);

beforeAll(async () => {
  hubspot = await startHubSpotEmulator();
  sendgrid = await startSendGridEmulator();
  t = await startTestService(
    { ...emulatorEnv(hubspot, sendgrid), HUBSPOT_BATCH_WAIT_MS: '20', DASHBOARD_PASSWORD: PASSWORD },
    'all',
  );
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await hubspot?.close();
  await sendgrid?.close();
});

describe('the seed enrollment, end to end', () => {
  it('is traced by its id and by its e-mail with the HubSpot contact id and SendGrid message id the emulators returned', async () => {
    expect((await t.post(fixture('course.student_enroll'))).status).toBe(202);
    await vi.waitFor(
      async () => expect((await events('enroll_123456'))[0]?.now.map((p) => p.state)).toEqual(['done', 'done']),
      { timeout: 25_000 },
    );

    const contact = [...hubspot.state.objects.contacts.values()].find((c) => c.properties.email === EMAIL);
    const [email] = sendgrid.outbox.to(EMAIL);
    expect(contact?.id).toBeTruthy();
    expect(email?.messageId).toBeTruthy();

    for (const q of ['enroll_123456', EMAIL]) {
      const [journey, ...more] = await events(q);
      expect(more).toEqual([]);
      expect(stepOf(journey!, 'crm-contacts', 'completed')).toMatchObject({
        attempt: 1,
        hubspotContactId: contact!.id,
      });
      expect(stepOf(journey!, 'email-welcome', 'completed')).toMatchObject({
        attempt: 1,
        sendgridMessageId: email!.messageId,
      });
      expect(journey!.now.map((p) => [p.queue, p.state])).toEqual([
        ['crm-contacts', 'done'],
        ['email-welcome', 'done'],
      ]);
    }

    const cli = await runCli(['trace', EMAIL], { REDIS_URL: t.service.redisUrl, QUEUE_PREFIX: t.config.redis.prefix });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(
      new RegExp(`crm-contacts +completed \\(attempt 1, \\d+ ms\\) HubSpot contact ${contact!.id}$`, 'm'),
    );
    expect(cli.stdout).toMatch(
      new RegExp(
        `email-welcome +completed \\(attempt 1, \\d+ ms\\) SendGrid message ${email!.messageId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
        'm',
      ),
    );
    expect(cli.stdout).toMatch(/now: crm-contacts done · email-welcome done$/m);
    expect(cli.stdout).not.toContain(EMAIL);
    expect(cli.stdout).not.toContain('call:');

    // --calls: each attempt's own part of the HubSpot and SendGrid calls, address and phone masked.
    const calls = await runCli(['trace', EMAIL, '--calls'], {
      REDIS_URL: t.service.redisUrl,
      QUEUE_PREFIX: t.config.redis.prefix,
    });
    expect(calls.stdout).toMatch(
      /^ {2}call: crm-contacts attempt 1: hubspot contacts\.upsert asked \{"email":"s\*\*\*@example\.com",.*"phone":"\+12\*+90".*\} → answered \{.*"contactId":"\d+"/m,
    );
    expect(calls.stdout).toMatch(
      /^ {2}call: email-welcome attempt 1: sendgrid mail\.send asked \{.*\} → answered \{"status":202,"messageId":"[^"]+"\}$/m,
    );
    expect(calls.stdout).not.toContain(EMAIL);
  });

  it('shows a redelivery as a duplicate that sent nothing again', async () => {
    expect((await t.post(fixture('course.student_enroll'))).status).toBe(200);
    const [journey] = await events('enroll_123456');
    expect(journey!.steps.filter((s) => s.kind === 'duplicate')).toHaveLength(1);
    expect(sendgrid.outbox.to(EMAIL)).toHaveLength(1);
  });
});

describe('course events, end to end', () => {
  it('show the HubSpot product ids written, and an older version skipped as stale', async () => {
    // The update (newer) first, then the creation (older): the second must not overwrite the first.
    const updated = await t.post(fixture('course.updated'));
    await vi.waitFor(async () => expect((await events(updated.json.key))[0]?.now[0]?.state).toBe('done'), {
      timeout: 25_000,
    });
    const created = await t.post(fixture('course.created'));
    await vi.waitFor(async () => expect((await events(created.json.key))[0]?.now[0]?.state).toBe('done'), {
      timeout: 25_000,
    });

    const products = [...hubspot.state.objects.products.values()];
    const journeys = await events('550e8400-e29b-41d4-a716-446655440000');
    expect(journeys.map((j) => j.key)).toEqual([created.json.key, updated.json.key]);
    const written = stepOf(journeys[1]!, 'crm-products', 'completed');
    expect(written?.hubspotProductIds?.length).toBeGreaterThan(0);
    expect(products.map((p) => p.id)).toEqual(expect.arrayContaining(written!.hubspotProductIds!));
    expect(stepOf(journeys[0]!, 'crm-products', 'skipped')).toMatchObject({ reason: 'stale' });
    expect(journeys[0]!.now[0]).toMatchObject({ state: 'done', detail: 'skipped: stale' });
  });
});

describe('the overview after the flow', () => {
  it('counts the jobs per queue and the HubSpot and SendGrid calls', async () => {
    await vi.waitFor(
      async () => {
        const o = await (await fetch(`${t.base}/admin/api/overview`, { headers: auth })).json();
        const calls = (api: string) => o.apis.find((a: any) => a.api === api).figures.hour.calls;
        expect(calls('hubspot')).toBeGreaterThan(0);
        expect(calls('sendgrid')).toBeGreaterThanOrEqual(1);
        // The queues this flow used (email-events takes SendGrid's delivery events, none here).
        for (const q of o.queues.filter((q: any) => q.name !== 'email-events'))
          expect(q.jobsPerMinute.hour, q.name).toBeGreaterThan(0);
      },
      { timeout: 20_000 },
    );
    const o = await (await fetch(`${t.base}/admin/api/overview`, { headers: auth })).json();
    expect(o.queues.map((q: any) => [q.name, q.failureRate.hour, q.deadLetters])).toEqual([
      ['crm-contacts', 0, 0],
      ['email-welcome', 0, 0],
      ['crm-products', 0, 0],
      ['email-events', null, 0], // no jobs: no failure rate
    ]);
    expect(o.cells['email-welcome.perMinuteHour']).toBe('0.017');
  });
});
