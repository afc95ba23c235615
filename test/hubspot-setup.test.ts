import { Client } from '@hubspot/api-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { createHubSpotCall } from '../src/hubspot/call.ts';
import { CONTACT_PROPERTIES, PRODUCT_PROPERTIES } from '../src/hubspot/properties.ts';
import { ensureHubSpotSetup } from '../src/hubspot/setup.ts';
import { runCli } from './support/cli.ts';

let em: HubSpotEmulator;
let hs: Client;
beforeEach(async () => {
  em = await startHubSpotEmulator();
  hs = new Client({ accessToken: em.token, basePath: em.url });
});
afterEach(async () => em.close());

const everything = [
  'contacts group loopwise',
  ...CONTACT_PROPERTIES.map((p) => `contacts property ${p.name}`),
  'products group loopwise',
  ...PRODUCT_PROPERTIES.map((p) => `products property ${p.name}`),
];

describe('ensureHubSpotSetup', () => {
  it('creates the group and every property on a new portal, then finds them all on the next run', async () => {
    const first = await ensureHubSpotSetup(hs, createHubSpotCall({}));
    expect(first).toEqual({ created: everything, existing: [], mismatched: [] });
    const writes = em.state.requests.filter((r) => r.method === 'POST').length;

    const second = await ensureHubSpotSetup(hs, createHubSpotCall({}));
    expect(second).toEqual({ created: [], existing: everything, mismatched: [] });
    expect(em.state.requests.filter((r) => r.method === 'POST').length).toBe(writes);
  });

  it('defines the properties as HubSpot needs them', async () => {
    await ensureHubSpotSetup(hs, createHubSpotCall({}));
    const contact = (name: string) => em.state.properties.contacts.get(name)!;
    const product = (name: string) => em.state.properties.products.get(name)!;
    expect(contact('loopwise_enrolled_courses')).toMatchObject({
      type: 'enumeration',
      fieldType: 'checkbox',
      groupName: 'loopwise',
      options: [],
    });
    expect(contact('loopwise_last_enrolled_at')).toMatchObject({ type: 'datetime', fieldType: 'date' });
    expect(contact('loopwise_user_id')).toMatchObject({ type: 'string', fieldType: 'text', hasUniqueValue: false });
    expect(product('loopwise_plan_id')).toMatchObject({ type: 'string', groupName: 'loopwise', hasUniqueValue: true });
    for (const name of [
      'loopwise_course_id',
      'loopwise_course_slug',
      'loopwise_course_state',
      'loopwise_plan_currency',
    ]) {
      expect(product(name)).toMatchObject({ type: 'string', groupName: 'loopwise' });
    }
  });

  it('leaves a property that exists with another type alone and reports it', async () => {
    await hs.crm.properties.groupsApi.create('contacts', { name: 'loopwise', label: 'Loopwise' });
    await hs.crm.properties.coreApi.create('contacts', {
      name: 'loopwise_enrolled_courses',
      label: 'x',
      type: 'string' as any,
      fieldType: 'text' as any,
      groupName: 'loopwise',
    });
    const report = await ensureHubSpotSetup(hs, createHubSpotCall({}));
    expect(report.mismatched).toEqual([
      'contacts property loopwise_enrolled_courses (is string/text, expected enumeration/checkbox)',
    ]);
    expect(report.existing).toContain('contacts group loopwise');
    expect(em.state.properties.contacts.get('loopwise_enrolled_courses')!.type).toBe('string');
  });

  it('waits out a 429 and carries on from where it was', async () => {
    const limited = await startHubSpotEmulator({ requestsPer10s: 4, intervalMs: 300 });
    try {
      const report = await ensureHubSpotSetup(
        new Client({ accessToken: limited.token, basePath: limited.url }),
        createHubSpotCall({}),
      );
      expect(report.created).toEqual(everything);
      expect(limited.state.requests.some((r) => r.status === 429)).toBe(true);
    } finally {
      await limited.close();
    }
  });
});

describe('course-sync hubspot setup', () => {
  const env = () => ({ HUBSPOT_ACCESS_TOKEN: em.token, HUBSPOT_BASE_URL: em.url });

  it('prints what it created, then that everything already existed', async () => {
    const first = await runCli(['hubspot', 'setup'], env());
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('created  contacts property loopwise_enrolled_courses');
    expect(first.stdout).toContain('created  products property loopwise_plan_id');
    expect(first.stdout.trim().split('\n').at(-1)).toBe(`${everything.length} created, 0 already existed`);

    const second = await runCli(['hubspot', 'setup'], env());
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('exists   contacts group loopwise');
    expect(second.stdout.trim().split('\n').at(-1)).toBe(`0 created, ${everything.length} already existed`);
  });

  it('exits 2 without a token or with a refused one, and 3 when HubSpot is unreachable', async () => {
    const none = await runCli(['hubspot', 'setup'], { HUBSPOT_BASE_URL: em.url });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('HUBSPOT_ACCESS_TOKEN');

    const refused = await runCli(['hubspot', 'setup'], { ...env(), HUBSPOT_ACCESS_TOKEN: 'revoked' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('401');

    await em.injectFaults({ down: true });
    const down = await runCli(['hubspot', 'setup'], env());
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('unreachable');
  });
});
