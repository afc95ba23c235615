import {
  badRequest,
  batchAnswer,
  checkBatchSize,
  HubSpotHttpError,
  inputsOf,
  recordError,
  typeId,
  type ErrorDetail,
  type RouteAnswer,
  type RouteContext,
} from './http.ts';
import { contactExists, contactExistsRecord, promoteSecondary } from './identities.ts';
import { find, idPropertyDef, normaliseId } from './objects.ts';
import type { CrmObject, HubSpotState, ObjectType, PropertyDef } from './state.ts';
import { checkValue, invalidValuesMessage, unknownProperty, type ValueError } from './values.ts';

interface Prepared {
  idProperty: string;
  id: string;
  properties: Record<string, string>;
  /** The input's `objectWriteTraceId`, echoed on its result or error. */
  traceId?: string;
}

/** What one input comes to: a write, or the error it is refused with (and the status a whole-batch refusal would have). */
type Verdict =
  | { write: { existing?: CrmObject; holder?: CrmObject; values: Record<string, string> } }
  | { error: Record<string, unknown>; refusal: HubSpotHttpError };

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
    const traceId =
      typeof input.objectWriteTraceId === 'string' && input.objectWriteTraceId ? input.objectWriteTraceId : undefined;
    return { idProperty: String(input.idProperty), id: normaliseId(input.idProperty, input.id), properties, traceId };
  });
  const seen = new Set<string>();
  const dupes = new Set<string>();
  for (const p of prepared) (seen.has(`${p.idProperty}\0${p.id}`) ? dupes : seen).add(`${p.idProperty}\0${p.id}`);
  if (dupes.size) {
    const ids = [...dupes].map((d) => d.split('\0')[1]!);
    throw badRequest(`Duplicate IDs found in batch input: [${ids.join(', ')}]. IDs must be unique`, {
      context: { ids },
    });
  }
  return prepared;
}

/** What a per-record error names the input by: its id, and its trace id when it sent one. */
function contextOf(p: Prepared): Record<string, string[]> {
  return { ids: [p.id], ...(p.traceId ? { objectWriteTraceId: [p.traceId] } : {}) };
}

/**
 * True when HubSpot may answer per record: every input carries a trace id and no two share one
 * (behaviour `multiStatus`, see behaviour.ts), or the behaviour says it always does.
 */
function answersPerRecord(state: HubSpotState, prepared: Prepared[]): boolean {
  if (state.behaviour.multiStatus !== 'trace-id') return state.behaviour.multiStatus === 'always';
  const ids = prepared.map((p) => p.traceId);
  return ids.every((t) => t !== undefined) && new Set(ids).size === ids.length;
}

/** Decides one input: the values to write and over which record, or why it is refused. */
function judge(
  state: HubSpotState,
  type: ObjectType,
  p: Prepared,
  planned: Map<string, Map<string, Prepared>>,
): Verdict {
  const defs = state.properties[type];
  const { invalidValues, secondaryEmail } = state.behaviour;
  const values: Record<string, string> = { ...p.properties, [p.idProperty]: p.id };
  const invalid = [
    ...(invalidValues === 'record-207' ? unknownValues(defs, p) : []),
    ...Object.entries(values).flatMap(([name, value]) => {
      const e = defs.get(name) && checkValue(defs.get(name)!, value);
      return e ? [e] : [];
    }),
  ];
  if (invalid.length) {
    const message = invalidValuesMessage(invalid);
    return {
      error: recordError('VALIDATION_ERROR', message, contextOf(p), details(invalid)),
      refusal: badRequest(message),
    };
  }
  const holder = holderOf(state, type, p);
  if (holder && secondaryEmail === 'conflict-207')
    return { error: contactExistsRecord(holder, contextOf(p)), refusal: contactExists(holder) };
  const existing = find(state, type, p.idProperty, p.id) ?? holder;
  const clash = Object.entries(values).find(([name, value]) => {
    if (!defs.get(name)?.hasUniqueValue || value === '') return false;
    const other = state.findBy(type, name, value);
    const twin = planned.get(name)?.get(value);
    return (other && other !== existing) || (twin && twin !== p);
  });
  if (clash) {
    const message = `A ${typeId(type)} record with the unique value "${clash[1]}" for property "${clash[0]}" already exists`;
    return { error: recordError('VALIDATION_ERROR', message, contextOf(p)), refusal: badRequest(message) };
  }
  for (const [name, value] of Object.entries(values))
    if (defs.get(name)?.hasUniqueValue && value !== '')
      planned.set(name, (planned.get(name) ?? new Map()).set(value, p));
  return { write: { existing, holder, values } };
}

/**
 * POST /crm/v3/objects/{type}/batch/upsert. Every input is judged before anything is written: a
 * refused input fails the whole batch (400, or 409 for an address another contact holds) unless
 * HubSpot answers per record (`answersPerRecord`), in which case the others are written and the
 * refused ones come back as errors of a 207, each naming its input's id and `objectWriteTraceId`.
 * Unknown properties and options, and addresses held as another contact's secondary address, are
 * answered as `state.behaviour` says (see behaviour.ts).
 */
export function batchUpsert(type: ObjectType, { state, body }: RouteContext): RouteAnswer {
  const startedAt = new Date().toISOString();
  const inputs = inputsOf(body);
  checkBatchSize(inputs);
  const prepared = prepare(state, type, inputs);
  const { invalidValues, secondaryEmail } = state.behaviour;

  if (invalidValues === 'batch-400') {
    const all = prepared.flatMap((p) => unknownValues(state.properties[type], p));
    if (all.length) throw badRequest(invalidValuesMessage(all));
  }
  if (secondaryEmail === 'conflict-409') {
    const holder = prepared.map((p) => holderOf(state, type, p)).find(Boolean);
    if (holder) throw contactExists(holder);
  }

  const planned = new Map<string, Map<string, Prepared>>();
  const verdicts = prepared.map((p) => judge(state, type, p, planned));
  const refused = verdicts.find((v): v is Extract<Verdict, { error: unknown }> => 'error' in v);
  if (refused && !answersPerRecord(state, prepared)) throw refused.refusal;

  const results: unknown[] = [];
  const errors: unknown[] = [];
  prepared.forEach((p, i) => {
    const v = verdicts[i]!;
    if ('error' in v) {
      errors.push(v.error);
      return;
    }
    const { existing, holder } = v.write;
    const values = holder ? { ...v.write.values, ...promoteSecondary(state, holder, p.id) } : v.write.values;
    const o = existing ?? state.create(type);
    state.write(type, o, values);
    state.writes.push({ objectType: type, id: o.id, properties: values, created: !existing, at: Date.now() });
    const shown = {
      ...values,
      hs_object_id: o.id,
      createdate: o.properties.createdate!,
      lastmodifieddate: o.properties.lastmodifieddate!,
    };
    results.push({
      id: o.id,
      properties: shown,
      createdAt: o.createdAt,
      updatedAt: o.updatedAt,
      archived: false,
      new: !existing,
      ...(p.traceId ? { objectWriteTraceId: p.traceId } : {}),
    });
  });
  return batchAnswer(results, errors, startedAt);
}
