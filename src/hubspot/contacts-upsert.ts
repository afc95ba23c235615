import type { Client } from '@hubspot/api-client';
import type {
  BatchResponseSimplePublicUpsertObject,
  BatchResponseSimplePublicUpsertObjectWithErrors,
  StandardError,
} from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { inputOfResult, inputsInMessage, inputsNamed, withTraceIds, type Traced } from './batch-write.ts';
import type { HubSpotCall } from './call.ts';
import type { ContactPropertyMapping } from './contact-mapping-apply.ts';
import type { ContactUpsertInput } from './contact-mapping.ts';
import { existingContactId, inputHeldBy } from './contacts-conflict.ts';
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
  /** HUBSPOT_CONTACT_MAPPING: the portal's properties for the values course-sync carries (none: sent as they are). */
  mapping?: Pick<ContactPropertyMapping, 'toHubSpot'>;
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
type Names = Map<string, string | undefined>;

/** The repair a refusal asks for, if it names a missing property or option. */
function fixFor(message: string): Fix | undefined {
  return message.includes('PROPERTY_DOESNT_EXIST')
    ? 'setup'
    : message.includes('INVALID_OPTION')
      ? 'options'
      : undefined;
}

export function coursesOf(inputs: ContactUpsertInput[]): string[] {
  return [...new Set(inputs.flatMap((i) => (i.properties[ENROLLED_COURSES] ?? '').split(';').filter(Boolean)))];
}

/** One 207 error's verdict for the records it concerns. */
function verdict(e: StandardError, targets: number): UpsertResult | { fix: Fix } {
  const text = `HubSpot 207 ${e.category}: ${e.message}`;
  const fix = e.category === 'VALIDATION_ERROR' ? fixFor(e.message) : undefined;
  if (fix) return { fix };
  const existing = ['OBJECT_ALREADY_EXISTS', 'CONFLICT'].includes(e.category)
    ? existingContactId(e.message)
    : undefined;
  // A conflict names one contact: it cannot be pinned on several records.
  if (existing) return targets === 1 ? { conflict: existing } : { retry: text };
  return { rejected: text };
}

const emailOf = (i: ContactUpsertInput) => i.id;

/**
 * Results of a 200/207 by input id (e-mail); records to repair by the repair they need. Results
 * and errors are matched to inputs by their `objectWriteTraceId` (batch-write.ts), else by address.
 */
function readUpsert(
  data: UpsertResponse,
  inputs: Traced<ContactUpsertInput>[],
): { results: Map<string, UpsertResult>; fixes: Map<Fix, string[]> } {
  const results = new Map<string, UpsertResult>();
  const fixes = new Map<Fix, string[]>();
  const unmatched = data.results.filter((r) => {
    const input = inputOfResult(r, inputs, emailOf, r.properties.email ?? undefined);
    if (!input) return true;
    results.set(input.id, { id: r.id, created: r._new });
    return false;
  });
  const fixing = () => new Set([...fixes.values()].flat());
  const open = () => inputs.map((i) => i.id).filter((id) => !results.has(id) && !fixing().has(id));
  for (const e of ('errors' in data ? data.errors : undefined) ?? []) {
    const named = inputsNamed(e, inputs, emailOf).map((i) => i.id);
    const targets = named.length ? named : open();
    const v = verdict(e, targets.length);
    for (const id of targets) {
      if (results.has(id)) continue;
      if ('fix' in v) fixes.set(v.fix, [...(fixes.get(v.fix) ?? []), id]);
      else results.set(id, v);
    }
  }
  // A contact HubSpot wrote under another primary address without echoing the trace id (it found it by a secondary one): one left of each can only pair up.
  const left = open();
  if (left.length === 1 && unmatched.length === 1)
    results.set(left[0]!, { id: unmatched[0]!.id, created: unmatched[0]!._new });
  for (const id of open()) results.set(id, { retry: 'HubSpot answered without this contact' });
  return { results, fixes };
}

/**
 * Repairs what HubSpot named as missing, once per kind: re-runs the property set-up, or re-reads
 * the course options and adds the missing ones (someone may have deleted one by hand). A second
 * refusal of the same kind is thrown as transient: the batch is retried with backoff, not rejected.
 */
async function repair(
  deps: ContactUpsertDeps,
  names: Names,
  fixes: Fix[],
  inputs: ContactUpsertInput[],
  repaired: Set<Fix>,
  message: string,
): Promise<Set<Fix>> {
  const again = fixes.find((f) => repaired.has(f));
  if (again) {
    const what = again === 'setup' ? 're-running the property set-up' : 're-reading the course options';
    throw new HubSpotCallError(
      { kind: 'transient', message: `HubSpot still refuses the contacts after ${what}: ${message}` },
      'contacts.upsert',
    );
  }
  if (fixes.includes('setup')) {
    deps.setup.forget();
    await deps.setup.ensure();
  }
  if (fixes.includes('options'))
    await deps.options.ensure(new Map(coursesOf(inputs).map((id) => [id, names.get(id)])), true);
  return new Set([...repaired, ...fixes]);
}

/**
 * Batch upsert by e-mail, each input with an `objectWriteTraceId` so that HubSpot answers per record
 * (207). A missing property or option, named in a 400 for the batch or per record in a 207, is
 * repaired and those records sent again. A conflict (another contact holds an address) settles
 * that input as a conflict. A whole-batch 400 sends the inputs it names alone and the rest
 * together; only when it names none is the batch halved, so one bad record never takes the
 * others down with it.
 */
export async function upsertContacts(
  deps: ContactUpsertDeps,
  names: Names,
  inputs: ContactUpsertInput[],
  repaired = new Set<Fix>(),
): Promise<Map<string, UpsertResult>> {
  if (!inputs.length) return new Map();
  const traced = withTraceIds(inputs);
  const sent = deps.mapping ? traced.map((i) => ({ ...i, properties: deps.mapping!.toHubSpot(i.properties) })) : traced;
  let data: UpsertResponse;
  try {
    data = (
      await deps.call('contacts.upsert', () => deps.client.crm.contacts.batchApi.upsertWithHttpInfo({ inputs: sent }))
    ).data;
  } catch (err) {
    return refused(deps, names, inputs, repaired, err);
  }
  const { results, fixes } = readUpsert(data, traced);
  if (!fixes.size) return results;
  const again = inputs.filter((i) => [...fixes.values()].flat().includes(i.id));
  const message = ('errors' in data ? data.errors : [])?.map((e) => e.message).join('; ') ?? '';
  const done = await repair(deps, names, [...fixes.keys()], again, repaired, message);
  return new Map([...results, ...(await upsertContacts(deps, names, again, done))]);
}

/** Upserts each group on its own, in order; results together. */
async function inParts(
  deps: ContactUpsertDeps,
  names: Names,
  parts: ContactUpsertInput[][],
  repaired: Set<Fix>,
): Promise<Map<string, UpsertResult>> {
  const out = new Map<string, UpsertResult>();
  for (const part of parts) for (const [k, v] of await upsertContacts(deps, names, part, repaired)) out.set(k, v);
  return out;
}

async function refused(
  deps: ContactUpsertDeps,
  names: Names,
  inputs: ContactUpsertInput[],
  repaired: Set<Fix>,
  err: unknown,
): Promise<Map<string, UpsertResult>> {
  if (!(err instanceof HubSpotCallError) || err.failure.kind !== 'rejected') throw err;
  const { status, message } = err.failure;
  const existing = status === 409 ? existingContactId(message) : undefined;
  if (status !== 400 && !existing) throw err;
  if (existing) {
    const email = await inputHeldBy(deps, err, existing, inputs);
    if (email)
      return new Map([
        [email, { conflict: existing }],
        ...(await upsertContacts(
          deps,
          names,
          inputs.filter((i) => i.id !== email),
          repaired,
        )),
      ]);
  } else {
    const fix = fixFor(message);
    if (fix) return upsertContacts(deps, names, inputs, await repair(deps, names, [fix], inputs, repaired, message));
    if (inputs.length === 1) return new Map([[inputs[0]!.id, { rejected: message }]]);
    const named = inputsInMessage(message, inputs, emailOf);
    if (named.length && named.length < inputs.length)
      return inParts(deps, names, [...named.map((i) => [i]), inputs.filter((i) => !named.includes(i))], repaired);
  }
  const half = Math.ceil(inputs.length / 2);
  return inParts(deps, names, [inputs.slice(0, half), inputs.slice(half)], repaired);
}
