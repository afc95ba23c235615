import type { Client } from '@hubspot/api-client';
import type { BatchResponseSimplePublicUpsertObject, BatchResponseSimplePublicUpsertObjectWithErrors, StandardError } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import type { HubSpotCall } from './call.ts';
import type { ContactUpsertInput } from './contact-mapping.ts';
import type { CourseOptions } from './course-options.ts';
import { HubSpotCallError } from './errors.ts';
import { ENROLLED_COURSES } from './properties.ts';

/** What the batch upsert needs. */
export interface ContactUpsertDeps {
  client: Client;
  call: HubSpotCall;
  /** The course checkbox's options (re-read and completed when HubSpot says one is missing). */
  options: Pick<CourseOptions, 'ensure' | 'has'>;
  /** The once-per-process property set-up (re-run when HubSpot says a property is missing). */
  setup: { ensure(): Promise<unknown>; forget(): void };
}

/** What became of one input of the upsert. */
export type UpsertResult =
  | { id: string; created: boolean }
  /** HubSpot refused this record as sent: retrying cannot help. */
  | { rejected: string }
  /** Not settled this time: try again later. */
  | { retry: string }
  /** Another contact (HubSpot id `contactId`) holds this address, e.g. as a secondary one or after a merge. */
  | { conflict: string };

/** A repair of what HubSpot names as missing: the property set-up, or an option of the course checkbox. */
type Fix = 'setup' | 'options';

type UpsertResponse = BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors;

/** The repair a refusal asks for, if it names a missing property or option. */
function fixFor(message: string): Fix | undefined {
  return message.includes('PROPERTY_DOESNT_EXIST') ? 'setup' : message.includes('INVALID_OPTION') ? 'options' : undefined;
}

/** The HubSpot id in "Contact already exists. Existing ID: 123". */
function existingContactId(message: string): string | undefined {
  return /Existing ID: (\d+)/.exec(message)?.[1];
}

export function coursesOf(inputs: ContactUpsertInput[]): string[] {
  return [...new Set(inputs.flatMap((i) => (i.properties[ENROLLED_COURSES] ?? '').split(';').filter(Boolean)))];
}

/** One 207 error's verdict for the records it concerns. */
function verdict(e: StandardError, targets: number): UpsertResult | { fix: Fix } {
  const text = `HubSpot 207 ${e.category}: ${e.message}`;
  const fix = e.category === 'VALIDATION_ERROR' ? fixFor(e.message) : undefined;
  if (fix) return { fix };
  const existing = ['OBJECT_ALREADY_EXISTS', 'CONFLICT'].includes(e.category) ? existingContactId(e.message) : undefined;
  // A conflict names one contact: it cannot be pinned on several records.
  if (existing) return targets === 1 ? { conflict: existing } : { retry: text };
  return { rejected: text };
}

/** Results of a 200/207 by input id (e-mail); records to repair by the repair they need. */
function readUpsert(data: UpsertResponse, inputs: ContactUpsertInput[]): { results: Map<string, UpsertResult>; fixes: Map<Fix, string[]> } {
  const ids = new Set(inputs.map((i) => i.id));
  const results = new Map<string, UpsertResult>();
  const fixes = new Map<Fix, string[]>();
  const unmatched = data.results.filter((r) => {
    const email = r.properties.email?.toLowerCase();
    if (!email || !ids.has(email)) return true;
    results.set(email, { id: r.id, created: r._new });
    return false;
  });
  const open = () => inputs.map((i) => i.id).filter((id) => !results.has(id) && ![...fixes.values()].flat().includes(id));
  for (const e of ('errors' in data ? data.errors : undefined) ?? []) {
    const named = Object.values(e.context ?? {}).flat().map((v) => String(v).toLowerCase()).filter((v) => ids.has(v));
    const targets = named.length ? named : open();
    const v = verdict(e, targets.length);
    for (const id of targets) {
      if (results.has(id)) continue;
      if ('fix' in v) fixes.set(v.fix, [...(fixes.get(v.fix) ?? []), id]);
      else results.set(id, v);
    }
  }
  // A contact HubSpot wrote under another primary address (it found it by a secondary one): one left of each can only pair up.
  const left = open();
  if (left.length === 1 && unmatched.length === 1) results.set(left[0]!, { id: unmatched[0]!.id, created: unmatched[0]!._new });
  for (const id of open()) results.set(id, { retry: 'HubSpot answered without this contact' });
  return { results, fixes };
}

/** The address a 409 names ("A contact with email x already exists"), if it is one of `inputs`. */
function conflictingInput(err: HubSpotCallError, inputs: ContactUpsertInput[]): string | undefined {
  const body = (err.cause as { body?: { errors?: { message?: string }[] } } | undefined)?.body;
  const ids = new Set(inputs.map((i) => i.id));
  for (const e of body?.errors ?? []) {
    const email = /email (\S+) already exists/i.exec(e.message ?? '')?.[1]?.toLowerCase();
    if (email && ids.has(email)) return email;
  }
  return undefined;
}

/**
 * Repairs what HubSpot named as missing, once per kind: re-runs the property set-up, or re-reads
 * the course options and adds the missing ones (someone may have deleted one by hand). A second
 * refusal of the same kind is thrown as transient: the batch is retried with backoff, not rejected.
 */
async function repair(deps: ContactUpsertDeps, names: Map<string, string | undefined>, fixes: Fix[], inputs: ContactUpsertInput[], repaired: Set<Fix>, message: string): Promise<Set<Fix>> {
  const again = fixes.find((f) => repaired.has(f));
  if (again) {
    const what = again === 'setup' ? 're-running the property set-up' : 're-reading the course options';
    throw new HubSpotCallError({ kind: 'transient', message: `HubSpot still refuses the contacts after ${what}: ${message}` }, 'contacts.upsert');
  }
  if (fixes.includes('setup')) {
    deps.setup.forget();
    await deps.setup.ensure();
  }
  if (fixes.includes('options')) await deps.options.ensure(new Map(coursesOf(inputs).map((id) => [id, names.get(id)])), true);
  return new Set([...repaired, ...fixes]);
}

/**
 * Batch upsert by e-mail. A missing property or option, named in a 400 for the batch or per record
 * in a 207, is repaired and those records sent again. A 409 naming the contact that holds an address
 * settles that input as a conflict. Other 400s halve the batch until the refused records stand
 * alone, so one bad record never takes the others down with it.
 */
export async function upsertContacts(deps: ContactUpsertDeps, names: Map<string, string | undefined>, inputs: ContactUpsertInput[], repaired = new Set<Fix>()): Promise<Map<string, UpsertResult>> {
  if (!inputs.length) return new Map();
  let data: UpsertResponse;
  try {
    data = (await deps.call('contacts.upsert', () => deps.client.crm.contacts.batchApi.upsertWithHttpInfo({ inputs }))).data;
  } catch (err) {
    return refused(deps, names, inputs, repaired, err);
  }
  const { results, fixes } = readUpsert(data, inputs);
  if (!fixes.size) return results;
  const again = inputs.filter((i) => [...fixes.values()].flat().includes(i.id));
  const message = ('errors' in data ? data.errors : [])?.map((e) => e.message).join('; ') ?? '';
  const done = await repair(deps, names, [...fixes.keys()], again, repaired, message);
  return new Map([...results, ...(await upsertContacts(deps, names, again, done))]);
}

async function refused(deps: ContactUpsertDeps, names: Map<string, string | undefined>, inputs: ContactUpsertInput[], repaired: Set<Fix>, err: unknown): Promise<Map<string, UpsertResult>> {
  if (!(err instanceof HubSpotCallError) || err.failure.kind !== 'rejected') throw err;
  const { status, message } = err.failure;
  const existing = status === 409 ? existingContactId(message) : undefined;
  if (status !== 400 && !existing) throw err;
  if (existing) {
    const email = conflictingInput(err, inputs) ?? (inputs.length === 1 ? inputs[0]!.id : undefined);
    if (email) return new Map([[email, { conflict: existing }], ...(await upsertContacts(deps, names, inputs.filter((i) => i.id !== email), repaired))]);
  } else {
    const fix = fixFor(message);
    if (fix) return upsertContacts(deps, names, inputs, await repair(deps, names, [fix], inputs, repaired, message));
    if (inputs.length === 1) return new Map([[inputs[0]!.id, { rejected: message }]]);
  }
  const half = Math.ceil(inputs.length / 2);
  const first = await upsertContacts(deps, names, inputs.slice(0, half), repaired);
  return new Map([...first, ...(await upsertContacts(deps, names, inputs.slice(half), repaired))]);
}
