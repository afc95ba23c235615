import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditTrail } from '../src/audit/trail.ts';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import type { DeadLetter } from '../src/queues/dead-letter.ts';
import { QUEUES } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { recordKey } from '../src/redis/keys.ts';
import { generateEventKeyPair } from '../src/sendgrid-signature.ts';
import { EmailEventLog } from '../src/sendgrid/email-status.ts';
import { basic } from './support/admin.ts';
import { runCli } from './support/cli.ts';
import { redisUrl } from './support/env.ts';
import { enrollEvent } from './support/faults.ts';
import { startTestService } from './support/receiver.ts';
import { keysHolding } from './support/redis-scan.ts';
import { postEvents, sgEvent } from './support/sendgrid-events.ts';

// Forget, suppress and export, through the admin API of a whole service (real workers, real client
// libraries, both emulators). The service has a Redis database of its own, so "every key in Redis"
// is every key of that database, whatever prefix.
const PASSWORD = 'privacy-test-password';
const auth = { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' };
const keys = generateEventKeyPair();
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

/** A student of their own: a name, an address in mixed case, a phone number with spaces. */
function student(tag: string) {
  return {
    user: {
      id: `user-${tag}`,
      name: `${tag} Forgetmenot`,
      email: `${tag}.Forget@Example.com`,
      phone_number: `+886 912 ${tag.length}45 678`,
    },
    email: `${tag.toLowerCase()}.forget@example.com`,
    phoneDigits: `912${tag.length}45678`,
    name: `${tag} Forgetmenot`,
  };
}

function enrollmentOf(s: ReturnType<typeof student>, id: string) {
  const body = enrollEvent(id);
  body.data.user = { ...s.user };
  return body;
}

async function api(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${t.base}/admin/api${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function journeys(q: string): Promise<any[]> {
  const res = await fetch(`${t.base}/admin/api/events?q=${encodeURIComponent(q)}`, { headers: auth });
  return (await res.json()).journeys;
}

/** Waits until both jobs of an enrollment are done. */
async function settled(enrollmentId: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const [j] = await journeys(enrollmentId);
      expect(j?.now.map((p: any) => p.state)).toEqual(['done', 'done']);
    },
    { timeout: 25_000 },
  );
}

const contactOf = (email: string) =>
  [...hubspot.state.objects.contacts.values()].find((c) => c.properties.email === email);

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
  t = await startTestService(
    {
      REDIS_URL: `${redisUrl()}/7`,
      HUBSPOT_ACCESS_TOKEN: hubspot.token,
      HUBSPOT_BASE_URL: hubspot.url,
      SENDGRID_API_KEY: sendgrid.apiKey,
      SENDGRID_BASE_URL: sendgrid.url,
      SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
      SENDGRID_WEBHOOK_MAX_AGE_SECONDS: '600',
      HUBSPOT_BATCH_WAIT_MS: '20',
      DASHBOARD_PASSWORD: PASSWORD,
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

describe('forget', () => {
  const ada = student('Ada');
  const bob = student('Bob');

  beforeAll(async () => {
    // Ada: a completed enrollment with its welcome email delivered; Bob the same, in the same event batch.
    expect((await t.post(enrollmentOf(ada, 'ada-1'))).status).toBe(202);
    expect((await t.post(enrollmentOf(bob, 'bob-1'))).status).toBe(202);
    await settled('ada-1');
    await settled('bob-1');
    const sent = (id: string) => sendgrid.outbox.all().find((m) => m.customArgs.enrollment_id === id)!.messageId;
    const batch = [
      sgEvent('delivered', 'ada-1', sent('ada-1'), { email: ada.user.email }),
      sgEvent('delivered', 'bob-1', sent('bob-1'), { email: bob.user.email }),
    ];
    expect((await postEvents(t.base, keys.privateKey, batch)).status).toBe(200);
    const statuses = new EmailEventLog(t.redis, t.config.redis.prefix, 60);
    await vi.waitFor(
      async () =>
        expect((await statuses.read(['ada-1', 'bob-1'])).map((s) => s.status)).toEqual(['delivered', 'delivered']),
      { timeout: 15_000 },
    );
    // The statuses go on to HubSpot in a contacts job of their own; once it is done its copy of the
    // address is masked. Wait for that, so the records below stay what they are while the tests look.
    await vi.waitFor(
      async () => {
        expect(await queues.work[QUEUES.contacts].getJobCounts('wait', 'active', 'delayed', 'prioritized')).toEqual({
          wait: 0,
          active: 0,
          delayed: 0,
          prioritized: 0,
        });
        const jobsNamingAda = (await keysHolding(t.redis, [ada.email])).filter((k) =>
          k.key.startsWith(`${t.config.redis.prefix}:${QUEUES.contacts}:`),
        );
        expect(jobsNamingAda).toEqual([]);
      },
      { timeout: 15_000 },
    );

    // A second enrollment of Ada's that HubSpot refused for good: in the contacts dead-letter queue.
    const failed = enrollmentOf(ada, 'ada-2');
    const data = {
      key: 'enroll-ada-2',
      eventType: 'course.student_enroll',
      receivedAt: new Date().toISOString(),
      correlationId: 'corr-ada-2',
      enrollment: failed.data,
    };
    const error = `HubSpot 400 VALIDATION_ERROR: Property values were not valid: ${ada.user.email} (${ada.user.phone_number})`;
    const letter: DeadLetter = {
      queue: QUEUES.contacts,
      jobId: data.key,
      name: 'course.student_enroll',
      data,
      attemptsMade: 1,
      errors: [{ attempt: 1, message: error, at: new Date().toISOString() }],
      deadAt: new Date().toISOString(),
      unrecoverable: true,
    };
    await queues.deadLetter[QUEUES.contacts].add('course.student_enroll', letter, { jobId: data.key });
    await t.redis.rpush(
      recordKey(t.config.redis.prefix, 'attempts', QUEUES.contacts, data.key),
      JSON.stringify({ attempt: 1, message: error }),
    );

    // And a delivery of hers the receiver refused (no course id): quarantined with its own trace.
    const invalid = enrollmentOf(ada, 'ada-3');
    delete invalid.data.course.id;
    expect((await t.post(invalid)).status).toBe(422);
    await vi.waitFor(async () => expect(await journeys('ada-3')).toHaveLength(1));

    expect(await keysHolding(t.redis, [ada.email, ada.name], [ada.phoneDigits])).not.toEqual([]);
  }, 90_000);

  it('lists on a dry run what it would remove, and removes nothing', async () => {
    const before = await keysHolding(t.redis, [ada.email, ada.name], [ada.phoneDigits]);
    const { status, json } = await api('/privacy/forget', { student: ada.user.email, dryRun: true });
    expect(status).toBe(200);
    expect(json).toMatchObject({ dryRun: true, addresses: 1, enrollments: 3 });
    expect(Object.keys(json.removed)).toEqual(
      expect.arrayContaining([
        'jobs',
        'dead letters',
        'quarantined deliveries',
        'traces',
        'welcome email records',
        'contact course records',
        'attempt logs',
        'SendGrid event batches',
      ]),
    );
    expect(JSON.stringify(json)).not.toMatch(/ada\.forget@/i);
    expect(await keysHolding(t.redis, [ada.email, ada.name], [ada.phoneDigits])).toEqual(before);
  });

  it('removes every copy of the student from Redis and their HubSpot contact; the other student is untouched', async () => {
    const bobBefore = await keysHolding(t.redis, [bob.email]);
    expect(contactOf(ada.email)).toBeDefined();

    const { status, json } = await api('/privacy/forget', { student: 'ADA.FORGET@example.com', hubspot: true });
    expect(status).toBe(200);
    expect(json).toMatchObject({ dryRun: false, remaining: 0, hubspot: { deleted: 1, 'not found': 0 } });
    expect(json.total).toBeGreaterThanOrEqual(10);

    // Not her address (any case), not her phone number (any format), not her name: nowhere.
    expect(await keysHolding(t.redis, [ada.email, ada.name], [ada.phoneDigits])).toEqual([]);
    expect(hubspot.state.gdprDeleted).toEqual([ada.email]);
    expect(contactOf(ada.email)).toBeUndefined();
    expect(await journeys(ada.email)).toEqual([]);
    expect(await journeys('ada-1')).toEqual([]);

    // Bob: every record still there, still traceable, his event still in the batch they shared.
    expect(await keysHolding(t.redis, [bob.email])).toEqual(bobBefore);
    const [j] = await journeys(bob.email);
    expect(j.now.map((p: any) => p.state)).toEqual(['done', 'done']);
    expect(contactOf(bob.email)).toBeDefined();
    const [batch] = await queues.work[QUEUES.emailEvents].getJobs(['completed']);
    expect(batch!.data.events.map((e: any) => e.enrollment_id ?? e.enrollmentId)).toEqual(['bob-1']);

    // The audit trail says who, what kinds and how many; never the address.
    const [entry] = await new AuditTrail(t.redis, t.config.redis.prefix).list(1);
    expect(entry).toMatchObject({ who: 'admin', via: 'admin-api', action: 'forget student', count: json.total });
    expect(entry!.detail).toMatch(/traces \d+.*HubSpot contacts deleted 1/);
    expect(JSON.stringify(entry)).not.toMatch(/forget@/i);
  });

  it('removes nothing more when run again', async () => {
    const { json } = await api('/privacy/forget', { student: ada.email });
    expect(json).toMatchObject({ total: 0, remaining: 0, removed: {} });
  });
});

describe('forget --suppress', () => {
  const sue = student('Sue');

  it('keeps a later enrollment of the address from HubSpot and SendGrid until the suppression is lifted', async () => {
    expect((await t.post(enrollmentOf(sue, 'sue-1'))).status).toBe(202);
    await settled('sue-1');
    expect((await api('/privacy/forget', { student: sue.email, suppress: true })).json).toMatchObject({
      suppressed: 1,
      remaining: 0,
    });
    const hubspotWrites = () =>
      hubspot.state.requests.filter(
        (r) =>
          r.method === 'POST' &&
          JSON.stringify(r.body ?? '')
            .toLowerCase()
            .includes(sue.email),
      ).length;
    const writesBefore = hubspotWrites();
    const mailsBefore = sendgrid.outbox.to(sue.user.email).length;

    expect((await t.post(enrollmentOf(sue, 'sue-2'))).status).toBe(202);
    await settled('sue-2');
    const [j] = await journeys('sue-2');
    const skipped = j.steps.filter((s: any) => s.kind === 'skipped').map((s: any) => [s.queue, s.reason]);
    expect(skipped).toEqual(
      expect.arrayContaining([
        ['crm-contacts', 'suppressed'],
        ['email-welcome', 'suppressed'],
      ]),
    );
    expect(hubspotWrites()).toBe(writesBefore);
    expect(sendgrid.outbox.to(sue.user.email).length).toBe(mailsBefore);
    const metrics = await (await fetch(`${t.base}/metrics`)).text();
    expect(metrics).toMatch(/^course_sync_suppressed_total\{queue="crm-contacts"\} 1$/m);
    expect(metrics).toMatch(/^course_sync_suppressed_total\{queue="email-welcome"\} 1$/m);
    expect(await keysHolding(t.redis, [sue.email, sue.name], [sue.phoneDigits])).toEqual([]);

    expect((await api('/privacy/unsuppress', { email: sue.user.email })).json).toMatchObject({ unsuppressed: true });
    expect((await t.post(enrollmentOf(sue, 'sue-3'))).status).toBe(202);
    await settled('sue-3');
    expect(sendgrid.outbox.to(sue.user.email).length).toBe(mailsBefore + 1);
    expect(contactOf(sue.email)).toBeDefined();
  }, 60_000);
});

describe('export', () => {
  const eve = student('Eve');

  it('returns the contact fields, enrollments, trace steps and welcome email status of a student', async () => {
    expect((await t.post(enrollmentOf(eve, 'eve-1'))).status).toBe(202);
    await settled('eve-1');
    const messageId = sendgrid.outbox.all().find((m) => m.customArgs.enrollment_id === 'eve-1')!.messageId;
    expect(
      (await postEvents(t.base, keys.privateKey, [sgEvent('delivered', 'eve-1', messageId, { email: eve.user.email })]))
        .status,
    ).toBe(200);
    const statuses = new EmailEventLog(t.redis, t.config.redis.prefix, 60);
    await vi.waitFor(async () => expect((await statuses.read(['eve-1']))[0]!.status).toBe('delivered'), {
      timeout: 15_000,
    });

    // Done jobs keep the student's name, address and phone only masked: the export shows what is held.
    // The workers mask a job's data on its `completed` event, just after the trace says done.
    const exported = async () => {
      const { status, json } = await api('/privacy/export', { student: eve.user.email });
      expect(status).toBe(200);
      expect(json.student).toMatchObject({
        emails: [eve.email],
        userIds: ['user-Eve'],
        names: ['E*** F***'],
        phones: ['+88* *** *** *78'],
      });
      return json;
    };
    const json = await vi.waitFor(exported, { timeout: 10_000, interval: 100 });
    expect(json.student.enrollments.map((e: any) => e.id)).toEqual(['eve-1']);
    expect(json.welcomeEmails).toEqual([expect.objectContaining({ enrollmentId: 'eve-1', status: 'delivered' })]);
    const [trace] = json.traces;
    expect(trace.header.enrollmentId).toBe('eve-1');
    expect(trace.steps.map((s: any) => `${s.queue ?? ''}:${s.kind}`)).toEqual(
      expect.arrayContaining(['crm-contacts:completed', 'email-welcome:completed']),
    );
    expect(json.suppressed).toBe(false);
    // Read only: everything is still there (the records named by her enrollment; none holds her address in clear once her jobs are done).
    const records = async () =>
      (await keysHolding(t.redis, ['eve-1']))
        .map((h) => h.key)
        .filter((k) => k.includes(':cs:'))
        .sort();
    const held = await records();
    expect(held.filter((k) => /:cs:(trace|calls):enroll-eve-1$|:cs:sent:eve-1$/.test(k)).length).toBe(3);
    expect((await api('/privacy/export', { student: eve.user.email })).status).toBe(200);
    expect(await records()).toEqual(held);
  }, 60_000);

  it('includes an enrollment whose jobs have not run yet: its trace as search shows it, from the pending record', async () => {
    const fay = student('Fay');
    const paused = [queues.work[QUEUES.contacts], queues.work[QUEUES.email]];
    await Promise.all(paused.map((q) => q.pause()));
    try {
      expect((await t.post(enrollmentOf(fay, 'fay-1'))).status).toBe(202);
      const { status, json } = await api('/privacy/export', { student: fay.user.email });
      expect(status).toBe(200);
      expect(json.student.enrollments.map((e: any) => e.id)).toEqual(['fay-1']);
      expect(json.traces.map((tr: any) => [tr.key, tr.header?.enrollmentId, tr.header?.studentEmail])).toEqual([
        ['enroll-fay-1', 'fay-1', 'f***@example.com'],
      ]);
    } finally {
      await Promise.all(paused.map((q) => q.resume()));
    }
    await settled('fay-1');
  }, 60_000);

  it('refuses a request that names nobody', async () => {
    expect((await api('/privacy/export', { student: '' })).status).toBe(400);
    expect((await api('/privacy/forget', { student: 'not an address@' })).status).toBe(400);
  });
});

describe('the forget and export commands', () => {
  const cy = student('Cy');
  const cli = (args: string[], opts = {}) =>
    runCli(
      args,
      {
        REDIS_URL: t.service.redisUrl,
        QUEUE_PREFIX: t.config.redis.prefix,
        HUBSPOT_ACCESS_TOKEN: hubspot.token,
        HUBSPOT_BASE_URL: hubspot.url,
        SENDGRID_API_KEY: sendgrid.apiKey,
      },
      opts,
    );

  it('asks before removing, removes with --yes, exports what is held, and records who did it', async () => {
    expect((await t.post(enrollmentOf(cy, 'cy-1'))).status).toBe(202);
    await settled('cy-1');

    const exported = await cli(['export', 'cy-1']);
    expect(exported.code).toBe(0);
    const doc = JSON.parse(exported.stdout);
    expect(doc.student.enrollments.map((e: any) => e.id)).toEqual(['cy-1']);
    expect(doc.traces.map((tr: any) => tr.header.key)).toEqual(['enroll-cy-1']);

    const dry = await cli(['forget', cy.user.email, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^would remove\s+1\ttraces$/m);
    expect(dry.stdout).not.toMatch(/cy\.forget@/i);

    // Not a terminal and no --yes: refused. A terminal answering no: nothing removed.
    expect(await cli(['forget', cy.user.email])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('add --yes'),
    });
    expect(await cli(['forget', cy.user.email], { ttyInput: true, input: 'n\n' })).toMatchObject({
      code: 0,
      stderr: expect.stringContaining('nothing removed'),
    });
    expect(await journeys('cy-1')).toHaveLength(1);

    const done = await cli(['forget', cy.user.email, '--hubspot', '--yes']);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^removed\s+1\ttraces$/m);
    expect(done.stdout).toMatch(/^HubSpot\tc\*\*\*@example\.com: HubSpot contact \d+ deleted$/m);
    expect(done.stdout).toMatch(/checked: nothing left in Redis names the student/);
    expect(await keysHolding(t.redis, [cy.email, cy.name], [cy.phoneDigits])).toEqual([]);
    expect(hubspot.state.gdprDeleted).toContain(cy.email);
    expect(await cli(['export', cy.user.email])).toMatchObject({ code: 1 });
    expect((await cli(['trace', cy.user.email])).code).toBe(1);

    const entries = await new AuditTrail(t.redis, t.config.redis.prefix).list(5);
    const entry = entries.find((e) => e.action === 'forget student');
    expect(entry).toMatchObject({
      via: 'cli',
      who: expect.stringMatching(/^.+@.+$/),
      detail: expect.stringContaining('HubSpot contacts deleted 1'),
    });
    expect(entries[0]).toMatchObject({ action: 'export student', via: 'cli', count: 0 });
    expect(JSON.stringify(entry)).not.toMatch(/forget@/i);
  }, 60_000);

  // HubSpot answers a GDPR delete 204 whether it deleted a contact or only blocklisted an address no
  // contact has: forget looks the contact up first, and a lookup that finds none is answered 404 or an
  // empty 207 (the emulator's allMissingRead). Both are told apart under either.
  describe.each(['404', '207'] as const)('--hubspot when a batch read of missing contacts answers %s', (mode) => {
    const dee = student(`Dee${mode}`);
    const nobody = `nobody-${mode}@example.com`;
    const requestsAfter = (n: number) => hubspot.state.requests.slice(n).map((r) => `${r.method} ${r.path}`);

    beforeAll(() => hubspot.setBehaviour({ allMissingRead: mode }));
    afterAll(() => hubspot.setBehaviour({ allMissingRead: '404' }));

    it('reports the contact it deleted, by its id', async () => {
      expect((await t.post(enrollmentOf(dee, `dee-${mode}`))).status).toBe(202);
      await settled(`dee-${mode}`);
      const contactId = contactOf(dee.email)!.id;
      const done = await cli(['forget', dee.email, '--hubspot', '--yes']);
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(
        new RegExp(`^HubSpot\\td\\*\\*\\*@example\\.com: HubSpot contact ${contactId} deleted$`, 'm'),
      );
      expect(done.stdout).not.toMatch(/blocklisted/);
      expect(hubspot.state.gdprDeleted).toContain(dee.email);
      expect(hubspot.state.blocklist.has(dee.email)).toBe(false);
      const entry = (await new AuditTrail(t.redis, t.config.redis.prefix).list(1))[0];
      expect(entry!.detail).toContain(
        `HubSpot contacts deleted 1 (${contactId}), addresses without a contact blocklisted by HubSpot 0`,
      );
    }, 60_000);

    it('says when there was no contact, and that HubSpot blocklisted the address', async () => {
      const seen = hubspot.state.requests.length;
      const deleted = hubspot.state.gdprDeleted.length;
      const done = await cli(['forget', nobody, '--hubspot', '--yes']);
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(
        /^HubSpot\tn\*\*\*@example\.com: no HubSpot contact; HubSpot blocklisted the address$/m,
      );
      expect(done.stdout).not.toMatch(/HubSpot contact \d+ deleted/);
      expect(done.stdout).not.toContain(nobody);
      // Looked up first, then deleted; HubSpot deleted nothing and blocklisted the address.
      expect(requestsAfter(seen)).toEqual([
        'POST /crm/v3/objects/contacts/batch/read',
        'POST /crm/v3/objects/contacts/gdpr-delete',
      ]);
      expect(hubspot.state.requests.at(-2)!.status).toBe(mode === '404' ? 404 : 207);
      expect(hubspot.state.gdprDeleted).toHaveLength(deleted);
      expect(hubspot.state.blocklist.has(nobody)).toBe(true);
      const entry = (await new AuditTrail(t.redis, t.config.redis.prefix).list(1))[0];
      expect(entry!.detail).toContain(
        'HubSpot contacts deleted 0, addresses without a contact blocklisted by HubSpot 1',
      );
      expect(JSON.stringify(entry)).not.toContain(nobody);
    });
  });

  it('refuses --unsuppress of something that is not an address, and --hubspot without a token', async () => {
    expect((await cli(['forget', '--unsuppress', 'cy-1'])).code).toBe(2);
    const noToken = await runCli(['forget', 'x@example.com', '--hubspot', '--yes'], {
      REDIS_URL: t.service.redisUrl,
      QUEUE_PREFIX: t.config.redis.prefix,
    });
    expect(noToken).toMatchObject({ code: 2, stderr: expect.stringContaining('HUBSPOT_ACCESS_TOKEN') });
  });
});
