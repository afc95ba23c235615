import { badRequest, type RouteAnswer, type RouteContext } from './http.ts';
import { present } from './objects.ts';
import type { CrmObject, ObjectType } from './state.ts';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;

function positiveInt(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw))
    throw badRequest(`Unable to process JSON: invalid value '${raw}' for query parameter ${name}`);
  return Number(raw);
}

/**
 * A paging cursor as HubSpot hands them out: an opaque token (its answers show base64-like
 * strings such as "NTI1Cg%3D%3D", never documented as an id), so a client can only pass back
 * what it was given. The emulator's token hides the last id shown.
 */
function cursorAfter(id: string): string {
  return Buffer.from(`emulator-after:${id}`).toString('base64url');
}

/** The last id a cursor stands for; 400 for anything that is not a cursor this emulator gave out. */
function idAfter(cursor: string | null): number {
  if (cursor === null) return 0;
  const m = /^emulator-after:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw badRequest(`Unable to process JSON: invalid paging cursor '${cursor}' for query parameter after`);
  return Number(m[1]);
}

/**
 * GET /crm/v3/objects/{type}?limit=&after=&properties=&archived=: one page of records in id order
 * (at most 100), with an opaque `paging.next.after` cursor when more follow, as HubSpot's list
 * endpoint answers.
 */
export function listObjects(type: ObjectType, { state, query }: RouteContext): RouteAnswer {
  const limit = Math.min(positiveInt(query, 'limit') ?? DEFAULT_LIMIT, MAX_LIMIT);
  const after = idAfter(query.get('after'));
  const pool: Iterable<CrmObject> =
    query.get('archived') === 'true'
      ? type === 'products'
        ? state.archivedProducts.values()
        : []
      : state.objects[type].values();
  const sorted = [...pool].filter((o) => Number(o.id) > after).sort((a, b) => Number(a.id) - Number(b.id));
  const page = sorted.slice(0, limit);
  const properties = query
    .getAll('properties')
    .flatMap((v) => v.split(','))
    .filter(Boolean);
  const body: Record<string, unknown> = { results: page.map((o) => present(o, type, properties)) };
  if (sorted.length > limit) {
    const next = cursorAfter(page[page.length - 1]!.id);
    body.paging = { next: { after: next, link: `?after=${next}` } };
  }
  return { status: 200, body };
}
