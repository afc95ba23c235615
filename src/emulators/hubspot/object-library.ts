import { badRequest, HubSpotHttpError, type RouteAnswer, type RouteContext } from './http.ts';
import { LIBRARY_OBJECTS } from './object-library-state.ts';
import type { HubSpotState } from './state.ts';

/**
 * The object library: objects a portal activates or not (Courses, 0-410, among them), and what
 * HubSpot answers around them.
 *
 * - `GET /crm/v3/object-library/enablement/{objectTypeId}` → `{"enablement": true|false}` and
 *   `GET /crm/v3/object-library/enablement` → `{"enablementByObjectTypeId": {"0-410": false, ...}}`,
 *   listing only objects that can be activated: HubSpot's object library / object activation guide
 *   (developers.hubspot.com/docs/api-reference/crm-object-library-v3/guide) and its reference
 *   ("Fetch object type enablement status"). Activation happens in the portal only; the API reads it.
 * - Records of an inactive object cannot be managed ("The course object must be activated in the
 *   HubSpot account to manage course records", courses guide); the answer is not documented, see
 *   `behaviour.inactiveObject`.
 * - An active object needs its object scopes (`crm.objects.courses.read` / `.write`, courses guide);
 *   without them: 403 MISSING_SCOPES with `errors[].context.requiredScopes` (body shape from
 *   HubSpot/hubspot-api-nodejs issues 50 and 268).
 * - `POST /oauth/v2/private-apps/get/access-token-info` `{"tokenKey": ...}` → the private app's
 *   scopes (private apps guide, "Retrieve access token info"; HubSpot/hubspot-api-php issue 171).
 */

const COURSES = LIBRARY_OBJECTS.courses;

/** 403 MISSING_SCOPES as HubSpot words it. */
export function missingScopes(required: string[]): HubSpotHttpError {
  return new HubSpotHttpError(
    403,
    'MISSING_SCOPES',
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
    {
      errors: [{ message: 'One or more of the following scopes are required.', context: { requiredScopes: required } }],
      links: { scopes: 'https://developers.hubspot.com/scopes' },
    },
  );
}

/** True for a CRM path about the Courses object: its records, properties, or associations with it. */
function aboutCourses(path: string): boolean {
  return (
    path.startsWith('/crm/') && !path.startsWith('/crm/v3/object-library') && /\/(?:0-410|courses?)(?:\/|$)/i.test(path)
  );
}

/** A read that is sent as POST: batch reads of records and of associations. */
const isRead = (method: string, path: string) => method === 'GET' || /\/batch\/read\/?$/.test(path);

/**
 * The refusal a request about the Courses object gets before it is routed: the object is not
 * active (as `behaviour.inactiveObject` says), or the app lacks the object scope (records and
 * associations only); undefined when it may go on.
 */
export function objectLibraryRefusal(state: HubSpotState, method: string, path: string): HubSpotHttpError | undefined {
  if (!aboutCourses(path)) return undefined;
  const scope = isRead(method, path) ? 'crm.objects.courses.read' : 'crm.objects.courses.write';
  if (!state.library.active(COURSES)) {
    return state.behaviour.inactiveObject === 'unknown-type-400'
      ? badRequest(`Unable to infer object type from: ${COURSES}`)
      : missingScopes([scope]);
  }
  if (path.startsWith('/crm/v3/properties/')) return undefined;
  return state.library.scopes.has(scope) ? undefined : missingScopes([scope]);
}

/** GET /crm/v3/object-library/enablement: every activatable object and whether it is active. */
export function allEnablement({ state }: RouteContext): RouteAnswer {
  return { status: 200, body: { enablementByObjectTypeId: Object.fromEntries(state.library.enablement) } };
}

/** GET /crm/v3/object-library/enablement/{objectTypeId}: 404 for a type that cannot be activated (contacts, ...). */
export function oneEnablement({ state, params }: RouteContext): RouteAnswer {
  const id = params.objectTypeId!;
  if (!state.library.enablement.has(id))
    throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', `Object type ${id} cannot be activated or deactivated`);
  return { status: 200, body: { enablement: state.library.active(id) } };
}

/** POST /oauth/v2/private-apps/get/access-token-info: the app's scopes. */
export function accessTokenInfo({ state, portal, body }: RouteContext): RouteAnswer {
  if (typeof body?.tokenKey !== 'string' || !body.tokenKey) throw badRequest('tokenKey is required');
  return { status: 200, body: { userId: 1, hubId: portal.portalId, appId: 1, scopes: [...state.library.scopes] } };
}
