import { associateDefault, createLabelled, labels, readAssociations } from './associations.ts';
import { objectTypeOf, type Handler, type Route } from './http.ts';
import { accessTokenInfo, allEnablement, oneEnablement } from './object-library.ts';
import { listObjects } from './list-objects.ts';
import { gdprDelete, mergeContacts } from './identities.ts';
import { batchArchive, batchRead, getObject } from './objects.ts';
import {
  createGroup,
  createProperty,
  getGroup,
  getProperty,
  listGroups,
  listProperties,
  updateProperty,
} from './properties.ts';
import { batchUpsert } from './upsert.ts';

const OBJECTS = '(?<objectType>contacts|products|courses|0-1|0-7|0-410)';
const PAIR = '/crm/v4/associations/(?<fromObjectType>[^/]+)/(?<toObjectType>[^/]+)';
const SEGMENT = '(?<name>[^/]+)';

function route(method: string, path: string, handler: Handler): Route {
  return { method, pattern: new RegExp(`^${path}/?$`), handler };
}

/** Every endpoint the emulator serves; the first match wins (so `/groups` is tried before `/{name}`). */
export const ROUTES: Route[] = [
  route('POST', `/crm/v3/objects/${OBJECTS}/batch/upsert`, (c) => batchUpsert(objectTypeOf(c.params.objectType), c)),
  route('POST', `/crm/v3/objects/${OBJECTS}/batch/read`, (c) => batchRead(objectTypeOf(c.params.objectType), c)),
  route('POST', `/crm/v3/objects/${OBJECTS}/batch/archive`, (c) => batchArchive(objectTypeOf(c.params.objectType), c)),
  route('POST', '/crm/v3/objects/(?:contacts|0-1)/merge', mergeContacts),
  route('POST', '/crm/v3/objects/(?:contacts|0-1)/gdpr-delete', gdprDelete),
  route('GET', `/crm/v3/objects/${OBJECTS}`, (c) => listObjects(objectTypeOf(c.params.objectType), c)),
  route('GET', `/crm/v3/objects/${OBJECTS}/(?<id>[^/]+)`, (c) => getObject(objectTypeOf(c.params.objectType), c)),
  route('GET', `/crm/v3/properties/${OBJECTS}/groups`, listGroups),
  route('POST', `/crm/v3/properties/${OBJECTS}/groups`, createGroup),
  route('GET', `/crm/v3/properties/${OBJECTS}/groups/${SEGMENT}`, getGroup),
  route('GET', `/crm/v3/properties/${OBJECTS}`, listProperties),
  route('POST', `/crm/v3/properties/${OBJECTS}`, createProperty),
  route('GET', `/crm/v3/properties/${OBJECTS}/${SEGMENT}`, getProperty),
  route('PATCH', `/crm/v3/properties/${OBJECTS}/${SEGMENT}`, updateProperty),
  // Account information (account-info.ts): the portal's time zone and its daily API usage.
  route('GET', '/account-info/v3/details', (c) => c.portal.details()),
  route('GET', '/account-info/v3/api-usage/daily/private-apps', (c) => c.portal.dailyUsage()),
  // The object library (object-library.ts) and the v4 associations (associations.ts).
  route('GET', '/crm/v3/object-library/enablement', allEnablement),
  route('GET', '/crm/v3/object-library/enablement/(?<objectTypeId>[^/]+)', oneEnablement),
  route('POST', `${PAIR}/batch/associate/default`, associateDefault),
  route('POST', `${PAIR}/batch/create`, createLabelled),
  route('POST', `${PAIR}/batch/read`, readAssociations),
  route('GET', `${PAIR}/labels`, labels),
  route('POST', '/oauth/v2/private-apps/get/access-token-info', accessTokenInfo),
];

/** The route for a request and the named parts of its path, if any. */
export function match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
  for (const r of ROUTES) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (m)
      return {
        route: r,
        params: Object.fromEntries(Object.entries(m.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)])),
      };
  }
  return undefined;
}
