import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { QUEUES, type WorkQueueName } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { basic } from './support/admin.ts';
import { emailTally, enrollEvent } from './support/faults.ts';
import { startTestService } from './support/receiver.ts';

// 30 dead letters made by the real workers against the emulators, from three causes: HubSpot
// rejecting addresses per record (207), a SendGrid 400, and HubSpot answering 503 until the attempts
// ran out. The console groups them by cause; a group is replayed or purged as one.
const OPERATOR = basic('ops', 'console-pw');
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

const ids = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}_${i}`);
const INVALID = ids('enroll_badmail'); // HubSpot: INVALID_EMAIL (TLD with a digit), each address different
const BOUNCED = ids('enroll_sg400'); // SendGrid answers 400 to their welcome emails
const OUTAGE = ids('enroll_hs503'); // HubSpot answers 503 to their contact writes, every attempt

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${t.base}/admin/api${path}`, {
    method,
    headers: { authorization: OPERATOR, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}
const groups = async (queue: WorkQueueName) =>
  (await api('GET', `/dlq/${queue}/groups`)).json.groups as {
    cause: string;
    count: number;
    category?: string;
    ids: string[];
    firstAt: string;
    lastAt: string;
  }[];

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
  t = await startTestService(
    {
      HUBSPOT_ACCESS_TOKEN: hubspot.token,
      HUBSPOT_BASE_URL: hubspot.url,
      SENDGRID_API_KEY: sendgrid.apiKey,
      SENDGRID_BASE_URL: sendgrid.url,
      JOB_ATTEMPTS: '2',
      JOB_BACKOFF_MS: '10',
      HUBSPOT_BATCH_WAIT_MS: '20',
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 'console-pw',
    },
    'all',
  );
  queues = openQueues(t.redis, t.config);
  const bounced = new Set(BOUNCED.map((id) => `${id}@example.com`));
  sendgrid.failWhen(400, (mail) => mail.personalizations.some((p) => bounced.has(p.to[0]!.email)));
  const post = async (id: string) => {
    const event = enrollEvent(id);
    if (INVALID.includes(id)) event.data.user.email = `${id}@school${id.slice(-1)}.c${id.slice(-1)}`;
    expect((await t.post(event)).status).toBe(202);
  };
  const deadLetters = async () =>
    (await queues.deadLetter[QUEUES.contacts].count()) + (await queues.deadLetter[QUEUES.email].count());
  for (const id of [...INVALID, ...BOUNCED]) await post(id);
  await vi.waitFor(async () => expect(await deadLetters()).toBe(20), { timeout: 60_000, interval: 100 });
  await vi.waitFor(
    async () =>
      expect(await queues.work[QUEUES.contacts].getJobCounts('waiting', 'active', 'delayed')).toMatchObject({
        waiting: 0,
        active: 0,
        delayed: 0,
      }),
    { timeout: 30_000 },
  );
  // Then HubSpot fails every contact write of the next ten (alone in their batches) until the attempts run out.
  await hubspot.injectFaults({ status: 503, count: Infinity, match: (r) => r.path.endsWith('/contacts/batch/upsert') });
  for (const id of OUTAGE) await post(id);
  await vi.waitFor(async () => expect(await deadLetters()).toBe(30), { timeout: 60_000, interval: 100 });
}, 90_000);
afterAll(async () => {
  await queues?.close();
  await t?.stop();
  await hubspot?.close();
  await sendgrid?.close();
});

describe('dead letters grouped by cause', () => {
  it('30 letters from 3 causes come back as exactly 3 groups with the right counts, categories and times', async () => {
    const contacts = await groups(QUEUES.contacts);
    const email = await groups(QUEUES.email);
    expect([...contacts, ...email].map((g) => g.count).sort()).toEqual([10, 10, 10]);
    const invalid = contacts.find((g) => g.category?.includes('INVALID_EMAIL'))!;
    expect(invalid.ids.sort()).toEqual(INVALID.map((id) => `enroll-${id}`).sort());
    expect(invalid.cause).not.toMatch(/@school/);
    expect(contacts.find((g) => g.category === 'SERVICE_UNAVAILABLE')!.ids.sort()).toEqual(
      OUTAGE.map((id) => `enroll-${id}`).sort(),
    );
    expect(email).toEqual([expect.objectContaining({ count: 10, category: 'SendGrid 400' })]);
    for (const g of [...contacts, ...email]) expect(Date.parse(g.firstAt)).toBeLessThanOrEqual(Date.parse(g.lastAt));
  });

  it('replaying one group puts back exactly its letters, with fresh attempts, and no student gets a second welcome email', async () => {
    hubspot.clearFaults();
    const outage = (await groups(QUEUES.contacts)).find((g) => g.category === 'SERVICE_UNAVAILABLE')!;
    const sentBefore = emailTally(sendgrid).perEnrollment;
    const res = await api('POST', `/dlq/${QUEUES.contacts}/replay`, { cause: outage.cause });
    expect(res.status).toBe(200);
    expect(res.json.replayed.sort()).toEqual(outage.ids.sort());
    expect(res.json.notReplayed).toEqual([]);
    // Only that group left; the other two are as they were.
    expect((await groups(QUEUES.contacts)).map((g) => g.count)).toEqual([10]);
    expect((await groups(QUEUES.email)).map((g) => g.count)).toEqual([10]);
    for (const id of outage.ids) {
      await expect
        .poll(async () => (await queues.work[QUEUES.contacts].getJob(id))?.getState(), { timeout: 20_000 })
        .toBe('completed');
      expect((await queues.work[QUEUES.contacts].getJob(id))!.attemptsMade).toBe(1);
    }
    for (const id of OUTAGE)
      expect([...hubspot.state.objects.contacts.values()].some((c) => c.properties.email === `${id}@example.com`)).toBe(
        true,
      );
    // Their welcome emails had gone out before; the replay did not send them again.
    const after = emailTally(sendgrid).perEnrollment;
    for (const id of OUTAGE) expect([sentBefore.get(id), after.get(id)]).toEqual([1, 1]);
    const again = await api('POST', `/dlq/${QUEUES.contacts}/replay`, { cause: outage.cause });
    expect(again.status).toBe(404);
  });

  it('purging a group removes exactly that group', async () => {
    const [invalid] = await groups(QUEUES.contacts);
    const res = await api('POST', `/dlq/${QUEUES.contacts}/purge`, { cause: invalid!.cause });
    expect(res.status).toBe(200);
    expect(res.json.purged.sort()).toEqual(invalid!.ids.sort());
    expect(await groups(QUEUES.contacts)).toEqual([]);
    expect((await groups(QUEUES.email)).map((g) => g.count)).toEqual([10]);
  });

  it('shows the groups on /admin/dead-letters with masked payloads; buttons for operators only', async () => {
    const asOperator = await (
      await fetch(`${t.base}/admin/dead-letters`, { headers: { authorization: OPERATOR } })
    ).text();
    expect(asOperator).toContain('SendGrid 400');
    expect(asOperator).toMatch(/<span data-count>10<\/span>/);
    expect(asOperator).toContain('data-api="/admin/api/dlq/email-welcome/replay"');
    expect(asOperator).not.toMatch(/enroll_sg400_\d@example\.com/);
    expect(asOperator).toMatch(/e\*\*\*@example\.com/);
    expect(asOperator).toContain('<script src="/admin/assets/actions.js"></script>');
  });
});
