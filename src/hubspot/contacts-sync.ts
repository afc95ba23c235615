import type { Client } from '@hubspot/api-client';
import type { BatchResponseSimplePublicUpsertObject, BatchResponseSimplePublicUpsertObjectWithErrors } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import type { HubSpotCall } from './call.ts';
import type { ContactCourseRecord, ContactCourses } from './contact-courses.ts';
import { lastEnrollmentProperties, type ContactDraft, type ContactUpsertInput } from './contact-mapping.ts';
import type { CourseOptions } from './course-options.ts';
import { HubSpotCallError } from './errors.ts';
import { ENROLLED_COURSES } from './properties.ts';
import { seedFromHistory } from './seed-courses.ts';

export interface ContactSyncDeps {
  client: Client;
  call: HubSpotCall;
  courses: ContactCourses;
  options: CourseOptions;
  /** The once-per-process property set-up (re-run when HubSpot says a property is missing). */
  setup: { ensure(): Promise<unknown>; forget(): void };
}

/** What became of one contact of a batch. */
export type ContactOutcome =
  | { status: 'written'; contactId: string; created: boolean }
  /** HubSpot refused this record (e.g. an e-mail it deems invalid): retrying cannot help. */
  | { status: 'rejected'; message: string }
  /** Not settled this time (its value kept changing, or HubSpot left it out): try again later. */
  | { status: 'retry'; message: string };

type UpsertResult = { id: string; created: boolean } | { rejected: string } | { retry: string };

/** Rounds of "re-read our record, rewrite if it grew" before a contact is retried later. */
const CONVERGE_ROUNDS = 3;

type UpsertResponse = BatchResponseSimplePublicUpsertObject | BatchResponseSimplePublicUpsertObjectWithErrors;

function readUpsert(data: UpsertResponse, inputs: ContactUpsertInput[]): Map<string, UpsertResult> {
  const ids = new Set(inputs.map((i) => i.id));
  const out = new Map<string, UpsertResult>();
  for (const r of data.results) {
    const email = r.properties.email?.toLowerCase();
    if (email && ids.has(email)) out.set(email, { id: r.id, created: r._new });
  }
  for (const e of ('errors' in data ? data.errors : undefined) ?? []) {
    const named = Object.values(e.context ?? {}).flat().map((v) => String(v).toLowerCase()).filter((v) => ids.has(v));
    const targets = named.length ? named : inputs.map((i) => i.id).filter((id) => !out.has(id));
    for (const id of targets) if (!out.has(id)) out.set(id, { rejected: `HubSpot 207 ${e.category}: ${e.message}` });
  }
  for (const i of inputs) if (!out.has(i.id)) out.set(i.id, { retry: 'HubSpot answered without this contact' });
  return out;
}

function coursesOf(inputs: ContactUpsertInput[]): string[] {
  return [...new Set(inputs.flatMap((i) => (i.properties[ENROLLED_COURSES] ?? '').split(';').filter(Boolean)))];
}

/**
 * Batch upsert by e-mail. A 400 fails the whole call: when it names a missing property or option,
 * the set-up or the options are repaired and the call sent once more; otherwise the batch is halved
 * until the refused records stand alone, so one bad record never takes the others down with it.
 */
async function upsert(deps: ContactSyncDeps, names: Map<string, string | undefined>, inputs: ContactUpsertInput[], repaired = new Set<string>()): Promise<Map<string, UpsertResult>> {
  if (!inputs.length) return new Map();
  try {
    const res = await deps.call('contacts.upsert', () => deps.client.crm.contacts.batchApi.upsertWithHttpInfo({ inputs }));
    return readUpsert(res.data, inputs);
  } catch (err) {
    if (!(err instanceof HubSpotCallError) || err.failure.kind !== 'rejected' || err.failure.status !== 400) throw err;
    const message = err.failure.message;
    const fix = message.includes('PROPERTY_DOESNT_EXIST') ? 'setup' : message.includes('INVALID_OPTION') ? 'options' : undefined;
    if (fix) {
      if (repaired.has(fix)) throw err; // still wrong after a repair: a set-up problem, retried with backoff
      if (fix === 'setup') {
        deps.setup.forget();
        await deps.setup.ensure();
      } else {
        await deps.options.ensure(new Map(coursesOf(inputs).map((id) => [id, names.get(id)])), true);
      }
      return upsert(deps, names, inputs, new Set([...repaired, fix]));
    }
    if (inputs.length === 1) return new Map([[inputs[0]!.id, { rejected: message }]]);
    const half = Math.ceil(inputs.length / 2);
    const first = await upsert(deps, names, inputs.slice(0, half), repaired);
    return new Map([...first, ...(await upsert(deps, names, inputs.slice(half), repaired))]);
  }
}

/** The course and last-enrollment properties a record asks for. */
function courseProperties(rec: ContactCourseRecord, fallbackLast: ContactDraft['last'] | undefined): Record<string, string> {
  const last = rec.last ?? fallbackLast;
  return { [ENROLLED_COURSES]: rec.courses.join(';'), ...(last ? lastEnrollmentProperties(last) : {}) };
}

/** True when the record holds a course or a newer last enrollment that `sent` did not write. */
function grewSince(sent: Record<string, string>, rec: ContactCourseRecord): boolean {
  const written = new Set((sent[ENROLLED_COURSES] ?? '').split(';'));
  if (rec.courses.some((c) => !written.has(c))) return true;
  return !!rec.last && Object.entries(lastEnrollmentProperties(rec.last)).some(([k, v]) => sent[k] !== v);
}

/**
 * Writes a batch of contacts (one draft per e-mail) to HubSpot with every course each student has:
 * 1. courses are noted in Redis first (ContactCourses), so every process sees every enrollment;
 * 2. one batch upsert writes each contact with the union of its known courses;
 * 3. a contact that already existed in HubSpot before course-sync knew it gets its earlier values
 *    back from the property history (seed-courses.ts) and is rewritten;
 * 4. each written contact's record is re-read: if another process added a course meanwhile (its
 *    write may have landed before ours), the contact is written again, until nothing changed.
 * Errors that concern the whole call (429, 401/403, 5xx, network) are thrown as HubSpotCallError.
 */
export async function syncContacts(deps: ContactSyncDeps, drafts: ContactDraft[]): Promise<Map<string, ContactOutcome>> {
  const outcomes = new Map<string, ContactOutcome>();
  if (!drafts.length) return outcomes;
  await deps.setup.ensure();
  const names = new Map(drafts.flatMap((d) => [...d.courses]));
  await deps.options.ensure(names);
  const records = await deps.courses.note(drafts.map((d) => ({ email: d.email, courses: [...d.courses.keys()], last: d.last })));
  const inputs: ContactUpsertInput[] = drafts.map((d, i) => ({
    idProperty: 'email',
    id: d.email,
    properties: { ...d.properties, email: d.email, ...courseProperties(records[i]!, d.last) },
  }));
  const sent = new Map(inputs.map((i) => [i.id, i.properties]));

  const results = await upsert(deps, names, inputs);
  const created: string[] = [];
  const unseeded: string[] = [];
  drafts.forEach((d, i) => {
    const r = results.get(d.email)!;
    if ('rejected' in r) outcomes.set(d.email, { status: 'rejected', message: r.rejected });
    else if ('retry' in r) outcomes.set(d.email, { status: 'retry', message: r.retry });
    else {
      outcomes.set(d.email, { status: 'written', contactId: r.id, created: r.created });
      if (r.created) created.push(d.email);
      else if (!records[i]!.seeded) unseeded.push(d.email);
    }
  });
  await deps.courses.note(created.map((email) => ({ email, courses: [], seeded: true })));
  await seedFromHistory(deps, unseeded);

  let pending = [...outcomes].filter(([, o]) => o.status === 'written').map(([email]) => email);
  for (let round = 1; pending.length; round++) {
    const now = await deps.courses.read(pending);
    const stale = pending.map((email, i) => ({ email, rec: now[i]! })).filter(({ email, rec }) => grewSince(sent.get(email)!, rec));
    if (!stale.length) break;
    if (round > CONVERGE_ROUNDS) {
      for (const { email } of stale) outcomes.set(email, { status: 'retry', message: `${ENROLLED_COURSES} kept changing while it was written` });
      break;
    }
    const rewrites: ContactUpsertInput[] = stale.map(({ email, rec }) => ({ idProperty: 'email', id: email, properties: { email, ...courseProperties(rec, undefined) } }));
    await deps.options.ensure(new Map(coursesOf(rewrites).map((id) => [id, names.get(id)])));
    const again = await upsert(deps, names, rewrites);
    pending = [];
    for (const input of rewrites) {
      const r = again.get(input.id)!;
      if ('id' in r) {
        sent.set(input.id, { ...sent.get(input.id), ...input.properties });
        pending.push(input.id);
      } else outcomes.set(input.id, { status: 'retry', message: 'rejected' in r ? r.rejected : r.retry });
    }
  }
  return outcomes;
}
