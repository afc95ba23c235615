import type { ContactCourseRecord, ContactCourses } from './contact-courses.ts';
import { lastEnrollmentProperties, type ContactDraft, type ContactUpsertInput } from './contact-mapping.ts';
import { coursesOf, upsertContacts, type ContactUpsertDeps } from './contacts-upsert.ts';
import { ENROLLED_COURSES } from './properties.ts';
import { checkContacts, followConflicts } from './seed-courses.ts';

export interface ContactSyncDeps extends ContactUpsertDeps {
  courses: ContactCourses;
}

/** What became of one contact of a batch. */
export type ContactOutcome =
  | { status: 'written'; contactId: string; created: boolean }
  /** HubSpot refused this record (e.g. an e-mail it deems invalid): retrying cannot help. */
  | { status: 'rejected'; message: string }
  /** Not settled this time (its value kept changing, or HubSpot left it out): try again later. */
  | { status: 'retry'; message: string };

/** Rounds of "re-read our record, rewrite if it grew" before a contact is retried later. */
const CONVERGE_ROUNDS = 3;

/** A write round's result per address: an outcome, or the other contact HubSpot says holds the address. */
type RoundOutcome = ContactOutcome | { status: 'conflict'; contactId: string };

/** The course and last-enrollment properties a record asks for. */
function courseProperties(
  rec: ContactCourseRecord,
  fallbackLast: ContactDraft['last'] | undefined,
): Record<string, string> {
  const last = rec.last ?? fallbackLast;
  return { [ENROLLED_COURSES]: rec.courses.join(';'), ...(last ? lastEnrollmentProperties(last) : {}) };
}

/** True when the record holds a course or a newer last enrollment that `sent` did not write. */
function grewSince(sent: Record<string, string>, rec: ContactCourseRecord): boolean {
  const written = new Set((sent[ENROLLED_COURSES] ?? '').split(';'));
  if (rec.courses.some((c) => !written.has(c))) return true;
  return !!rec.last && Object.entries(lastEnrollmentProperties(rec.last)).some(([k, v]) => sent[k] !== v);
}

/** Drafts under the address each is written under; drafts that share one fold together, later values winning. */
function retarget(drafts: ContactDraft[], target: Map<string, string>): ContactDraft[] {
  const out = new Map<string, ContactDraft>();
  for (const d of [...drafts].sort((a, b) => a.last.at - b.last.at)) {
    const email = target.get(d.email) ?? d.email;
    const t = out.get(email);
    if (!t) {
      out.set(email, { ...d, email, properties: { ...d.properties, email }, courses: new Map(d.courses) });
      continue;
    }
    Object.assign(t.properties, d.properties, { email });
    for (const [id, name] of d.courses) t.courses.set(id, name ?? t.courses.get(id));
    if (d.last.at >= t.last.at) t.last = d.last;
  }
  return [...out.values()];
}

/**
 * One write of drafts (one per address): notes their courses, upserts, seeds contacts HubSpot had
 * before course-sync knew them, folds two addresses found on one contact into one, and rewrites
 * contacts whose record grew meanwhile. Addresses another contact holds come back as conflicts.
 */
async function writeRound(
  deps: ContactSyncDeps,
  names: Map<string, string | undefined>,
  drafts: ContactDraft[],
): Promise<Map<string, RoundOutcome>> {
  const outcomes = new Map<string, RoundOutcome>();
  const records = await deps.courses.note(
    drafts.map((d) => ({ email: d.email, courses: [...d.courses.keys()], last: d.last })),
  );
  const inputs: ContactUpsertInput[] = drafts.map((d, i) => ({
    idProperty: 'email',
    id: d.email,
    properties: { ...d.properties, email: d.email, ...courseProperties(records[i]!, d.last) },
  }));
  const sent = new Map(inputs.map((i) => [i.id, i.properties]));

  const results = await upsertContacts(deps, names, inputs);
  for (const d of drafts) {
    const r = results.get(d.email)!;
    if ('rejected' in r) outcomes.set(d.email, { status: 'rejected', message: r.rejected });
    else if ('retry' in r) outcomes.set(d.email, { status: 'retry', message: r.retry });
    else if ('conflict' in r) outcomes.set(d.email, { status: 'conflict', contactId: r.conflict });
    else outcomes.set(d.email, { status: 'written', contactId: r.id, created: r.created });
  }
  const written = [...outcomes].flatMap(([email, o]) =>
    o.status === 'written' ? [{ email, contactId: o.contactId, created: o.created }] : [],
  );
  // A contact the address's record does not know (HubSpot had it before, the record expired, or it
  // is another address of a contact written under one) is read, with its course history and its
  // addresses, before the record is trusted; an address an earlier version wrote the contact under folds in.
  const claims = await deps.courses.claim(written);
  for (const [i, c] of claims.entries())
    if (c.formerOwner) await deps.courses.fold(c.formerOwner, written[i]!.email, written[i]!.contactId);
  await checkContacts(
    deps,
    written.filter((_, i) => claims[i]!.state === 'check'),
  );

  let pending = written.map((w) => w.email);
  for (let round = 1; pending.length; round++) {
    const now = await deps.courses.read(pending);
    const stale = pending
      .map((email, i) => ({ email, rec: now[i]! }))
      .filter(({ email, rec }) => grewSince(sent.get(email)!, rec));
    if (!stale.length) break;
    if (round > CONVERGE_ROUNDS) {
      for (const { email } of stale)
        outcomes.set(email, { status: 'retry', message: `${ENROLLED_COURSES} kept changing while it was written` });
      break;
    }
    const rewrites: ContactUpsertInput[] = stale.map(({ email, rec }) => ({
      idProperty: 'email',
      id: email,
      properties: { email, ...courseProperties(rec, undefined) },
    }));
    await deps.options.ensure(new Map(coursesOf(rewrites).map((id) => [id, names.get(id)])));
    const again = await upsertContacts(deps, names, rewrites);
    pending = [];
    for (const input of rewrites) {
      const r = again.get(input.id)!;
      if ('id' in r) {
        sent.set(input.id, { ...sent.get(input.id), ...input.properties });
        pending.push(input.id);
      } else
        outcomes.set(input.id, {
          status: 'retry',
          message:
            'rejected' in r
              ? r.rejected
              : 'retry' in r
                ? r.retry
                : `HubSpot says contact ${r.conflict} holds this address`,
        });
    }
  }
  return outcomes;
}

/**
 * Writes a batch of contacts (one draft per e-mail) to HubSpot with every course each student has:
 * 1. each address is written under the address course-sync knows its HubSpot contact by (itself,
 *    unless it was found to be another address of a contact, see ContactCourses);
 * 2. courses are noted in Redis first (ContactCourses), so every process sees every enrollment;
 * 3. one batch upsert writes each contact with the union of its known courses;
 * 4. a contact the address's record does not know (it existed in HubSpot before course-sync met
 *    the address, or the record expired) is read: its earlier values come back from the property
 *    history, another address of it with a record folds in (seed-courses.ts), and it is rewritten;
 * 5. each written contact's record is re-read: if another process added a course meanwhile (its
 *    write may have landed before ours), the contact is written again, until nothing changed;
 * 6. an address HubSpot says another contact holds (a secondary address, or a merged contact's) is
 *    folded into that contact's primary address, and written again under it.
 * Errors that concern the whole call (429, 401/403, 5xx, network) are thrown as HubSpotCallError.
 */
export async function syncContacts(
  deps: ContactSyncDeps,
  drafts: ContactDraft[],
): Promise<Map<string, ContactOutcome>> {
  const outcomes = new Map<string, ContactOutcome>();
  if (!drafts.length) return outcomes;
  await deps.setup.ensure();
  const names = new Map(drafts.flatMap((d) => [...d.courses]));
  await deps.options.ensure(names);
  const resolved = await deps.courses.resolve(drafts.map((d) => d.email));
  const target = new Map(drafts.map((d, i) => [d.email, resolved[i]!]));

  const results = await writeRound(deps, names, retarget(drafts, target));
  const conflicts = [...results].flatMap(([email, o]) =>
    o.status === 'conflict' ? [{ email, contactId: o.contactId }] : [],
  );
  if (conflicts.length) {
    const moved = await followConflicts(deps, conflicts);
    const again = drafts.filter((d) => moved.has(target.get(d.email)!));
    for (const d of again) target.set(d.email, moved.get(target.get(d.email)!)!);
    for (const [email, o] of await writeRound(deps, names, retarget(again, target))) results.set(email, o);
  }
  for (const d of drafts) {
    const o = results.get(target.get(d.email)!)!;
    outcomes.set(
      d.email,
      o.status === 'conflict'
        ? {
            status: 'retry',
            message: `HubSpot says contact ${o.contactId} holds this address, and it could not be written under that contact's primary address`,
          }
        : o,
    );
  }
  return outcomes;
}
