import { badRequest, checkBatchSize, HubSpotHttpError, inputsOf, typeId, type RouteAnswer, type RouteContext } from './http.ts';
import type { CrmObject, HubSpotState, ObjectType, PropertyDef } from './state.ts';
import { checkValue, invalidValuesMessage, unknownProperty, type ValueError } from './values.ts';

/** A 207 per-record error, as HubSpot lists it in `errors[]`. */
function recordError(category: string, message: string, context: Record<string, string[]>) {
  return { status: 'error', category, message, context };
}

function batchAnswer(results: unknown[], errors: unknown[], startedAt: string): RouteAnswer {
  const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
  if (!errors.length) return { status: 200, body };
  return { status: 207, body: { ...body, numErrors: errors.length, errors } };
}

/** The property a batch call identifies records by; HubSpot refuses properties that are not unique. */
function idPropertyDef(state: HubSpotState, type: ObjectType, name: string | undefined): PropertyDef | undefined {
  if (!name || name === 'hs_object_id') return undefined;
  const def = state.properties[type].get(name);
  const unique = def && (def.hasUniqueValue || (type === 'contacts' && name === 'email'));
  if (!unique) throw badRequest(`Unable to perform update/upsert by non-unique ${typeId(type)} property ${name} in portal ID 0`);
  return def;
}

function normaliseId(idProperty: string, id: unknown): string {
  const s = String(id ?? '');
  return idProperty === 'email' ? s.trim().toLowerCase() : s;
}

function find(state: HubSpotState, type: ObjectType, idProperty: string | undefined, id: string): CrmObject | undefined {
  return idProperty ? state.findBy(type, idProperty, id) : state.objects[type].get(id);
}

/** POST /crm/v3/objects/{type}/batch/upsert: 400 for the whole batch, 207 for per-record errors. */
export function batchUpsert(type: ObjectType, { state, body }: RouteContext): RouteAnswer {
  const startedAt = new Date().toISOString();
  const inputs = inputsOf(body);
  checkBatchSize(inputs);
  const defs = state.properties[type];
  const prepared = inputs.map((input) => {
    if (!input?.idProperty) throw badRequest('Upsert requires idProperty on every input');
    idPropertyDef(state, type, input.idProperty);
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.properties ?? {})) properties[k] = v === null ? '' : String(v);
    return { idProperty: String(input.idProperty), id: normaliseId(input.idProperty, input.id), properties };
  });

  const seen = new Set<string>();
  const dupes = new Set<string>();
  for (const p of prepared) (seen.has(`${p.idProperty}\0${p.id}`) ? dupes : seen).add(`${p.idProperty}\0${p.id}`);
  if (dupes.size) throw badRequest(`Duplicate IDs found in batch input: [${[...dupes].map((d) => d.split('\0')[1]).join(', ')}]. IDs must be unique`);

  // Unknown properties and enumeration values that are not options fail the whole call.
  const batchErrors: ValueError[] = [];
  for (const p of prepared) {
    for (const [name, value] of Object.entries(p.properties)) {
      const def = defs.get(name);
      if (!def) batchErrors.push(unknownProperty(name));
      else if (def.type === 'enumeration') {
        const e = checkValue(def, value);
        if (e) batchErrors.push(e);
      }
    }
  }
  if (batchErrors.length) throw badRequest(invalidValuesMessage(batchErrors));

  const results: unknown[] = [];
  const errors: unknown[] = [];
  for (const p of prepared) {
    const values = { ...p.properties, [p.idProperty]: p.id };
    const invalid = Object.entries(values)
      .map(([name, value]) => checkValue(defs.get(name)!, value))
      .filter((e): e is ValueError => !!e);
    if (invalid.length) {
      errors.push(recordError('VALIDATION_ERROR', invalidValuesMessage(invalid), { ids: [p.id] }));
      continue;
    }
    const existing = find(state, type, p.idProperty, p.id);
    const clash = Object.entries(values).find(([name, value]) => {
      if (!defs.get(name)?.hasUniqueValue || value === '') return false;
      const holder = state.findBy(type, name, value);
      return holder && holder !== existing;
    });
    if (clash) {
      errors.push(recordError('VALIDATION_ERROR', `A ${typeId(type)} record with the unique value "${clash[1]}" for property "${clash[0]}" already exists`, { ids: [p.id] }));
      continue;
    }
    const o = existing ?? state.create(type);
    state.write(type, o, values);
    state.writes.push({ objectType: type, id: o.id, properties: values, created: !existing, at: Date.now() });
    const shown = { ...values, hs_object_id: o.id, createdate: o.properties.createdate!, lastmodifieddate: o.properties.lastmodifieddate! };
    results.push({ id: o.id, properties: shown, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: false, new: !existing });
  }
  return batchAnswer(results, errors, startedAt);
}

const DEFAULT_READ: Record<ObjectType, string[]> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  products: ['createdate', 'description', 'hs_object_id', 'lastmodifieddate', 'name', 'price'],
};

/** A record as HubSpot shows it: the requested properties (null when unset) and, if asked, their history. */
export function present(o: CrmObject, type: ObjectType, properties: string[] | undefined, withHistory: string[] = []): Record<string, unknown> {
  const names = properties?.length ? [...new Set([...properties, 'hs_object_id', 'createdate', 'lastmodifieddate'])] : DEFAULT_READ[type];
  const shown: Record<string, string | null> = {};
  for (const n of names) shown[n] = o.properties[n] ?? null;
  const out: Record<string, unknown> = { id: o.id, properties: shown, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: o.archived };
  if (o.archivedAt) out.archivedAt = o.archivedAt;
  if (withHistory.length) out.propertiesWithHistory = Object.fromEntries(withHistory.map((n) => [n, o.history[n] ?? []]));
  return out;
}

/** POST /crm/v3/objects/{type}/batch/read: 207 with OBJECT_NOT_FOUND for ids it does not find. */
export function batchRead(type: ObjectType, { state, body }: RouteContext): RouteAnswer {
  const startedAt = new Date().toISOString();
  const inputs = inputsOf(body);
  checkBatchSize(inputs);
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
  const label = type === 'contacts' ? 'CONTACT' : 'PRODUCT';
  const errors = missing.length
    ? [recordError('OBJECT_NOT_FOUND', `Could not get some ${label} objects, they may be deleted or not exist. Check that ids are valid.`, { ids: missing })]
    : [];
  return batchAnswer(results, errors, startedAt);
}

/** POST /crm/v3/objects/{type}/batch/archive: 204, also for ids that are unknown or archived already. */
export function batchArchive(type: ObjectType, { state, body }: RouteContext): RouteAnswer {
  const inputs = inputsOf(body);
  checkBatchSize(inputs);
  for (const input of inputs) {
    if (type === 'products') state.archiveProduct(String(input?.id));
    else throw badRequest('The emulator archives products only');
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
  const list = (name: string) => query.getAll(name).flatMap((v) => v.split(',')).filter(Boolean);
  return { status: 200, body: present(o, type, list('properties'), list('propertiesWithHistory')) };
}
