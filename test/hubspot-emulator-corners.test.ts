import { Client } from '@hubspot/api-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BEHAVIOUR, startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';

// What the emulator answers where HubSpot's documentation is silent, through the real client.
let em: HubSpotEmulator;
let hs: Client;

async function failure(p: Promise<unknown>): Promise<{ code: number; body: any; headers: Record<string, string> }> {
  try {
    await p;
  } catch (err) {
    return err as any;
  }
  throw new Error('expected the call to fail');
}

/** A batch upsert as course-sync sends it: each input with a unique objectWriteTraceId. */
const upsert = (inputs: { id: string; properties?: Record<string, string> }[]) =>
  hs.crm.contacts.batchApi.upsertWithHttpInfo({
    inputs: inputs.map((i, n) => ({ idProperty: 'email', properties: {}, objectWriteTraceId: `t${n}`, ...i })),
  });

beforeAll(async () => {
  em = await startHubSpotEmulator({ requestsPer10s: undefined });
  hs = new Client({ accessToken: em.token, basePath: em.url });
  await hs.crm.properties.groupsApi.create('contacts', { name: 'loopwise', label: 'Loopwise' });
  await hs.crm.properties.coreApi.create('contacts', {
    name: 'loopwise_enrolled_courses',
    label: 'Enrolled',
    groupName: 'loopwise',
    type: 'enumeration' as any,
    fieldType: 'checkbox' as any,
    options: [{ label: 'Intro', value: 'c1', hidden: false, displayOrder: 0 }],
  });
});
afterEach(() => em.setBehaviour(DEFAULT_BEHAVIOUR));
afterAll(() => em.close());

describe("what HubSpot's spec says", () => {
  it('sends a Location header with a 201 create of a property or group', async () => {
    const group = await hs.crm.properties.groupsApi.createWithHttpInfo('contacts', { name: 'extra', label: 'Extra' });
    expect(group.httpStatusCode).toBe(201);
    expect(group.headers.location).toBe(`${em.url}/crm/v3/properties/contacts/groups/extra`);
    const prop = await hs.crm.properties.coreApi.createWithHttpInfo('contacts', {
      name: 'x_note',
      label: 'Note',
      groupName: 'extra',
      type: 'string' as any,
      fieldType: 'text' as any,
    });
    expect(prop.headers.location).toBe(`${em.url}/crm/v3/properties/contacts/x_note`);
  });

  it("gives each 207 error every field of HubSpot's StandardError", async () => {
    const res = await upsert([{ id: 'fine@example.com' }, { id: 'bad@example.c0m' }]);
    expect(res.httpStatusCode).toBe(207);
    const [e] = (res.data as any).errors;
    expect(Object.keys(e).sort()).toEqual(['category', 'context', 'errors', 'links', 'message', 'status']);
    // The client names ErrorDetail's `in` `_in`.
    expect(e.errors).toEqual([expect.objectContaining({ code: 'INVALID_EMAIL', _in: 'email' })]);
  });

  it('refuses to write hs_additional_emails, which HubSpot keeps read-only', async () => {
    const res = await upsert([{ id: 'ro@example.com', properties: { hs_additional_emails: 'other@example.com' } }]);
    expect(res.httpStatusCode).toBe(207);
    expect((res.data as any).errors[0].message).toContain('READ_ONLY_VALUE');
  });
});

describe('a batch read in which no id exists', () => {
  const read = () =>
    hs.crm.contacts.batchApi.readWithHttpInfo({
      idProperty: 'email',
      inputs: [{ id: 'nobody@example.com' }],
      properties: ['email'],
      propertiesWithHistory: [],
    });

  it('answers 404 OBJECT_NOT_FOUND by default; the client throws it', async () => {
    const e = await failure(read());
    expect(e.code).toBe(404);
    expect(e.body).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: ['nobody@example.com'] } });
  });

  it('answers 207 with no results when switched to', async () => {
    em.setBehaviour({ allMissingRead: '207' });
    const res = await read();
    expect([res.httpStatusCode, res.data.results]).toEqual([207, []]);
  });
});

describe('unknown properties and options, per record', () => {
  it('reports each record in a 207 and writes the others', async () => {
    em.setBehaviour({ invalidValues: 'record-207' });
    const res = await upsert([
      { id: 'opt@example.com', properties: { loopwise_enrolled_courses: 'c1;c9' } },
      { id: 'prop@example.com', properties: { shoe_size: '42' } },
      { id: 'ok@example.com', properties: { loopwise_enrolled_courses: 'c1' } },
    ]);
    expect(res.httpStatusCode).toBe(207);
    const errors = (res.data as any).errors.map((e: any) => [e.category, e.context.ids[0], e.errors[0].code]);
    expect(errors).toEqual([
      ['VALIDATION_ERROR', 'opt@example.com', 'INVALID_OPTION'],
      ['VALIDATION_ERROR', 'prop@example.com', 'PROPERTY_DOESNT_EXIST'],
    ]);
    expect([em.state.contact('ok@example.com'), em.state.contact('opt@example.com')].map(Boolean)).toEqual([
      true,
      false,
    ]);
  });
});

describe('an address another contact holds as a secondary one', () => {
  /** A contact with primary `primary` and secondary `secondary`, as someone made it in HubSpot. */
  async function holder(primary: string, secondary: string) {
    await upsert([{ id: primary, properties: { firstname: 'Held' } }]);
    const o = em.state.contact(primary)!;
    em.state.addSecondaryEmail(o, secondary);
    return o;
  }

  it('refuses the whole batch with 409 naming the existing contact by default, writing nothing', async () => {
    const h = await holder('p1@example.com', 's1@example.com');
    const before = em.state.writes.length;
    const e = await failure(upsert([{ id: 'new1@example.com' }, { id: 'S1@example.com' }]));
    expect(e.code).toBe(409);
    // HubSpot's body as integrators quote it: the contact, not the address, and nothing more.
    expect(Object.keys(e.body).sort()).toEqual(['category', 'correlationId', 'message', 'status']);
    expect(e.body).toMatchObject({
      status: 'error',
      category: 'CONFLICT',
      message: `Contact already exists. Existing ID: ${h.id}`,
    });
    expect(JSON.stringify(e.body)).not.toContain('s1@example.com');
    expect(em.state.writes.length).toBe(before);
  });

  it('reports the conflict for that record in a 207 when switched to', async () => {
    em.setBehaviour({ secondaryEmail: 'conflict-207' });
    const h = await holder('p2@example.com', 's2@example.com');
    const res = await upsert([{ id: 'new2@example.com' }, { id: 's2@example.com' }]);
    expect(res.httpStatusCode).toBe(207);
    expect((res.data as any).errors[0]).toMatchObject({
      category: 'CONFLICT',
      context: { ids: ['s2@example.com'], objectWriteTraceId: ['t1'] },
      message: `Contact already exists. Existing ID: ${h.id}`,
    });
    expect(em.state.contact('new2@example.com')).toBeDefined();
    expect(em.state.contact('s2@example.com')).toBeUndefined();
  });

  it('updates the holder when switched to: the address becomes its primary one, the former primary a secondary one', async () => {
    em.setBehaviour({ secondaryEmail: 'update' });
    const h = await holder('p3@example.com', 's3@example.com');
    const res = await upsert([{ id: 's3@example.com', properties: { email: 's3@example.com', lastname: 'Later' } }]);
    expect(res.data.results[0]).toMatchObject({ id: h.id, _new: false });
    expect(em.state.contact('s3@example.com')).toBe(h);
    expect(h.properties).toMatchObject({
      firstname: 'Held',
      lastname: 'Later',
      hs_additional_emails: 'p3@example.com',
    });
    expect(em.state.contactHolding('p3@example.com')).toBe(h);
  });
});

describe('contacts merge', () => {
  it('folds the merged contact into the primary one: its address a secondary one, its id leading there', async () => {
    const { data } = await upsert([
      { id: 'keep@example.com', properties: { firstname: 'Kept' } },
      { id: 'gone@example.com', properties: { lastname: 'Filled' } },
    ]);
    const [keep, gone] = ['keep@example.com', 'gone@example.com'].map(
      (e) => data.results.find((r) => r.properties.email === e)!.id,
    );
    const merged = await hs.crm.contacts.basicApi.merge({ primaryObjectId: keep!, objectIdToMerge: gone! });
    expect(merged.id).toBe(keep);
    expect(em.state.contact('gone@example.com')).toBeUndefined();
    expect(em.state.contactHolding('gone@example.com')?.id).toBe(keep);
    expect(em.state.contact('keep@example.com')!.properties).toMatchObject({
      firstname: 'Kept',
      lastname: 'Filled',
      hs_merged_object_ids: gone,
    });
    const read = await hs.crm.contacts.batchApi.read({
      inputs: [{ id: gone! }],
      properties: ['email'],
      propertiesWithHistory: [],
    });
    expect(read.results.map((r) => [r.id, r.properties.email])).toEqual([[keep, 'keep@example.com']]);
  });
});

describe('GDPR delete (POST /crm/v3/objects/contacts/gdpr-delete)', () => {
  // The client's own purge: it accepts 204 only, as HubSpot's spec lists.
  const purge = (objectId: string, idProperty?: string) =>
    hs.crm.contacts.basicApi.purgeWithHttpInfo({ objectId, ...(idProperty && { idProperty }) });

  it('deletes the contact of an address for good: 204', async () => {
    await upsert([{ id: 'erase.me@example.com' }]);
    expect((await purge('Erase.Me@Example.com', 'email')).httpStatusCode).toBe(204);
    expect(em.state.contact('erase.me@example.com')).toBeUndefined();
    expect(em.state.gdprDeleted).toContain('erase.me@example.com');
    expect(em.state.blocklist.has('erase.me@example.com')).toBe(false);
  });

  it("answers 204 for an address no contact has, and blocklists the address, as HubSpot's API reference says", async () => {
    const deleted = em.state.gdprDeleted.length;
    expect((await purge('Never.Seen@Example.com', 'email')).httpStatusCode).toBe(204);
    expect(em.state.blocklist.has('never.seen@example.com')).toBe(true);
    expect(em.state.gdprDeleted).toHaveLength(deleted);
  });

  it('answers 204 for an unknown id too (nothing else is documented), deleting and blocklisting nothing', async () => {
    const before = [em.state.gdprDeleted.length, em.state.blocklist.size];
    expect((await purge('999999')).httpStatusCode).toBe(204);
    expect([em.state.gdprDeleted.length, em.state.blocklist.size]).toEqual(before);
  });
});
