import { defaultTypeId } from './association-store.ts';
import {
  badRequest,
  batchAnswer,
  checkBatchSize,
  inputsOf,
  objectTypeOf,
  recordError,
  typeId,
  type RouteAnswer,
  type RouteContext,
} from './http.ts';
import type { HubSpotState, ObjectType } from './state.ts';

/**
 * The v4 associations API, as the reference shows it (developers.hubspot.com/docs/api-reference
 * /latest/crm/associations, "Create default associations" / "Batch create associations" / "Retrieve
 * association labels" / "Batch read"):
 * - `POST /crm/v4/associations/{from}/{to}/batch/associate/default` `{"inputs":[{"from":{"id"},"to":{"id"}}]}`
 *   → 200 with one result per direction (`associationSpec`: HUBSPOT_DEFINED and the default type id);
 * - `GET /crm/v4/associations/{from}/{to}/labels` → `{"results":[{"category","typeId","label"}]}`
 *   (the default type has label null);
 * - `POST /crm/v4/associations/{from}/{to}/batch/create` `{"inputs":[{"from","to","types":[{associationCategory, associationTypeId}]}]}` → 201;
 * - `POST /crm/v4/associations/{from}/{to}/batch/read` `{"inputs":[{"id"}]}` → each record's associations.
 * At most 100 inputs (as every batch). A record that does not exist: `behaviour.associationMissing`;
 * `objectWriteTraceId` on the inputs: `behaviour.associationTraceIds` (behaviour.ts says why).
 */

interface Pair {
  fromId: string;
  toId: string;
  traceId?: string;
  types?: number[];
}

function pairsOf(state: HubSpotState, body: any): Pair[] {
  const inputs = inputsOf(body);
  checkBatchSize(inputs);
  return inputs.map((input, i) => {
    const traceId = input?.objectWriteTraceId;
    if (traceId !== undefined && state.behaviour.associationTraceIds === 'refused') {
      throw badRequest(
        `Invalid input JSON on line 1, column ${20 + i}: Unrecognized field "objectWriteTraceId" (class com.hubspot.crm.associations.v4.PublicDefaultAssociationMultiPost), not marked as ignorable`,
      );
    }
    const fromId = input?.from?.id;
    const toId = input?.to?.id;
    if (fromId === undefined || toId === undefined)
      throw badRequest(
        'Invalid input JSON: Cannot build PublicDefaultAssociationMultiPost, some of required attributes are not set [from, to]',
      );
    const types = Array.isArray(input?.types) ? input.types.map((t: any) => Number(t?.associationTypeId)) : undefined;
    return {
      fromId: String(fromId),
      toId: String(toId),
      traceId: typeof traceId === 'string' ? traceId : undefined,
      types,
    };
  });
}

const NAMES: Record<ObjectType, string> = { contacts: 'Contact', products: 'Product', courses: 'Course' };

/** Why a pair cannot be associated (a record missing), as HubSpot words an invalid object id. */
function missing(
  state: HubSpotState,
  from: ObjectType,
  to: ObjectType,
  p: Pair,
): { message: string; context: Record<string, string[]> } | undefined {
  const trace: Record<string, string[]> = p.traceId ? { objectWriteTraceId: [p.traceId] } : {};
  if (!state.objects[from].get(p.fromId))
    return { message: `${NAMES[from]}=${p.fromId} is not valid`, context: { fromObjectId: [p.fromId], ...trace } };
  if (!state.objects[to].get(p.toId))
    return { message: `${NAMES[to]}=${p.toId} is not valid`, context: { toObjectId: [p.toId], ...trace } };
  return undefined;
}

/** Splits pairs into those that can be associated and the errors of the others (or throws the whole batch's 400). */
function judge(
  state: HubSpotState,
  from: ObjectType,
  to: ObjectType,
  pairs: Pair[],
): { ok: Pair[]; errors: unknown[] } {
  const ok: Pair[] = [];
  const errors: unknown[] = [];
  for (const p of pairs) {
    const m = missing(state, from, to, p);
    if (!m) ok.push(p);
    else if (state.behaviour.associationMissing === 'batch-400')
      throw badRequest(m.message, { context: m.context, subCategory: 'crm.associations.INVALID_OBJECT_IDS' });
    else
      errors.push({
        ...recordError('VALIDATION_ERROR', m.message, m.context),
        subCategory: 'crm.associations.INVALID_OBJECT_IDS',
      });
  }
  return { ok, errors };
}

function typesOf(c: RouteContext): { from: ObjectType; to: ObjectType; forward: number; back: number } {
  const from = objectTypeOf(c.params.fromObjectType);
  const to = objectTypeOf(c.params.toObjectType);
  const forward = defaultTypeId(from, to);
  const back = defaultTypeId(to, from);
  if (forward === undefined || back === undefined)
    throw badRequest(`No association type between ${typeId(from)} and ${typeId(to)} in the emulator`);
  return { from, to, forward, back };
}

const spec = (associationTypeId: number) => ({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId });

/** POST .../batch/associate/default. */
export function associateDefault(c: RouteContext): RouteAnswer {
  const startedAt = new Date().toISOString();
  const { from, to, forward, back } = typesOf(c);
  const { ok, errors } = judge(c.state, from, to, pairsOf(c.state, c.body));
  const results = ok.flatMap((p) => {
    c.state.associations.add(from, p.fromId, to, p.toId, forward);
    c.state.associations.add(to, p.toId, from, p.fromId, back);
    return [
      { from: { id: p.fromId }, to: { id: p.toId }, associationSpec: spec(forward) },
      { from: { id: p.toId }, to: { id: p.fromId }, associationSpec: spec(back) },
    ];
  });
  return batchAnswer(results, errors, startedAt);
}

/** POST .../batch/create: the types given (each must be one the pair has). */
export function createLabelled(c: RouteContext): RouteAnswer {
  const startedAt = new Date().toISOString();
  const { from, to, forward, back } = typesOf(c);
  const { ok, errors } = judge(c.state, from, to, pairsOf(c.state, c.body));
  const results = ok.map((p) => {
    const types = p.types?.length ? p.types : [forward];
    if (types.some((t) => t !== forward))
      throw badRequest(`Association type ${types.join(', ')} is not valid from ${typeId(from)} to ${typeId(to)}`);
    c.state.associations.add(from, p.fromId, to, p.toId, forward);
    c.state.associations.add(to, p.toId, from, p.fromId, back);
    return {
      fromObjectTypeId: typeId(from),
      fromObjectId: p.fromId,
      toObjectTypeId: typeId(to),
      toObjectId: p.toId,
      labels: [],
    };
  });
  const answer = batchAnswer(results, errors, startedAt);
  return answer.status === 200 ? { ...answer, status: 201 } : answer;
}

/** GET .../labels: the pair's association types (the default one, unlabeled). */
export function labels(c: RouteContext): RouteAnswer {
  const { forward } = typesOf(c);
  return { status: 200, body: { results: [{ category: 'HUBSPOT_DEFINED', typeId: forward, label: null }] } };
}

/** POST .../batch/read: each record's associated records of the other type. */
export function readAssociations(c: RouteContext): RouteAnswer {
  const startedAt = new Date().toISOString();
  const from = objectTypeOf(c.params.fromObjectType);
  const to = objectTypeOf(c.params.toObjectType);
  const inputs = inputsOf(c.body);
  checkBatchSize(inputs);
  const results = inputs
    .map((i) => String(i?.id))
    .map((id) => ({ id, to: c.state.associations.from(from, id, to) }))
    .filter((r) => r.to.length)
    .map((r) => ({
      from: { id: r.id },
      to: r.to.map((a) => ({
        toObjectId: a.toId,
        associationTypes: a.typeIds.map((t) => ({ category: 'HUBSPOT_DEFINED', typeId: t, label: null })),
      })),
    }));
  return batchAnswer(results, [], startedAt);
}
