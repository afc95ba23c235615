import type { Client } from '@hubspot/api-client';
import { ApiException } from '@hubspot/api-client/lib/codegen/crm/contacts/apis/exception.js';
import { readBatch } from './batch-read.ts';
import type { HubSpotCall } from './call.ts';
import { HubSpotCallError } from './errors.ts';

/**
 * What a GDPR delete of one address did: the contact HubSpot held under it, deleted for good, or none
 * (`contactId` undefined) — HubSpot then blocklists the address and answers 204 all the same.
 */
export interface GdprDeleteResult {
  contactId?: string;
}

/**
 * The contact whose (primary) address `email` is, read before the delete: HubSpot's 204 says the
 * same whether it deleted a contact or only blocklisted the address. A read in which the id does not
 * exist is answered 404 or an empty 207 (see readBatch): both are "none".
 */
async function contactIdOf(client: Client, call: HubSpotCall, email: string): Promise<string | undefined> {
  const found = await readBatch(call, 'contacts.read', () =>
    client.crm.contacts.batchApi.read({
      idProperty: 'email',
      inputs: [{ id: email }],
      properties: ['email'],
      propertiesWithHistory: [],
    }),
  );
  return found[0]?.id;
}

/**
 * Asks HubSpot to delete the contact holding `email` permanently (POST
 * /crm/v3/objects/contacts/gdpr-delete, `idProperty: "email"`; 204), after looking it up, both through
 * `call` and so inside the shared request budget. With no contact, HubSpot blocklists the address
 * (its API reference: "If email address is not found, the email address will be added to a
 * blocklist"); a 404 from an older HubSpot is read the same way.
 * The delete goes through the client's `apiRequest` (same base URL, token and retries), and an answer
 * other than 2xx is thrown as the client's own ApiException, so it is told apart like every other
 * HubSpot error.
 */
export async function gdprDeleteContact(client: Client, call: HubSpotCall, email: string): Promise<GdprDeleteResult> {
  const contactId = await contactIdOf(client, call, email);
  try {
    await call('contacts.gdpr-delete', async () => {
      const res = await client.apiRequest({
        method: 'POST',
        path: '/crm/v3/objects/contacts/gdpr-delete',
        body: { objectId: email, idProperty: 'email' },
      });
      if (res.ok) return;
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      throw new ApiException(res.status, `HTTP-Code: ${res.status}`, body, Object.fromEntries(res.headers.entries()));
    });
  } catch (err) {
    if (!(err instanceof HubSpotCallError && err.failure.status === 404)) throw err;
    return {};
  }
  return contactId ? { contactId } : {};
}
