import { badRequest, HubSpotHttpError, recordError, type RouteAnswer, type RouteContext } from './http.ts';
import { present } from './objects.ts';
import { SECONDARY_EMAILS, type CrmObject, type HubSpotState } from './state.ts';

/** HubSpot's words when a contact would get an address another contact holds: they name the contact, not the address. */
function existsMessage(holder: CrmObject): string {
  return `Contact already exists. Existing ID: ${holder.id}`;
}

/**
 * The 409 for the whole batch, as integrators quote HubSpot's body (issue reports against
 * @hubspot/api-client and HubSpot's community forum, "Contact already exists. Existing ID"):
 * `{status, message, correlationId, category: "CONFLICT"}` — no `errors` list and no address, so
 * nothing in it says which input of a batch caused it.
 */
export function contactExists(holder: CrmObject): HubSpotHttpError {
  return new HubSpotHttpError(409, 'CONFLICT', existsMessage(holder));
}

/** The same conflict as one record's error in a 207, naming the input by its `context` ids. */
export function contactExistsRecord(holder: CrmObject, context: Record<string, string[]>) {
  return recordError('CONFLICT', existsMessage(holder), context);
}

/**
 * For the `update` behaviour: the properties that make `email` the holder's primary address, its
 * former primary address joining the secondary ones.
 */
export function promoteSecondary(state: HubSpotState, holder: CrmObject, email: string): Record<string, string> {
  const others = state.values(holder, SECONDARY_EMAILS).filter((a) => a !== email);
  const former = holder.properties.email;
  return { [SECONDARY_EMAILS]: [...others, ...(former && former !== email ? [former] : [])].join(';') };
}

/** Properties a merge never copies from the merged contact. */
const OWN = new Set([
  'hs_object_id',
  'createdate',
  'lastmodifieddate',
  'email',
  SECONDARY_EMAILS,
  'hs_merged_object_ids',
]);

/**
 * POST /crm/v3/objects/contacts/merge `{primaryObjectId, objectIdToMerge}`: the merged contact
 * disappears into the primary one, whose values are kept (empty ones filled from the merged
 * contact); the merged contact's addresses become secondary addresses of the primary one, and its
 * id leads to the primary one from then on.
 */
export function mergeContacts({ state, body }: RouteContext): RouteAnswer {
  const b = body ?? {};
  if (typeof b.primaryObjectId !== 'string' || typeof b.objectIdToMerge !== 'string') {
    throw badRequest(
      'Invalid input JSON: Cannot build PublicMergeInput, some of required attributes are not set [objectIdToMerge, primaryObjectId]',
    );
  }
  const primary = state.byId('contacts', b.primaryObjectId);
  const merged = state.byId('contacts', b.objectIdToMerge);
  if (!primary || !merged)
    throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.');
  if (primary === merged) throw badRequest('A contact cannot be merged with itself');
  state.remove('contacts', merged.id);
  const filled = Object.fromEntries(
    Object.entries(merged.properties).filter(([k]) => !OWN.has(k) && primary.properties[k] === undefined),
  );
  const own = primary.properties.email;
  const addresses = [
    ...state.values(primary, SECONDARY_EMAILS),
    merged.properties.email,
    ...state.values(merged, SECONDARY_EMAILS),
  ];
  const ids = [
    ...state.values(primary, 'hs_merged_object_ids'),
    merged.id,
    ...state.values(merged, 'hs_merged_object_ids'),
  ];
  state.write('contacts', primary, {
    ...filled,
    [SECONDARY_EMAILS]: [...new Set(addresses.filter((a): a is string => !!a && a !== own))].join(';'),
    hs_merged_object_ids: [...new Set(ids)].join(';'),
  });
  state.mergedInto.set(merged.id, primary.id);
  return { status: 200, body: present(primary, 'contacts', undefined) };
}

/**
 * POST /crm/v3/objects/contacts/gdpr-delete `{objectId, idProperty?}`: permanently deletes the contact
 * found by id, or by e-mail with `idProperty: "email"` (primary or secondary address), and answers 204.
 * An address no contact has is answered 204 too, and blocklisted: HubSpot's API reference ("Permanently
 * delete a contact (GDPR-compliant)", developers.hubspot.com/docs/api-reference/legacy/crm/objects/
 * contacts/gdpr/gdpr-delete-contact) says "If email address is not found, the email address will be
 * added to a blocklist and prevent it from being used in the future". For an unknown id the reference
 * documents no other answer (its spec lists 204 and a default error, nothing for a missing id), so
 * that is 204 too, with nothing deleted or blocklisted. The deleted contact is gone from every lookup.
 */
export function gdprDelete({ state, body }: RouteContext): RouteAnswer {
  const b = body ?? {};
  if (typeof b.objectId !== 'string' || !b.objectId)
    throw badRequest(
      'Invalid input JSON: Cannot build PublicGdprDeleteInput, some of required attributes are not set [objectId]',
    );
  if (b.idProperty !== undefined && b.idProperty !== 'email' && b.idProperty !== 'hs_object_id')
    throw badRequest(`Unable to delete by property ${String(b.idProperty)}`);
  const byEmail = b.idProperty === 'email';
  const found = byEmail
    ? (state.contact(b.objectId) ?? state.contactHolding(b.objectId))
    : state.byId('contacts', b.objectId);
  if (found) {
    state.remove('contacts', found.id);
    state.gdprDeleted.push(found.properties.email ?? found.id);
  } else if (byEmail) {
    state.blocklist.add(b.objectId.trim().toLowerCase());
  }
  return { status: 204 };
}
