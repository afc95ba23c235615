import { badRequest, type RouteAnswer, type RouteContext } from './http.ts';
import { present } from './objects.ts';
import type { CrmObject, ObjectType } from './state.ts';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;

function positiveInt(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw)) throw badRequest(`Unable to process JSON: invalid value '${raw}' for query parameter ${name}`);
  return Number(raw);
}

/**
 * GET /crm/v3/objects/{type}?limit=&after=&properties=&archived=: one page of records in id order
 * (at most 100), with `paging.next.after` when more follow, as HubSpot's list endpoint answers.
 */
export function listObjects(type: ObjectType, { state, query }: RouteContext): RouteAnswer {
  const limit = Math.min(positiveInt(query, 'limit') ?? DEFAULT_LIMIT, MAX_LIMIT);
  const after = positiveInt(query, 'after') ?? 0;
  const pool: Iterable<CrmObject> = query.get('archived') === 'true' ? (type === 'products' ? state.archivedProducts.values() : []) : state.objects[type].values();
  const sorted = [...pool].filter((o) => Number(o.id) > after).sort((a, b) => Number(a.id) - Number(b.id));
  const page = sorted.slice(0, limit);
  const properties = query.getAll('properties').flatMap((v) => v.split(',')).filter(Boolean);
  const body: Record<string, unknown> = { results: page.map((o) => present(o, type, properties)) };
  if (sorted.length > limit) {
    const next = page[page.length - 1]!.id;
    body.paging = { next: { after: next, link: `?after=${next}` } };
  }
  return { status: 200, body };
}
