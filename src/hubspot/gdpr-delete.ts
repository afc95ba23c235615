import type { Client } from '@hubspot/api-client';
import { ApiException } from '@hubspot/api-client/lib/codegen/crm/contacts/apis/exception.js';
import type { HubSpotCall } from './call.ts';
import { HubSpotCallError } from './errors.ts';

/** What HubSpot did with a GDPR delete: the contact is gone for good, or there was none with that address. */
export type GdprDeleteOutcome = 'deleted' | 'not found';

/**
 * Asks HubSpot to delete the contact holding `email` permanently (POST
 * /crm/v3/objects/contacts/gdpr-delete, `idProperty: "email"`; 204), through `call` and so inside
 * the shared request budget. A 404 means HubSpot holds no contact with that address.
 * The client of @hubspot/api-client 13 has no GDPR API on `crm.contacts`: the request goes through
 * its `apiRequest` (same base URL, token and retries), and an answer other than 2xx is thrown as the
 * client's own ApiException, so it is told apart like every other HubSpot error.
 */
export async function gdprDeleteContact(client: Client, call: HubSpotCall, email: string): Promise<GdprDeleteOutcome> {
  try {
    await call('contacts.gdpr-delete', async () => {
      const res = await client.apiRequest({ method: 'POST', path: '/crm/v3/objects/contacts/gdpr-delete', body: { objectId: email, idProperty: 'email' } });
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
    return 'deleted';
  } catch (err) {
    if (err instanceof HubSpotCallError && err.failure.status === 404) return 'not found';
    throw err;
  }
}
