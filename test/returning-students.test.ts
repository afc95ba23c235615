import { afterEach, describe, expect, it } from 'vitest';
import { contactRecordDigest } from '../src/hubspot/contact-courses.ts';
import { recordKey } from '../src/redis/keys.ts';
import { contactsRig, enrollment, type ContactsRig } from './support/hubspot.ts';
import { ageKeys, DAY_MS } from './support/redis-clock.ts';

// The per-student course record is a cache of HubSpot (CONTACT_RECORD_TTL_DAYS, 30 by default): a
// student back after it expired is re-seeded from the property history, and records written by an
// earlier version (a `seeded` mark, the contact's owner in a key of its own) are read on.
let rig: ContactsRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const student = (i: number) => `returning${i}@example.com`;
const ids = Array.from({ length: 50 }, (_, i) => i);
const coursesOf = (r: ContactsRig, email: string) =>
  r.em.state.values(r.em.state.contact(email), 'loopwise_enrolled_courses').sort();
const recordOf = (r: ContactsRig, email: string) =>
  recordKey(r.config.redis.prefix, 'contact', contactRecordDigest(email));
const ownerKey = (r: ContactsRig, contactId: string) => recordKey(r.config.redis.prefix, 'contact-owner', contactId);

/** HubSpot's contact requests since request number `from`: upserts, reads with property history, and any other (a worker's property set-up left out). */
function requestsSince(r: ContactsRig, from: number) {
  const sent = r.em.state.requests.slice(from);
  const upserts = sent.filter((q) => q.path.endsWith('/contacts/batch/upsert')).length;
  const historyReads = sent.filter(
    (q) =>
      q.path.endsWith('/contacts/batch/read') &&
      (q.body as { propertiesWithHistory?: string[] }).propertiesWithHistory?.length,
  ).length;
  // Set-up reads a worker makes once, whoever enrolls: its properties, and whether the portal has
  // the Courses object (HUBSPOT_COURSES_OBJECT=auto).
  const setUp = (path: string) => path.includes('/properties/') || path.includes('/object-library/');
  const other = sent.filter((q) => !setUp(q.path)).length - upserts - historyReads;
  return { upserts, historyReads, other };
}

/** Enrolls each of the 50 students in `course`, all in one batch (a worker started for it), and waits for every job. */
async function enrollAll(r: ContactsRig, tag: string, course: string): Promise<void> {
  const jobs = await r.add(
    ...ids.map((i) => enrollment(`${tag}${i}`, { email: student(i) }, { id: course, name: `Course ${course}` })),
  );
  const worker = await r.startWorker();
  const done = await r.settled(jobs);
  await worker.close();
  expect(await Promise.all(done.map((j) => j.getState()))).toEqual(ids.map(() => 'completed'));
}

describe('a returning student', () => {
  it('whose record expired keeps every course in HubSpot: re-seeded from its history, one read and one more upsert per 50', async () => {
    rig = await contactsRig({ HUBSPOT_BATCH_WAIT_MS: '200' });
    await enrollAll(rig, 'first', 'c_first');
    const ttl = await rig.deps.redis.ttl(recordOf(rig, student(0)));
    expect(ttl).toBeGreaterThan(30 * 86_400 - 60);
    expect(ttl).toBeLessThanOrEqual(30 * 86_400);

    // 31 days on, as Redis sees it: the records are gone; HubSpot still holds the contacts.
    const { expired } = await ageKeys(rig.deps.redis, rig.config.redis.prefix, 31 * DAY_MS);
    expect(expired).toEqual(expect.arrayContaining(ids.map((i) => recordOf(rig!, student(i)))));
    const from = rig.em.state.requests.length;
    await enrollAll(rig, 'back', 'c_back');

    for (const i of ids) expect(coursesOf(rig, student(i))).toEqual(['c_back', 'c_first']);
    expect(requestsSince(rig, from)).toEqual({ upserts: 2, historyReads: 1, other: 0 });
  });

  it('whose record still lives costs one upsert per batch and no read', async () => {
    rig = await contactsRig({ HUBSPOT_BATCH_WAIT_MS: '200' });
    await enrollAll(rig, 'first', 'c_first');
    await ageKeys(rig.deps.redis, rig.config.redis.prefix, 29 * DAY_MS);
    const from = rig.em.state.requests.length;
    await enrollAll(rig, 'back', 'c_back');

    for (const i of ids) expect(coursesOf(rig, student(i))).toEqual(['c_back', 'c_first']);
    expect(requestsSince(rig, from)).toEqual({ upserts: 1, historyReads: 0, other: 0 });
  });
});

describe('records written by the earlier version', () => {
  it("a seeded record and its contact's owner key: read on without asking HubSpot, the owner moved into the record", async () => {
    rig = await contactsRig();
    await rig.startWorker();
    const [first] = await rig.settled(
      await rig.add(enrollment('old1', { email: 'old@example.com' }, { id: 'c1', name: 'One' })),
    );
    const { contactId } = first!.returnvalue as { contactId: string };
    // As the earlier version left them: `seeded` instead of the contact id, the owner in its own key.
    await rig.deps.redis
      .multi()
      .hdel(recordOf(rig, 'old@example.com'), 'id')
      .hset(recordOf(rig, 'old@example.com'), 'seeded', '1')
      .set(ownerKey(rig, contactId), 'old@example.com', 'EX', 180 * 86_400)
      .exec();
    const from = rig.em.state.requests.length;

    await rig.settled(await rig.add(enrollment('old2', { email: 'old@example.com' }, { id: 'c2', name: 'Two' })));
    expect(coursesOf(rig, 'old@example.com')).toEqual(['c1', 'c2']);
    expect(requestsSince(rig, from)).toEqual({ upserts: 1, historyReads: 0, other: 0 });
    expect(await rig.deps.redis.hgetall(recordOf(rig, 'old@example.com'))).toMatchObject({
      id: contactId,
      'c:c1': '1',
      'c:c2': '1',
    });
    expect(await rig.deps.redis.hexists(recordOf(rig, 'old@example.com'), 'seeded')).toBe(0);
    expect(await rig.deps.redis.exists(ownerKey(rig, contactId))).toBe(0);
  });

  it("an owner key naming another address of the contact folds that address's courses in", async () => {
    rig = await contactsRig();
    await rig.startWorker();
    const [done] = await rig.settled(
      await rig.add(enrollment('p1', { email: 'primary@example.com' }, { id: 'c1', name: 'One' })),
    );
    const { contactId } = done!.returnvalue as { contactId: string };
    // The earlier version wrote this contact under another address, whose record holds another course.
    await rig.deps.redis
      .multi()
      .hset(recordOf(rig, 'other@example.com'), 'seeded', '1', 'c:c_other', '1')
      .set(ownerKey(rig, contactId), 'other@example.com')
      .exec();
    rig.em.state.properties.contacts
      .get('loopwise_enrolled_courses')!
      .options.push({ label: 'Other', value: 'c_other', displayOrder: 9, hidden: false });

    await rig.settled(await rig.add(enrollment('p2', { email: 'primary@example.com' }, { id: 'c2', name: 'Two' })));
    expect(coursesOf(rig, 'primary@example.com')).toEqual(['c1', 'c2', 'c_other']);
    expect(await rig.deps.redis.exists(recordOf(rig, 'other@example.com'), ownerKey(rig, contactId))).toBe(0);
    expect(
      await rig.deps.redis.get(
        recordKey(rig.config.redis.prefix, 'contact-alias', contactRecordDigest('other@example.com')),
      ),
    ).toBe('primary@example.com');
  });
});
