import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';

// GET /crm/v3/objects/{type} (list, as `course-sync doctor` calls it), through the real client.
let hs: HubSpotEmulator;
let client: Client;

beforeAll(async () => {
  hs = await startHubSpotEmulator();
  client = new Client({ accessToken: hs.token, basePath: hs.url, numberOfApiCallRetries: 0 });
  await client.crm.contacts.batchApi.upsert({
    inputs: ['a@example.com', 'b@example.com', 'c@example.com'].map((email) => ({
      id: email,
      idProperty: 'email',
      properties: { email },
    })),
  });
});
afterAll(() => hs.close());

describe('HubSpot emulator: list objects', () => {
  it('answers a page in id order with paging.next.after while more follow', async () => {
    const first = await client.crm.contacts.basicApi.getPage(2);
    expect(first.results.map((c) => c.properties.email)).toEqual(['a@example.com', 'b@example.com']);
    const cursor = first.paging!.next!.after;
    // Opaque, as HubSpot's: not the last id, so only a cursor it gave out leads on.
    expect(cursor).not.toBe(first.results[1]!.id);
    const rest = await client.crm.contacts.basicApi.getPage(2, cursor);
    expect(rest.results.map((c) => c.properties.email)).toEqual(['c@example.com']);
    expect(rest.paging).toBeUndefined();
    await expect(client.crm.contacts.basicApi.getPage(2, first.results[1]!.id)).rejects.toMatchObject({ code: 400 });
  });

  it('answers an empty list for a type with no records', async () => {
    const page = await client.crm.products.basicApi.getPage(1);
    expect(page.results).toEqual([]);
  });

  it('answers 400 to a limit that is not a number', async () => {
    const res = await fetch(`${hs.url}/crm/v3/objects/contacts?limit=ten`, {
      headers: { authorization: `Bearer ${hs.token}` },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
  });

  it('refuses a wrong token with 401', async () => {
    const bad = new Client({ accessToken: 'wrong', basePath: hs.url, numberOfApiCallRetries: 0 });
    await expect(bad.crm.contacts.basicApi.getPage(1)).rejects.toMatchObject({ code: 401 });
  });
});
