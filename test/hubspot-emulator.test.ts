import { Client } from '@hubspot/api-client';
import type { PropertyCreate } from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';

let em: HubSpotEmulator;
let hs: Client;

/** The error the real client throws for `p`, with HubSpot's status, body and headers. */
async function failure(
  p: Promise<unknown>,
): Promise<{ code: number; body: any; headers: Record<string, string>; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as any;
  }
  throw new Error('expected the call to fail');
}

const text = (name: string, extra: Partial<PropertyCreate> = {}) =>
  ({ name, label: name, type: 'string', fieldType: 'text', groupName: 'loopwise', ...extra }) as PropertyCreate;

beforeAll(async () => {
  em = await startHubSpotEmulator({ requestsPer10s: 1000 });
  hs = new Client({ accessToken: em.token, basePath: em.url });
  await hs.crm.properties.groupsApi.create('contacts', { name: 'loopwise', label: 'Loopwise' });
  await hs.crm.properties.groupsApi.create('products', { name: 'loopwise', label: 'Loopwise' });
  await hs.crm.properties.coreApi.create(
    'contacts',
    text('loopwise_enrolled_courses', {
      type: 'enumeration' as any,
      fieldType: 'checkbox' as any,
      options: [{ label: 'Intro', value: 'c1', hidden: false }],
    }),
  );
  await hs.crm.properties.coreApi.create('products', text('loopwise_plan_id', { hasUniqueValue: true }));
  await hs.crm.properties.coreApi.create('products', text('loopwise_course_id'));
});
afterAll(async () => em.close());

describe('authentication', () => {
  it('answers 401 INVALID_AUTHENTICATION to a wrong token', async () => {
    const wrong = new Client({ accessToken: 'nope', basePath: em.url });
    const e = await failure(wrong.crm.properties.coreApi.getAll('contacts'));
    expect(e.code).toBe(401);
    expect(e.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
  });
});

describe('contacts batch upsert by email', () => {
  it('creates, then updates, with `new` telling which; e-mails are trimmed and lower-cased', async () => {
    const first = await hs.crm.contacts.batchApi.upsertWithHttpInfo({
      inputs: [{ id: ' Ann@Example.com', idProperty: 'email', properties: { firstname: 'Ann' } }],
    });
    expect(first.httpStatusCode).toBe(200);
    expect(first.data.status).toBe('COMPLETE');
    expect(first.data.results[0]).toMatchObject({
      _new: true,
      properties: { email: 'ann@example.com', firstname: 'Ann' },
    });
    const again = await hs.crm.contacts.batchApi.upsert({
      inputs: [{ id: 'ann@example.com', idProperty: 'email', properties: { lastname: 'Lee' } }],
    });
    expect(again.results[0]!._new).toBe(false);
    expect(again.results[0]!.id).toBe(first.data.results[0]!.id);
    expect(em.state.contact('ann@example.com')!.properties).toMatchObject({ firstname: 'Ann', lastname: 'Lee' });
  });

  it('answers 207 with a per-record VALIDATION_ERROR for an e-mail HubSpot deems invalid, writing the others, when each input carries an objectWriteTraceId', async () => {
    const res = await hs.crm.contacts.batchApi.upsertWithHttpInfo({
      inputs: [
        { id: 'good@example.com', idProperty: 'email', properties: {}, objectWriteTraceId: 't-good' },
        { id: 'bad@example.c0m', idProperty: 'email', properties: {}, objectWriteTraceId: 't-bad' },
      ],
    });
    expect(res.httpStatusCode).toBe(207);
    const data = res.data as any;
    expect(data.numErrors).toBe(1);
    expect(data.errors[0]).toMatchObject({
      status: 'error',
      category: 'VALIDATION_ERROR',
      context: { ids: ['bad@example.c0m'], objectWriteTraceId: ['t-bad'] },
    });
    expect(data.errors[0].message).toContain('INVALID_EMAIL');
    expect(data.results[0].objectWriteTraceId).toBe('t-good');
    expect(em.state.contact('good@example.com')).toBeDefined();
    expect(em.state.contact('bad@example.c0m')).toBeUndefined();
  });

  it.each([
    ['no objectWriteTraceId', [undefined, undefined]],
    ['one input without one', ['t1', undefined]],
    ['two inputs sharing one', ['t1', 't1']],
  ])(
    'refuses the whole batch with 400 for one bad record when its inputs carry %s (HubSpot answers 207 only with unique trace ids), writing nothing',
    async (_what, traceIds) => {
      const before = em.state.writes.length;
      const emails = ['fine@example.com', 'broken@example.c0m'];
      const e = await failure(
        hs.crm.contacts.batchApi.upsert({
          inputs: emails.map((id, i) => ({
            id,
            idProperty: 'email',
            properties: {},
            ...(traceIds[i] ? { objectWriteTraceId: traceIds[i] } : {}),
          })),
        }),
      );
      expect(e.code).toBe(400);
      expect(e.body.message).toContain('Email address broken@example.c0m is invalid');
      expect(em.state.writes.length).toBe(before);
      expect(em.state.contact('fine@example.com')).toBeUndefined();
    },
  );

  it('answers 207 without trace ids when switched to multiStatus "always"', async () => {
    const other = await startHubSpotEmulator({ behaviour: { multiStatus: 'always' } });
    try {
      const c = new Client({ accessToken: other.token, basePath: other.url });
      const res = await c.crm.contacts.batchApi.upsertWithHttpInfo({
        inputs: ['ok@example.com', 'no@example.c0m'].map((id) => ({ id, idProperty: 'email', properties: {} })),
      });
      expect(res.httpStatusCode).toBe(207);
      expect(other.state.contact('ok@example.com')).toBeDefined();
    } finally {
      await other.close();
    }
  });

  it.each([
    [
      'duplicate ids',
      [{ id: 'a@example.com' }, { id: 'A@example.com' }],
      'Duplicate IDs found in batch input: [a@example.com]',
    ],
    ['an unknown property', [{ id: 'a@example.com', properties: { shoe_size: '42' } }], 'PROPERTY_DOESNT_EXIST'],
    [
      'a checkbox value that is not an option',
      [{ id: 'a@example.com', properties: { loopwise_enrolled_courses: 'c1;c9' } }],
      'INVALID_OPTION',
    ],
    [
      'more than 100 inputs',
      Array.from({ length: 101 }, (_, i) => ({ id: `u${i}@example.com` })),
      'exceeds limit of 100',
    ],
  ])('refuses the whole batch with 400 for %s', async (_what, inputs, message) => {
    const before = em.state.writes.length;
    const e = await failure(
      hs.crm.contacts.batchApi.upsert({
        inputs: inputs.map((i: any) => ({ idProperty: 'email', properties: {}, ...i })),
      }),
    );
    expect(e.code).toBe(400);
    expect(e.body.category).toBe('VALIDATION_ERROR');
    expect(e.body.message).toContain(message);
    expect(em.state.writes.length).toBe(before);
  });

  it('names duplicate ids in context.ids, as HubSpot does', async () => {
    const e = await failure(
      hs.crm.contacts.batchApi.upsert({
        inputs: ['d@example.com', 'D@example.com ', 'e@example.com'].map((id) => ({
          id,
          idProperty: 'email',
          properties: {},
        })),
      }),
    );
    expect(e.code).toBe(400);
    expect(e.body.context).toEqual({ ids: ['d@example.com'] });
  });

  it("reads at most 50 inputs when asked for property history (400 in HubSpot's words above that), 100 without", async () => {
    const inputs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `h${i}@example.com` }));
    await hs.crm.contacts.batchApi.upsert({
      inputs: inputs(51).map((i) => ({ ...i, idProperty: 'email', properties: {}, objectWriteTraceId: i.id })),
    });
    const read = (n: number, history: string[]) =>
      hs.crm.contacts.batchApi.read({
        idProperty: 'email',
        inputs: inputs(n),
        properties: ['email'],
        propertiesWithHistory: history,
      });
    const e = await failure(read(51, ['email']));
    expect(e.code).toBe(400);
    expect(e.body).toMatchObject({
      category: 'VALIDATION_ERROR',
      message:
        'The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number of items and try again',
    });
    expect((await read(50, ['email'])).results).toHaveLength(50);
    expect((await read(100, [])).results).toHaveLength(51);
  });

  it('replaces a checkbox value on write (no append)', async () => {
    await hs.crm.properties.coreApi.update('contacts', 'loopwise_enrolled_courses', {
      options: [
        { label: 'Intro', value: 'c1', hidden: false },
        { label: 'Advanced', value: 'c2', hidden: false },
      ],
    });
    await hs.crm.contacts.batchApi.upsert({
      inputs: [{ id: 'cb@example.com', idProperty: 'email', properties: { loopwise_enrolled_courses: 'c1;c2' } }],
    });
    await hs.crm.contacts.batchApi.upsert({
      inputs: [{ id: 'cb@example.com', idProperty: 'email', properties: { loopwise_enrolled_courses: 'c2' } }],
    });
    expect(em.state.values(em.state.contact('cb@example.com'), 'loopwise_enrolled_courses')).toEqual(['c2']);
  });
});

describe('contacts batch read by email', () => {
  it('returns requested properties (null when unset), their history, and 207 OBJECT_NOT_FOUND for unknown ids', async () => {
    const res = await hs.crm.contacts.batchApi.readWithHttpInfo({
      idProperty: 'email',
      inputs: [{ id: 'cb@example.com' }, { id: 'nobody@example.com' }],
      properties: ['email', 'loopwise_enrolled_courses', 'phone'],
      propertiesWithHistory: ['loopwise_enrolled_courses'],
    });
    expect(res.httpStatusCode).toBe(207);
    const [r] = res.data.results;
    expect(r!.properties).toMatchObject({ email: 'cb@example.com', loopwise_enrolled_courses: 'c2', phone: null });
    expect(r!.propertiesWithHistory!.loopwise_enrolled_courses!.map((h) => h.value)).toEqual(['c2', 'c1;c2']);
    expect((res.data as any).errors[0]).toMatchObject({
      category: 'OBJECT_NOT_FOUND',
      context: { ids: ['nobody@example.com'] },
    });
  });
});

describe('properties and groups', () => {
  it('creates a property (201), refuses a second one with the same name (409) and reads it back', async () => {
    const created = await hs.crm.properties.coreApi.create('contacts', text('loopwise_user_id'));
    expect(created).toMatchObject({ name: 'loopwise_user_id', groupName: 'loopwise', type: 'string' });
    expect((await failure(hs.crm.properties.coreApi.create('contacts', text('loopwise_user_id')))).code).toBe(409);
    expect((await hs.crm.properties.coreApi.getByName('contacts', 'loopwise_user_id')).label).toBe('loopwise_user_id');
    expect((await failure(hs.crm.properties.coreApi.getByName('contacts', 'nope'))).code).toBe(404);
  });

  it('refuses a property in a missing group, a bad type/fieldType pair, and duplicate option labels', async () => {
    expect(
      (await failure(hs.crm.properties.coreApi.create('contacts', text('x_one', { groupName: 'nowhere' })))).code,
    ).toBe(400);
    expect(
      (await failure(hs.crm.properties.coreApi.create('contacts', text('x_two', { fieldType: 'checkbox' as any }))))
        .code,
    ).toBe(400);
    const e = await failure(
      hs.crm.properties.coreApi.update('contacts', 'loopwise_enrolled_courses', {
        options: [
          { label: 'Same', value: 'a', hidden: false },
          { label: 'Same', value: 'b', hidden: false },
        ],
      }),
    );
    expect(e.code).toBe(400);
  });

  it('lists groups and refuses an existing group name (409)', async () => {
    const groups = await hs.crm.properties.groupsApi.getAll('contacts');
    expect(groups.results.map((g) => g.name)).toContain('loopwise');
    expect(
      (await failure(hs.crm.properties.groupsApi.create('contacts', { name: 'loopwise', label: 'Again' }))).code,
    ).toBe(409);
  });
});

describe('products', () => {
  it('upserts by a unique property, refuses a non-unique one, reads, archives (204) and 404s afterwards', async () => {
    const bad = await failure(
      hs.crm.products.batchApi.upsert({ inputs: [{ id: 'c', idProperty: 'loopwise_course_id', properties: {} }] }),
    );
    expect(bad.code).toBe(400);
    expect(bad.body.message).toContain('non-unique');

    const up = await hs.crm.products.batchApi.upsert({
      inputs: [{ id: 'plan_1', idProperty: 'loopwise_plan_id', properties: { name: 'Basic', price: '5000' } }],
    });
    const id = up.results[0]!.id;
    expect(em.state.product('plan_1')!.properties).toMatchObject({
      name: 'Basic',
      price: '5000',
      loopwise_plan_id: 'plan_1',
    });
    const read = await hs.crm.products.batchApi.read({
      idProperty: 'loopwise_plan_id',
      inputs: [{ id: 'plan_1' }],
      properties: ['name'],
      propertiesWithHistory: [],
    });
    expect(read.results[0]!.id).toBe(id);

    const archived = await hs.crm.products.batchApi.archiveWithHttpInfo({ inputs: [{ id }] });
    expect(archived.httpStatusCode).toBe(204);
    expect(em.state.archivedProducts.has(id)).toBe(true);
    expect((await failure(hs.crm.products.basicApi.getById(id))).code).toBe(404);
  });

  it('refuses a price that is not a number, per record (207)', async () => {
    const res = await hs.crm.products.batchApi.upsertWithHttpInfo({
      inputs: [
        { id: 'plan_2', idProperty: 'loopwise_plan_id', properties: { price: '50 TWD' }, objectWriteTraceId: '0' },
      ],
    });
    expect(res.httpStatusCode).toBe(207);
  });
});

describe('burst limit', () => {
  it('sends X-HubSpot-RateLimit-* headers and answers 429 TEN_SECONDLY_ROLLING past the limit', async () => {
    const limited = await startHubSpotEmulator({ requestsPer10s: 2 });
    const c = new Client({ accessToken: limited.token, basePath: limited.url });
    try {
      const ok = await c.crm.properties.groupsApi.getAllWithHttpInfo('contacts');
      expect(ok.headers).toMatchObject({
        'x-hubspot-ratelimit-max': '2',
        'x-hubspot-ratelimit-remaining': '1',
        'x-hubspot-ratelimit-interval-milliseconds': '10000',
      });
      await c.crm.properties.groupsApi.getAll('contacts');
      const e = await failure(c.crm.properties.groupsApi.getAll('contacts'));
      expect(e.code).toBe(429);
      expect(e.body).toMatchObject({
        status: 'error',
        errorType: 'RATE_LIMIT',
        category: 'RATE_LIMITS',
        policyName: 'TEN_SECONDLY_ROLLING',
      });
      expect(e.headers['x-hubspot-ratelimit-remaining']).toBe('0');
      limited.setLimit(undefined);
      await c.crm.properties.groupsApi.getAll('contacts');
      expect(limited.state.requests.map((r) => r.status)).toEqual([200, 200, 429, 200]);
    } finally {
      await limited.close();
    }
  });
});

describe('fault injection', () => {
  it('answers the next N matching requests with the injected status, then serves normally', async () => {
    await em.injectFaults({ status: 503, count: 2, match: (r) => r.path.endsWith('/groups') });
    expect((await failure(hs.crm.properties.groupsApi.getAll('contacts'))).code).toBe(503);
    expect((await failure(hs.crm.properties.groupsApi.getAll('contacts'))).code).toBe(503);
    await hs.crm.properties.groupsApi.getAll('contacts');
  });

  it('resets connections, and goes down and comes back on the same port', async () => {
    await em.injectFaults({ reset: true });
    expect((await failure(hs.crm.properties.groupsApi.getAll('contacts'))).code).toBeTypeOf('string');
    await em.injectFaults({ down: true });
    const e = await failure(hs.crm.properties.groupsApi.getAll('contacts'));
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain(e.code);
    await em.injectFaults({ down: false });
    await hs.crm.properties.groupsApi.getAll('contacts');
  });
});
