import { afterEach, describe, expect, it } from 'vitest';
import type { HubSpotBehaviour } from '../src/emulators/hubspot/index.ts';
import { createHubSpotCall } from '../src/hubspot/call.ts';
import { upsertProducts } from '../src/hubspot/products-api.ts';
import { setupOnce } from '../src/hubspot/setup.ts';
import { QUEUES } from '../src/queues/names.ts';
import { recordKey, scanKeys } from '../src/redis/keys.ts';
import { contactsRig, enrollment, type ContactsRig } from './support/hubspot.ts';

// The crm-contacts worker against the emulator answering as HubSpot really does (its defaults):
// history reads of at most 50, 207 only for inputs with an objectWriteTraceId, the real 409 body,
// 423/477 with Retry-After.
let rig: ContactsRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const courses = (r: ContactsRig, email: string) =>
  r.em.state.values(r.em.state.contact(email), 'loopwise_enrolled_courses').sort();
const deadLetters = async (r: ContactsRig) => (await r.deps.deadLetters.list(QUEUES.contacts)).map((d) => d.data.jobId);
const states = (jobs: { getState(): Promise<string> }[]) => Promise.all(jobs.map((j) => j.getState()));
const student = (i: number) => `student${i}@example.com`;
/** Requests to a path, with what they asked and what they got. */
const calls = (r: ContactsRig, suffix: string) =>
  r.em.state.requestsTo(suffix).map((q) => ({ body: q.body as any, status: q.status, at: q.at }));

/** Forgets what course-sync knows of its contacts, as when the records expired: HubSpot holds the truth. */
async function dropContactRecords(r: ContactsRig): Promise<void> {
  const keys = await scanKeys(r.deps.redis, `${recordKey(r.config.redis.prefix, 'contact')}*`);
  if (keys.length) await r.deps.redis.del(...keys);
}

describe('students already in HubSpot, enrolled in a batch of more than 50', () => {
  it('keeps every earlier course of all 120, reading history at most 50 at a time', async () => {
    rig = await contactsRig({ HUBSPOT_BATCH_WAIT_MS: '200' });
    const ids = Array.from({ length: 120 }, (_, i) => i);
    const earlier = await rig.add(
      ...ids.map((i) => enrollment(`old${i}`, { email: student(i) }, { id: 'c_old', name: 'Old course' })),
    );
    await rig.startWorker();
    await rig.settled(earlier);
    await dropContactRecords(rig);
    rig.em.state.requests.length = 0;

    const done = await rig.settled(
      await rig.add(
        ...ids.map((i) => enrollment(`new${i}`, { email: student(i) }, { id: 'c_new', name: 'New course' })),
      ),
    );
    expect(await states(done)).toEqual(ids.map(() => 'completed'));
    for (const i of ids) expect(courses(rig, student(i))).toEqual(['c_new', 'c_old']);
    const historyReads = calls(rig, '/contacts/batch/read').filter((c) => c.body.propertiesWithHistory?.length);
    expect(historyReads.reduce((n, c) => n + c.body.inputs.length, 0)).toBe(120);
    expect(Math.max(...historyReads.map((c) => c.body.inputs.length))).toBeLessThanOrEqual(50);
    expect(rig.em.state.requests.filter((q) => q.status === 400)).toEqual([]);
    expect(await deadLetters(rig)).toEqual([]);
  });
});

describe.each<HubSpotBehaviour['multiStatus']>(['trace-id', 'always', 'never'])(
  'one bad record among 31, HubSpot answering multi-status as %s',
  (multiStatus) => {
    it('costs at most 4 upsert calls and only that record is dead-lettered', async () => {
      rig = await contactsRig({}, { behaviour: { multiStatus } });
      const jobs = await rig.add(
        ...Array.from({ length: 31 }, (_, i) =>
          enrollment(`b${i}`, { email: i === 17 ? 'broken@example.c0m' : student(i) }),
        ),
      );
      await rig.startWorker();
      await rig.settled(jobs);
      const upserts = calls(rig, '/contacts/batch/upsert');
      expect(upserts.length).toBeLessThanOrEqual(4);
      expect(upserts.every((u) => u.body.inputs.every((i: any) => typeof i.objectWriteTraceId === 'string'))).toBe(
        true,
      );
      for (let i = 0; i < 31; i++) if (i !== 17) expect(courses(rig, student(i))).toEqual(['course_789012']);
      expect(await deadLetters(rig)).toEqual(['enroll-b17']);
    });
  },
);

describe.each<HubSpotBehaviour['secondaryEmail']>(['conflict-409', 'conflict-207'])(
  'a secondary address inside a batch of 10, upsert answering %s',
  (secondaryEmail) => {
    it("lands on the contact that holds it in at most 8 upsert calls, from HubSpot's real body alone", async () => {
      rig = await contactsRig({}, { behaviour: { secondaryEmail } });
      await rig.startWorker();
      await rig.settled(await rig.add(enrollment('warm', { email: 'warm@example.com' }, { id: 'c_old', name: 'Old' })));
      await rig.hubspot.crm.contacts.batchApi.upsert({
        inputs: [{ id: 'ada@work.example', idProperty: 'email', properties: { loopwise_enrolled_courses: 'c_old' } }],
      });
      const holder = rig.em.state.contact('ada@work.example')!;
      rig.em.state.addSecondaryEmail(holder, 'ada@home.example');
      rig.em.state.requests.length = 0;

      const emails = Array.from({ length: 10 }, (_, i) => (i === 6 ? 'ada@home.example' : student(i)));
      const done = await rig.settled(
        await rig.add(...emails.map((email, i) => enrollment(`s${i}`, { email }, { id: 'c1', name: 'Course 1' }))),
      );
      expect(await states(done)).toEqual(emails.map(() => 'completed'));
      expect(done[6]!.returnvalue.contactId).toBe(holder.id);
      expect(rig.em.state.values(holder, 'loopwise_enrolled_courses').sort()).toEqual(['c1', 'c_old']);
      expect(rig.em.state.contact('ada@home.example')).toBeUndefined();
      expect(calls(rig, '/contacts/batch/upsert').length).toBeLessThanOrEqual(8);
      expect(await deadLetters(rig)).toEqual([]);
    });
  },
);

describe('answers that ask for a later retry', () => {
  it('423 Locked: retried after its Retry-After, the contact written, no dead letter', async () => {
    rig = await contactsRig({ JOB_BACKOFF_MS: '50' });
    await rig.em.injectFaults({
      status: 423,
      retryAfterSeconds: 1,
      count: 2,
      match: (q) => q.path.endsWith('/contacts/batch/upsert'),
    });
    const jobs = await rig.add(enrollment('l1', { email: 'locked@example.com' }));
    await rig.startWorker();
    const [done] = await rig.settled(jobs);
    expect(await done!.getState()).toBe('completed');
    expect(courses(rig, 'locked@example.com')).toEqual(['course_789012']);
    const upserts = calls(rig, '/contacts/batch/upsert');
    expect(upserts.map((u) => u.status)).toEqual([423, 423, 200]);
    // Each retry waited the second HubSpot asked for, not the 50 ms backoff.
    expect(upserts[1]!.at - upserts[0]!.at).toBeGreaterThanOrEqual(950);
    expect(await deadLetters(rig)).toEqual([]);
  });

  it('477 Migration in Progress: every HubSpot request waits its Retry-After, no attempt used, no dead letter', async () => {
    rig = await contactsRig({ JOB_ATTEMPTS: '1' });
    await rig.em.injectFaults({
      status: 477,
      retryAfterSeconds: 2,
      match: (q) => q.path.endsWith('/contacts/batch/upsert'),
    });
    const jobs = await rig.add(enrollment('m1', { email: 'moving@example.com' }));
    await rig.startWorker();
    const [done] = await rig.settled(jobs);
    // One attempt allowed, and it is the one that completed: the 477 used none.
    expect(await done!.getState()).toBe('completed');
    expect(done!.attemptsMade).toBe(1);
    const upserts = calls(rig, '/contacts/batch/upsert');
    expect(upserts.map((u) => u.status)).toEqual([477, 200]);
    expect(upserts[1]!.at - upserts[0]!.at).toBeGreaterThanOrEqual(1950);
    expect(await deadLetters(rig)).toEqual([]);
  });

  it.each([502, 503, 504])('%i: retried with backoff, the contact written, no dead letter', async (status) => {
    rig = await contactsRig({ JOB_BACKOFF_MS: '50' });
    await rig.em.injectFaults({ status, match: (q) => q.path.endsWith('/contacts/batch/upsert') });
    const jobs = await rig.add(enrollment('x1', { email: 'later@example.com' }));
    await rig.startWorker();
    const [done] = await rig.settled(jobs);
    expect(await done!.getState()).toBe('completed');
    expect(calls(rig, '/contacts/batch/upsert').map((u) => u.status)).toEqual([status, 200]);
    expect(await deadLetters(rig)).toEqual([]);
  });
});

describe.each<HubSpotBehaviour['multiStatus']>(['trace-id', 'never'])(
  'products with one refused plan, HubSpot answering multi-status as %s',
  (multiStatus) => {
    it('writes the other plans and names the refused one, one call with trace ids answered per record', async () => {
      rig = await contactsRig({}, { behaviour: { multiStatus } });
      const call = createHubSpotCall({});
      await setupOnce(rig.hubspot, call, ['products']).ensure();
      const inputs = ['p1', 'p2', 'p3', 'p4', 'p5'].map((id) => ({
        idProperty: 'loopwise_plan_id' as const,
        id,
        properties: { name: id, price: id === 'p4' ? 'twelve' : '12' },
      }));
      const out = await upsertProducts(rig.hubspot, call, inputs);
      expect(out.written.map((w) => w.planId).sort()).toEqual(['p1', 'p2', 'p3', 'p5']);
      expect(out.errors).toEqual([expect.objectContaining({ planIds: ['p4'], category: 'VALIDATION_ERROR' })]);
      expect(calls(rig, '/products/batch/upsert').length).toBeLessThanOrEqual(multiStatus === 'never' ? 5 : 1);
    });
  },
);
