import type { Client } from '@hubspot/api-client';
import type { SimplePublicObject } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { readBatch } from './batch-read.ts';
import type { HubSpotCall } from './call.ts';
import type { ContactCourses } from './contact-courses.ts';
import type { CourseOptions } from './course-options.ts';
import { SECONDARY_EMAILS } from './contacts-conflict.ts';
import { ENROLLED_COURSES } from './properties.ts';

/**
 * Most inputs of a batch read that asks for property history: HubSpot refuses more with 400 ("The
 * maximum number of inputs supported in a batch request for property histories is 50"), reported
 * by integrators against batch read; the contacts spec says history reduces the batch size.
 */
export const HISTORY_READ_LIMIT = 50;

type SeedDeps = {
  client: Client;
  call: HubSpotCall;
  courses: ContactCourses;
  options: Pick<CourseOptions, 'ensure' | 'has'>;
};

function split(value: string | null | undefined): string[] {
  return (value ?? '')
    .split(';')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** Every course id a contact's `loopwise_enrolled_courses` holds or ever held (its history). */
function coursesEverHeld(r: SimplePublicObject): string[] {
  const history = r.propertiesWithHistory?.[ENROLLED_COURSES] ?? [];
  return [...new Set([...split(r.properties[ENROLLED_COURSES]), ...history.flatMap((h) => split(h.value))])];
}

/** Re-reads the options when `values` holds one not known to be an option (HubSpot would refuse it). */
async function learnOptions(options: SeedDeps['options'], values: string[]): Promise<void> {
  if (values.some((v) => !options.has(v))) await options.ensure(new Map(), true);
}

/** The contact a read by id answered for `id`: itself, or the contact it was merged into. */
function holderOf(results: SimplePublicObject[], id: string): SimplePublicObject | undefined {
  return results.find((r) => r.id === id || split(r.properties.hs_merged_object_ids).includes(id));
}

/** A contact's addresses, lower-cased: its primary one and its secondary ones (also where a merge put the merged contact's). */
function addressesOf(r: SimplePublicObject): string[] {
  return [r.properties.email ?? '', ...split(r.properties[SECONDARY_EMAILS])]
    .map((a) => a.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * For addresses just written to a HubSpot contact their record does not know (`Claim` state
 * `check`: the contact existed before course-sync met the address, the record expired, or it is
 * another address of a contact written under one): reads those contacts by id, with
 * `loopwise_enrolled_courses` and its history, their addresses and merged ids. Every course id the
 * contact's property ever held is added to the address's record (our own upsert has just replaced
 * the value, so the earlier one is only in the history; ids that are no longer options are
 * dropped, HubSpot would refuse them), any other address of the contact that has a record is
 * folded into this one (so two addresses never write two course lists to one contact), and the
 * record notes the contact. The caller then rewrites the contacts whose record grew. One read per
 * 50 contacts (HISTORY_READ_LIMIT); should one fail, the contacts of that read and after stay
 * unchecked and the next attempt reads them again (their earlier value is still in the history).
 */
export async function checkContacts(deps: SeedDeps, written: { email: string; contactId: string }[]): Promise<void> {
  for (let i = 0; i < written.length; i += HISTORY_READ_LIMIT) {
    const chunk = written.slice(i, i + HISTORY_READ_LIMIT);
    const results = await readBatch(deps.call, 'contacts.read', () =>
      deps.client.crm.contacts.batchApi.read({
        inputs: [...new Set(chunk.map((w) => w.contactId))].map((id) => ({ id })),
        properties: ['email', ENROLLED_COURSES, SECONDARY_EMAILS, 'hs_merged_object_ids'],
        propertiesWithHistory: [ENROLLED_COURSES],
      }),
    );
    await learnOptions(deps.options, results.flatMap(coursesEverHeld));
    // Two addresses of one contact in the same chunk: the first folds the second in, not both ways.
    const gone = new Set<string>();
    for (const w of chunk) {
      const r = holderOf(results, w.contactId);
      if (!r || gone.has(w.email)) continue;
      for (const other of addressesOf(r).filter((a) => a !== w.email && !gone.has(a))) {
        if (await deps.courses.fold(other, w.email, w.contactId, { ifRecorded: true })) gone.add(other);
      }
    }
    await deps.courses.note(
      chunk
        .filter((w) => !gone.has(w.email))
        .map((w) => {
          const r = holderOf(results, w.contactId);
          return {
            email: w.email,
            courses: (r ? coursesEverHeld(r) : []).filter((v) => deps.options.has(v)),
            contactId: w.contactId,
          };
        }),
    );
  }
}

/**
 * For addresses HubSpot says another contact holds (a secondary address, or the address of a
 * contact merged into it): reads those contacts by id, with the course property's history, and
 * folds each address into its contact's primary address (contact-courses.ts `fold`), adding every
 * course the contact ever held. Returns the address each one is written under from now on; an
 * address whose contact is gone or has no other primary address is left out.
 */
export async function followConflicts(
  deps: SeedDeps,
  conflicts: { email: string; contactId: string }[],
): Promise<Map<string, string>> {
  const moved = new Map<string, string>();
  const ids = [...new Set(conflicts.map((c) => c.contactId))];
  for (let i = 0; i < ids.length; i += HISTORY_READ_LIMIT) {
    const chunk = ids.slice(i, i + HISTORY_READ_LIMIT);
    const results = await readBatch(deps.call, 'contacts.read', () =>
      deps.client.crm.contacts.batchApi.read({
        inputs: chunk.map((id) => ({ id })),
        properties: ['email', ENROLLED_COURSES, 'hs_merged_object_ids'],
        propertiesWithHistory: [ENROLLED_COURSES],
      }),
    );
    await learnOptions(deps.options, results.flatMap(coursesEverHeld));
    for (const c of conflicts.filter((x) => chunk.includes(x.contactId))) {
      // A merged contact's id reads as the contact it went into.
      const r = holderOf(results, c.contactId);
      const primary = r?.properties.email?.toLowerCase();
      if (!r || !primary || primary === c.email) continue;
      await deps.courses.fold(c.email, primary, r.id, {
        courses: coursesEverHeld(r).filter((v) => deps.options.has(v)),
        seeded: true,
      });
      moved.set(c.email, primary);
    }
  }
  return moved;
}
