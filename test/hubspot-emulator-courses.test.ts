import { Client } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startHubSpotEmulator,
  type HubSpotEmulator,
  type HubSpotEmulatorOptions,
} from '../src/emulators/hubspot/index.ts';

// The emulator's Courses object (0-410) as HubSpot documents it: the object library's enablement
// switch, records through the generic object routes, and the v4 associations — asked through the
// real @hubspot/api-client (its apiRequest for the calls it has no typed method for).
let em: HubSpotEmulator;
let hs: Client;
const start = async (opts: HubSpotEmulatorOptions = {}) => {
  em = await startHubSpotEmulator(opts);
  hs = new Client({ accessToken: em.token, basePath: em.url, numberOfApiCallRetries: 0 });
};
afterEach(async () => em?.close());

async function raw(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await hs.apiRequest({ method, path, ...(body ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const upsertCourse = (id: string, name: string) =>
  hs.crm.objects.batchApi.upsert('0-410', {
    inputs: [
      {
        idProperty: 'loopwise_course_id',
        id,
        properties: { loopwise_course_id: id, hs_course_name: name },
        objectWriteTraceId: '0',
      },
    ],
  });

async function withCourseIdProperty(): Promise<void> {
  await hs.crm.properties.coreApi.create('0-410', {
    name: 'loopwise_course_id',
    label: 'Loopwise course ID',
    type: 'string' as any,
    fieldType: 'text' as any,
    groupName: 'course_information',
    hasUniqueValue: true,
  });
}

describe('the object library enablement', () => {
  it.each([
    [{}, false],
    [{ coursesObject: 'inactive' as const }, false],
    [{ coursesObject: 'active' as const }, true],
  ])('with %j answers {"enablement": %s}, and lists every activatable object', async (opts, active) => {
    await start(opts);
    expect(await raw('GET', '/crm/v3/object-library/enablement/0-410')).toEqual({
      status: 200,
      body: { enablement: active },
    });
    const all = await raw('GET', '/crm/v3/object-library/enablement');
    expect(all.body.enablementByObjectTypeId).toEqual({
      '0-410': active,
      '0-420': false,
      '0-421': false,
      '0-162': false,
    });
    expect((await raw('GET', '/crm/v3/object-library/enablement/0-1')).status).toBe(404);
  });

  it('follows a super admin switching it on and off', async () => {
    await start();
    em.setObjectActive('0-410', true);
    expect((await raw('GET', '/crm/v3/object-library/enablement/0-410')).body).toEqual({ enablement: true });
    em.setObjectActive('0-410', false);
    expect((await raw('GET', '/crm/v3/object-library/enablement/0-410')).body).toEqual({ enablement: false });
  });
});

describe('course records', () => {
  it('upserts by a unique custom property, reads them back and lists the course properties', async () => {
    await start({ coursesObject: 'active' });
    const names = (await hs.crm.properties.coreApi.getAll('0-410')).results.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['hs_course_name', 'hs_course_description']));
    await expect(upsertCourse('c1', 'Intro')).rejects.toMatchObject({ code: 400 });
    await withCourseIdProperty();
    const first = await upsertCourse('c1', 'Intro');
    expect(first.results[0]).toMatchObject({
      _new: true,
      objectWriteTraceId: '0',
      properties: expect.objectContaining({ hs_course_name: 'Intro' }),
    });
    const again = await upsertCourse('c1', 'Intro, renamed');
    expect(again.results[0]).toMatchObject({ id: first.results[0]!.id, _new: false });
    const got = await hs.crm.objects.basicApi.getById(
      '0-410',
      'c1',
      ['hs_course_name'],
      undefined,
      undefined,
      undefined,
      'loopwise_course_id',
    );
    expect(got.properties.hs_course_name).toBe('Intro, renamed');
    expect(em.state.course('c1')!.id).toBe(first.results[0]!.id);
  });

  it.each([
    ['missing-scopes-403' as const, 403, 'MISSING_SCOPES'],
    ['unknown-type-400' as const, 400, 'VALIDATION_ERROR'],
  ])(
    'refuses records, properties and associations of an inactive object (%s)',
    async (inactiveObject, status, category) => {
      await start({ behaviour: { inactiveObject } });
      const err = await upsertCourse('c1', 'x').catch((e) => e);
      expect(err.code).toBe(status);
      expect(err.body).toMatchObject({ category });
      if (status === 403) expect(err.body.errors[0].context.requiredScopes).toEqual(['crm.objects.courses.write']);
      expect((await raw('GET', '/crm/v3/properties/0-410')).status).toBe(status);
      expect((await raw('POST', '/crm/v4/associations/0-1/0-410/batch/associate/default', { inputs: [] })).status).toBe(
        status,
      );
      expect(em.state.objects.courses.size).toBe(0);
    },
  );

  it('answers 403 MISSING_SCOPES to a token without the courses scopes, and tells the scopes it has', async () => {
    await start({ coursesObject: 'active', scopes: ['crm.objects.contacts.write', 'crm.objects.courses.read'] });
    await withCourseIdProperty();
    const err = await upsertCourse('c1', 'x').catch((e) => e);
    expect(err.code).toBe(403);
    expect(err.body).toMatchObject({
      category: 'MISSING_SCOPES',
      errors: [{ context: { requiredScopes: ['crm.objects.courses.write'] } }],
    });
    expect((await raw('GET', '/crm/v3/objects/0-410')).status).toBe(200);
    const info = await raw('POST', '/oauth/v2/private-apps/get/access-token-info', { tokenKey: em.token });
    expect(info.body.scopes).toEqual(['crm.objects.contacts.write', 'crm.objects.courses.read']);
  });
});

describe('v4 associations between contacts and course records', () => {
  async function contactAndCourse(): Promise<{ contactId: string; courseId: string }> {
    await withCourseIdProperty();
    const c = await hs.crm.contacts.batchApi.upsert({
      inputs: [{ idProperty: 'email', id: 'a@example.com', properties: { email: 'a@example.com' } }],
    });
    const r = await upsertCourse('c1', 'Intro');
    return { contactId: c.results[0]!.id, courseId: r.results[0]!.id };
  }

  it('associates by the default type, both ways, reads them back, and names the type in /labels', async () => {
    await start({ coursesObject: 'active' });
    const { contactId, courseId } = await contactAndCourse();
    const labels = await raw('GET', '/crm/v4/associations/contacts/0-410/labels');
    const typeId = labels.body.results[0].typeId;
    expect(labels.body.results).toEqual([{ category: 'HUBSPOT_DEFINED', typeId, label: null }]);

    const res = await hs.crm.associations.v4.batchApi.createDefault('0-1', '0-410', {
      inputs: [{ _from: { id: contactId }, to: { id: courseId } }],
    });
    expect(res.results.map((r) => r.associationSpec.associationTypeId)).toContain(typeId);
    const read = await hs.crm.associations.v4.batchApi.getPage('contacts', '0-410', { inputs: [{ id: contactId }] });
    expect(read.results[0]!.to.map((t) => t.toObjectId)).toEqual([courseId]);
    expect(em.state.associations.from('courses', courseId, 'contacts').map((a) => a.toId)).toEqual([contactId]);
  });

  it('creates with a type id from /labels (batch/create), and refuses a type the pair does not have', async () => {
    await start({ coursesObject: 'active' });
    const { contactId, courseId } = await contactAndCourse();
    const typeId = (await raw('GET', '/crm/v4/associations/0-1/0-410/labels')).body.results[0].typeId;
    const made = await raw('POST', '/crm/v4/associations/0-1/0-410/batch/create', {
      inputs: [
        {
          from: { id: contactId },
          to: { id: courseId },
          types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId }],
        },
      ],
    });
    expect(made.status).toBe(201);
    expect(em.state.associations.all('contacts', 'courses')).toEqual([
      { fromType: 'contacts', fromId: contactId, toType: 'courses', toId: courseId, typeIds: [typeId] },
    ]);
    const bad = await raw('POST', '/crm/v4/associations/0-1/0-410/batch/create', {
      inputs: [
        {
          from: { id: contactId },
          to: { id: courseId },
          types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }],
        },
      ],
    });
    expect(bad.status).toBe(400);
  });

  it.each(['record-207', 'batch-400'] as const)(
    "answers a record deleted by hand per %s, naming it and the input's trace id",
    async (associationMissing) => {
      await start({ coursesObject: 'active', behaviour: { associationMissing } });
      const { contactId, courseId } = await contactAndCourse();
      const other = (
        await hs.crm.contacts.batchApi.upsert({
          inputs: [{ idProperty: 'email', id: 'b@example.com', properties: { email: 'b@example.com' } }],
        })
      ).results[0]!.id;
      em.state.deleteRecord('courses', courseId);
      const body = {
        inputs: [
          { from: { id: other }, to: { id: courseId }, objectWriteTraceId: '0' },
          { from: { id: contactId }, to: { id: '999999' }, objectWriteTraceId: '1' },
        ],
      };
      const res = await raw('POST', '/crm/v4/associations/0-1/0-410/batch/associate/default', body);
      if (associationMissing === 'batch-400') {
        expect(res).toMatchObject({
          status: 400,
          body: { category: 'VALIDATION_ERROR', message: `Course=${courseId} is not valid` },
        });
      } else {
        expect(res.status).toBe(207);
        expect(res.body.errors.map((e: any) => [e.message, e.context.objectWriteTraceId])).toEqual([
          [`Course=${courseId} is not valid`, ['0']],
          ['Course=999999 is not valid', ['1']],
        ]);
      }
      expect(em.state.associations.all('contacts', 'courses')).toEqual([]);
    },
  );

  it('refuses inputs carrying objectWriteTraceId when told to (associationTraceIds: refused)', async () => {
    await start({ coursesObject: 'active', behaviour: { associationTraceIds: 'refused' } });
    const { contactId, courseId } = await contactAndCourse();
    const traced = await raw('POST', '/crm/v4/associations/0-1/0-410/batch/associate/default', {
      inputs: [{ from: { id: contactId }, to: { id: courseId }, objectWriteTraceId: '0' }],
    });
    expect(traced).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('Unrecognized field "objectWriteTraceId"') },
    });
    const plain = await raw('POST', '/crm/v4/associations/0-1/0-410/batch/associate/default', {
      inputs: [{ from: { id: contactId }, to: { id: courseId } }],
    });
    expect(plain.status).toBe(200);
  });

  it('takes at most 100 inputs', async () => {
    await start({ coursesObject: 'active' });
    const inputs = Array.from({ length: 101 }, (_, i) => ({ from: { id: String(i) }, to: { id: String(i) } }));
    expect((await raw('POST', '/crm/v4/associations/0-1/0-410/batch/associate/default', { inputs })).status).toBe(400);
  });
});
