import {
  badRequest,
  batchAnswer,
  checkBatchSize,
  checkHistoryReadSize,
  HubSpotHttpError,
  inputsOf,
  recordError,
  typeId,
  type RouteAnswer,
  type RouteContext,
} from './http.ts';
import type { CrmObject, HubSpotState, ObjectType, PropertyDef } from './state.ts';

/** The property a batch call identifies records by; HubSpot refuses properties that are not unique. */
export function idPropertyDef(
  state: HubSpotState,
  type: ObjectType,
  name: string | undefined,
): PropertyDef | undefined {
  if (!name || name === 'hs_object_id') return undefined;
  const def = state.properties[type].get(name);
  const unique = def && (def.hasUniqueValue || (type === 'contacts' && name === 'email'));
  if (!unique)
    throw badRequest(`Unable to perform update/upsert by non-unique ${typeId(type)} property ${name} in portal ID 0`);
  return def;
}

export function normaliseId(idProperty: string, id: unknown): string {
  const s = String(id ?? '');
  return idProperty === 'email' ? s.trim().toLowerCase() : s;
}

/** The live record an id names: by `idProperty`, else by HubSpot id (a merged contact's id leads to the one it went into). */
export function find(
  state: HubSpotState,
  type: ObjectType,
  idProperty: string | undefined,
  id: string,
): CrmObject | undefined {
  return idProperty ? state.findBy(type, idProperty, id) : state.byId(type, id);
}

const DEFAULT_READ: Record<ObjectType, string[]> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  products: ['createdate', 'description', 'hs_object_id', 'lastmodifieddate', 'name', 'price'],
  courses: ['createdate', 'hs_course_name', 'hs_object_id', 'lastmodifieddate'],
};

/** A record as HubSpot shows it: the requested properties (null when unset) and, if asked, their history. */
export function present(
  o: CrmObject,
  type: ObjectType,
  properties: string[] | undefined,
  withHistory: string[] = [],
): Record<string, unknown> {
  const names = properties?.length
    ? [...new Set([...properties, 'hs_object_id', 'createdate', 'lastmodifieddate'])]
    : DEFAULT_READ[type];
  const shown: Record<string, string | null> = {};
  for (const n of names) shown[n] = o.properties[n] ?? null;
  const out: Record<string, unknown> = {
    id: o.id,
    properties: shown,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    archived: o.archived,
  };
  if (o.archivedAt) out.archivedAt = o.archivedAt;
  if (withHistory.length)
    out.propertiesWithHistory = Object.fromEntries(withHistory.map((n) => [n, o.history[n] ?? []]));
  return out;
}

/**
 * POST /crm/v3/objects/{type}/batch/read: 207 with OBJECT_NOT_FOUND for ids it does not find; when
 * it finds none, 404 or an empty 207 as `state.behaviour.allMissingRead` says. At most 100 inputs,
 * 50 when it asks for property history.
 */
export function batchRead(type: ObjectType, { state, body }: RouteContext): RouteAnswer {
  const startedAt = new Date().toISOString();
  const inputs = inputsOf(body);
  checkBatchSize(inputs);
  checkHistoryReadSize(inputs, body.propertiesWithHistory);
  const idProperty = idPropertyDef(state, type, body.idProperty)?.name;
  const results: unknown[] = [];
  const missing: string[] = [];
  const done = new Set<string>();
  for (const input of inputs) {
    const id = normaliseId(idProperty ?? '', input?.id);
    if (done.has(id)) continue;
    done.add(id);
    const o = find(state, type, idProperty, id);
    if (o) results.push(present(o, type, body.properties, body.propertiesWithHistory));
    else missing.push(id);
  }
  const label = ({ contacts: 'CONTACT', products: 'PRODUCT', courses: 'COURSE' } as const)[type];
  const message = `Could not get some ${label} objects, they may be deleted or not exist. Check that ids are valid.`;
  if (!results.length && state.behaviour.allMissingRead === '404')
    throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', message, { context: { ids: missing } });
  return batchAnswer(
    results,
    missing.length ? [recordError('OBJECT_NOT_FOUND', message, { ids: missing })] : [],
    startedAt,
  );
}

/** POST /crm/v3/objects/{type}/batch/archive: 204, also for ids that are unknown or archived already. */
export function batchArchive(type: ObjectType, { state, body }: RouteContext): RouteAnswer {
  const inputs = inputsOf(body);
  checkBatchSize(inputs);
  for (const input of inputs) {
    if (type === 'products') state.archiveProduct(String(input?.id));
    else if (type === 'courses') state.deleteRecord(type, String(input?.id));
    else throw badRequest('The emulator archives products and course records only');
  }
  return { status: 204 };
}

/** GET /crm/v3/objects/{type}/{id}: 404 OBJECT_NOT_FOUND when missing. */
export function getObject(type: ObjectType, { state, params, query }: RouteContext): RouteAnswer {
  const idProperty = idPropertyDef(state, type, query.get('idProperty') ?? undefined)?.name;
  const id = normaliseId(idProperty ?? '', params.id);
  let o = find(state, type, idProperty, id);
  if (!o && query.get('archived') === 'true' && type === 'products') o = state.archivedProducts.get(id);
  if (!o) throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.');
  const list = (name: string) =>
    query
      .getAll(name)
      .flatMap((v) => v.split(','))
      .filter(Boolean);
  return { status: 200, body: present(o, type, list('properties'), list('propertiesWithHistory')) };
}
