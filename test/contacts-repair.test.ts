import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { createHubSpotCall } from '../src/hubspot/call.ts';
import { createHubSpotClient } from '../src/hubspot/client.ts';
import { ContactCourses } from '../src/hubspot/contact-courses.ts';
import type { ContactDraft } from '../src/hubspot/contact-mapping.ts';
import { syncContacts, type ContactSyncDeps } from '../src/hubspot/contacts-sync.ts';
import { CourseOptions } from '../src/hubspot/course-options.ts';
import { HubSpotCallError } from '../src/hubspot/errors.ts';
import { setupOnce } from '../src/hubspot/setup.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

// The contacts repair path: HubSpot names a missing property or option, for the whole batch (400)
// or per record (207); course-sync repairs once and writes again, or fails the batch as transient.
const MODES = ['batch-400', 'record-207'] as const;

let em: HubSpotEmulator | undefined;
let redis: Redis | undefined;
let prefix = '';
afterEach(async () => {
  await em?.close();
  if (redis) await dropPrefix(redis, prefix);
  await redis?.quit();
  em = redis = undefined;
});

async function rig(mode: (typeof MODES)[number]) {
  em = await startHubSpotEmulator({ requestsPer10s: undefined, behaviour: { invalidValues: mode } });
  redis = new Redis(redisUrl());
  prefix = testConfig().redis.prefix;
  const client = createHubSpotClient({ accessToken: em.token, baseUrl: em.url });
  const call = createHubSpotCall({});
  const deps: ContactSyncDeps = {
    client,
    call,
    setup: setupOnce(client, call, ['contacts']),
    options: new CourseOptions(client, call, redis, prefix),
    courses: new ContactCourses(redis, prefix),
  };
  return { em, deps };
}

const draft = (email: string, courseId: string): ContactDraft => ({
  email,
  properties: { email, firstname: 'Ada' },
  courses: new Map([[courseId, `Course ${courseId}`]]),
  last: { at: Date.parse('2024-01-01T00:00:00Z'), courseId, courseName: `Course ${courseId}` },
});

/** Statuses of the upserts the emulator answered since `from`. */
const upserts = (e: HubSpotEmulator, from = 0) =>
  e.state
    .requestsTo('/contacts/batch/upsert')
    .slice(from)
    .map((r) => r.status);
/** Requests after the first refused upsert: what the repair did. */
const afterRefusal = (e: HubSpotEmulator) => {
  const i = e.state.requests.findIndex((r) => r.path.endsWith('/contacts/batch/upsert') && r.status !== 200);
  return e.state.requests.slice(i + 1).map((r) => `${r.method} ${r.path}`);
};
const refusal = (mode: (typeof MODES)[number]) => (mode === 'batch-400' ? 400 : 207);

describe.each(MODES)('contacts repair, HubSpot reporting it as %s', (mode) => {
  it('re-runs the property set-up when a property was deleted, and writes the contact', async () => {
    const { em, deps } = await rig(mode);
    expect((await syncContacts(deps, [draft('first@example.com', 'c1')])).get('first@example.com')).toMatchObject({
      status: 'written',
    });
    em.state.properties.contacts.delete('loopwise_last_course_name'); // deleted by hand in HubSpot
    const from = em.state.requestsTo('/contacts/batch/upsert').length;

    const out = await syncContacts(deps, [draft('second@example.com', 'c1')]);
    expect(out.get('second@example.com')).toMatchObject({ status: 'written' });
    expect(upserts(em, from)).toEqual([refusal(mode), 200]);
    expect(afterRefusal(em)).toContain('POST /crm/v3/properties/contacts');
    expect(em.state.contact('second@example.com')!.properties.loopwise_last_course_name).toBe('Course c1');
  });

  it('re-reads the options when an option was deleted, adds it again and writes the contact', async () => {
    const { em, deps } = await rig(mode);
    await syncContacts(deps, [draft('first@example.com', 'c1')]);
    const prop = em.state.properties.contacts.get('loopwise_enrolled_courses')!;
    prop.options = prop.options.filter((o) => o.value !== 'c1'); // deleted by hand; CourseOptions still thinks it exists
    const from = em.state.requestsTo('/contacts/batch/upsert').length;

    const out = await syncContacts(deps, [draft('second@example.com', 'c1')]);
    expect(out.get('second@example.com')).toMatchObject({ status: 'written' });
    expect(upserts(em, from)).toEqual([refusal(mode), 200]);
    const steps = afterRefusal(em);
    const [read, patch] = ['GET', 'PATCH'].map((m) =>
      steps.indexOf(`${m} /crm/v3/properties/contacts/loopwise_enrolled_courses`),
    ) as [number, number];
    expect(read).toBeGreaterThanOrEqual(0);
    expect(patch).toBeGreaterThan(read);
    expect(prop.options.map((o) => o.value)).toEqual(['c1']);
    expect(em.state.values(em.state.contact('second@example.com'), 'loopwise_enrolled_courses')).toEqual(['c1']);
  });

  it('fails the batch as transient, not rejected, when the set-up did not bring the property back', async () => {
    const { em, deps } = await rig(mode);
    await syncContacts(deps, [draft('first@example.com', 'c1')]);
    em.state.properties.contacts.delete('loopwise_user_id');
    const stuck: ContactSyncDeps = { ...deps, setup: { ensure: async () => undefined, forget: () => undefined } };
    const from = em.state.requestsTo('/contacts/batch/upsert').length;

    const err = await syncContacts(stuck, [
      { ...draft('second@example.com', 'c1'), properties: { email: 'second@example.com', loopwise_user_id: 'u2' } },
    ]).catch((e) => e);
    expect(err).toBeInstanceOf(HubSpotCallError);
    expect(err.failure).toMatchObject({ kind: 'transient' });
    expect(err.message).toMatch(
      /still refuses the contacts after re-running the property set-up: .*PROPERTY_DOESNT_EXIST/,
    );
    expect(upserts(em, from)).toEqual([refusal(mode), refusal(mode)]);
  });

  it('fails the batch as transient, not rejected, when the option is still missing after re-reading the options', async () => {
    const { em, deps } = await rig(mode);
    await syncContacts(deps, [draft('first@example.com', 'c1')]);
    const prop = em.state.properties.contacts.get('loopwise_enrolled_courses')!;
    prop.options = [];
    // Options that believe every course is there and never add one.
    const stuck: ContactSyncDeps = { ...deps, options: { ensure: async () => undefined, has: () => true } };
    const from = em.state.requestsTo('/contacts/batch/upsert').length;

    const err = await syncContacts(stuck, [draft('second@example.com', 'c1')]).catch((e) => e);
    expect(err.failure).toMatchObject({ kind: 'transient' });
    expect(err.message).toMatch(/after re-reading the course options: .*INVALID_OPTION/);
    expect(upserts(em, from)).toEqual([refusal(mode), refusal(mode)]);
    expect(em.state.contact('second@example.com')).toBeUndefined();
  });
});
