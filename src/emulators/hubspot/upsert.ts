import { badRequest, batchAnswer, checkBatchSize, inputsOf, recordError, typeId, type ErrorDetail, type RouteAnswer, type RouteContext } from './http.ts';
import { contactExists, contactExistsRecord, promoteSecondary } from './identities.ts';
import { find, idPropertyDef, normaliseId } from './objects.ts';
import type { CrmObject, HubSpotState, ObjectType, PropertyDef } from './state.ts';
import { checkValue, invalidValuesMessage, unknownProperty, type ValueError } from './values.ts';

interface Prepared {
  idProperty: string;
  id: string;
  properties: Record<string, string>;
}

/** Unknown properties and enumeration values that are not options in one input. */
function unknownValues(defs: Map<string, PropertyDef>, p: Prepared): ValueError[] {
  return Object.entries(p.properties).flatMap(([name, value]) => {
    const def = defs.get(name);
    if (!def) return [unknownProperty(name)];
    const e = def.type === 'enumeration' ? checkValue(def, value) : undefined;
    return e ? [e] : [];
  });
}

function details(errors: ValueError[]): ErrorDetail[] {
  return errors.map((e) => ({ message: e.message, code: e.error, in: e.name }));
}

/** The contact holding the address a contact upsert by e-mail names, when no contact has it as primary. */
function holderOf(state: HubSpotState, type: ObjectType, p: Prepared): CrmObject | undefined {
  if (type !== 'contacts' || p.idProperty !== 'email' || state.contact(p.id)) return undefined;
  return state.contactHolding(p.id);
}

function prepare(state: HubSpotState, type: ObjectType, inputs: any[]): Prepared[] {
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
  return prepared;
}

/**
 * POST /crm/v3/objects/{type}/batch/upsert: 400 for the whole batch, 207 for per-record errors.
 * Unknown properties and options, and addresses held as another contact's secondary address, are
 * answered as `state.behaviour` says (see behaviour.ts).
 */
export function batchUpsert(type: ObjectType, { state, body }: RouteContext): RouteAnswer {
  const startedAt = new Date().toISOString();
  const inputs = inputsOf(body);
  checkBatchSize(inputs);
  const defs = state.properties[type];
  const prepared = prepare(state, type, inputs);
  const { invalidValues, secondaryEmail } = state.behaviour;

  if (invalidValues === 'batch-400') {
    const all = prepared.flatMap((p) => unknownValues(defs, p));
    if (all.length) throw badRequest(invalidValuesMessage(all));
  }
  const holders = new Map(prepared.map((p) => [p, holderOf(state, type, p)]));
  if (secondaryEmail === 'conflict-409') {
    const first = prepared.find((p) => holders.get(p));
    if (first) throw contactExists(first.id, holders.get(first)!, state);
  }

  const results: unknown[] = [];
  const errors: unknown[] = [];
  for (const p of prepared) {
    let values: Record<string, string> = { ...p.properties, [p.idProperty]: p.id };
    const invalid = [
      ...(invalidValues === 'record-207' ? unknownValues(defs, p) : []),
      ...Object.entries(values).flatMap(([name, value]) => {
        const def = defs.get(name);
        const e = def && checkValue(def, value);
        return e ? [e] : [];
      }),
    ];
    if (invalid.length) {
      errors.push(recordError('VALIDATION_ERROR', invalidValuesMessage(invalid), { ids: [p.id] }, details(invalid)));
      continue;
    }
    const holder = holders.get(p);
    if (holder && secondaryEmail === 'conflict-207') {
      errors.push(contactExistsRecord(p.id, holder));
      continue;
    }
    const existing = find(state, type, p.idProperty, p.id) ?? holder;
    const clash = Object.entries(values).find(([name, value]) => {
      if (!defs.get(name)?.hasUniqueValue || value === '') return false;
      const other = state.findBy(type, name, value);
      return other && other !== existing;
    });
    if (clash) {
      errors.push(recordError('VALIDATION_ERROR', `A ${typeId(type)} record with the unique value "${clash[1]}" for property "${clash[0]}" already exists`, { ids: [p.id] }));
      continue;
    }
    if (holder) values = { ...values, ...promoteSecondary(state, holder, p.id) };
    const o = existing ?? state.create(type);
    state.write(type, o, values);
    state.writes.push({ objectType: type, id: o.id, properties: values, created: !existing, at: Date.now() });
    const shown = { ...values, hs_object_id: o.id, createdate: o.properties.createdate!, lastmodifieddate: o.properties.lastmodifieddate! };
    results.push({ id: o.id, properties: shown, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: false, new: !existing });
  }
  return batchAnswer(results, errors, startedAt);
}
