import type { Client } from '@hubspot/api-client';
import { readBatch } from './batch-read.ts';
import type { HubSpotCall } from './call.ts';
import type { ContactUpsertInput } from './contact-mapping.ts';
import type { HubSpotCallError } from './errors.ts';

/** A contact's secondary addresses, ";"-separated (read-only; HubSpot sets it in the app or by a merge). */
export const SECONDARY_EMAILS = 'hs_additional_emails';

/** The HubSpot id in "Contact already exists. Existing ID: 123". */
export function existingContactId(message: string): string | undefined {
  return /Existing ID: (\d+)/.exec(message)?.[1];
}

/** An address a 409 body names, in shapes some portals answer ("A contact with email x already exists" in `errors`). */
function addressInBody(err: HubSpotCallError, inputs: ContactUpsertInput[]): string | undefined {
  const body = (err.cause as { body?: { errors?: { message?: string }[] } } | undefined)?.body;
  const ids = new Set(inputs.map((i) => i.id));
  for (const e of body?.errors ?? []) {
    const email = /email (\S+) already exists/i.exec(e.message ?? '')?.[1]?.toLowerCase();
    if (email && ids.has(email)) return email;
  }
  return undefined;
}

/**
 * Which input of a batch a 409 "Contact already exists. Existing ID: N" is about. HubSpot's body
 * names the contact, not the address (DESIGN.md, third-wave facts), so: an address the body does
 * name; else the only input; else one read of contact N (its primary and secondary addresses) and
 * the input among them. Undefined when none matches (the caller then halves the batch).
 */
export async function inputHeldBy(
  deps: { client: Client; call: HubSpotCall },
  err: HubSpotCallError,
  contactId: string,
  inputs: ContactUpsertInput[],
): Promise<string | undefined> {
  const named = addressInBody(err, inputs);
  if (named) return named;
  if (inputs.length === 1) return inputs[0]!.id;
  const found = await readBatch(deps.call, 'contacts.read', () =>
    deps.client.crm.contacts.batchApi.read({
      inputs: [{ id: contactId }],
      properties: ['email', SECONDARY_EMAILS],
      propertiesWithHistory: [],
    }),
  );
  const addresses = new Set(
    found
      .flatMap((r) => [r.properties.email ?? '', ...(r.properties[SECONDARY_EMAILS] ?? '').split(';')])
      .map((a) => a.trim().toLowerCase())
      .filter(Boolean),
  );
  return inputs.find((i) => addresses.has(i.id))?.id;
}
