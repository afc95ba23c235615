import type { Client } from '@hubspot/api-client';
import type { SimplePublicObject } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { readBatch } from './batch-read.ts';
import type { HubSpotCall } from './call.ts';
import type { ContactCourses } from './contact-courses.ts';
import type { CourseOptions } from './course-options.ts';
import { ENROLLED_COURSES } from './properties.ts';

/**
 * Most inputs of a batch read that asks for property history: HubSpot refuses more with 400 ("The
 * maximum number of inputs supported in a batch request for property histories is 50"), reported
 * by integrators against batch read; the contacts spec says history reduces the batch size.
 */
export const HISTORY_READ_LIMIT = 50;

type SeedDeps = { client: Client; call: HubSpotCall; courses: ContactCourses; options: Pick<CourseOptions, 'ensure' | 'has'> };

function split(value: string | null | undefined): string[] {
  return (value ?? '').split(';').map((v) => v.trim()).filter(Boolean);
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

/**
 * For contacts that already existed in HubSpot before course-sync had a record of them: reads
 * `loopwise_enrolled_courses` with its history (batch read by e-mail) and adds every course id
 * it ever held to the contact's record, marking it seeded. Our own upsert has just replaced the
 * value, so the earlier one is only in the history. Ids that are no longer options are dropped
 * (HubSpot would refuse them). The caller then rewrites the contacts whose record grew. One read
 * per 50 contacts (HISTORY_READ_LIMIT); should one fail, the contacts of that read and after stay
 * unseeded and the next attempt reads their history again (their earlier value is still in it).
 */
export async function seedFromHistory(deps: SeedDeps, emails: string[]): Promise<void> {
  for (let i = 0; i < emails.length; i += HISTORY_READ_LIMIT) {
    const chunk = emails.slice(i, i + HISTORY_READ_LIMIT);
    const results = await readBatch(deps.call, 'contacts.read', () =>
      deps.client.crm.contacts.batchApi.read({
        idProperty: 'email',
        inputs: chunk.map((id) => ({ id })),
        properties: ['email', ENROLLED_COURSES],
        propertiesWithHistory: [ENROLLED_COURSES],
      }),
    );
    const found = new Map<string, string[]>();
    for (const r of results) {
      const email = r.properties.email?.toLowerCase();
      if (email) found.set(email, coursesEverHeld(r));
    }
    await learnOptions(deps.options, [...found.values()].flat());
    await deps.courses.note(chunk.map((email) => ({ email, courses: (found.get(email) ?? []).filter((v) => deps.options.has(v)), seeded: true })));
  }
}

/**
 * For addresses HubSpot says another contact holds (a secondary address, or the address of a
 * contact merged into it): reads those contacts by id, with the course property's history, and
 * folds each address into its contact's primary address (contact-courses.ts `fold`), adding every
 * course the contact ever held. Returns the address each one is written under from now on; an
 * address whose contact is gone or has no other primary address is left out.
 */
export async function followConflicts(deps: SeedDeps, conflicts: { email: string; contactId: string }[]): Promise<Map<string, string>> {
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
    // A merged contact's id reads as the contact it went into.
    const holder = (id: string) => results.find((r) => r.id === id || split(r.properties.hs_merged_object_ids).includes(id));
    for (const c of conflicts.filter((x) => chunk.includes(x.contactId))) {
      const r = holder(c.contactId);
      const primary = r?.properties.email?.toLowerCase();
      if (!r || !primary || primary === c.email) continue;
      await deps.courses.fold(c.email, primary, r.id, { courses: coursesEverHeld(r).filter((v) => deps.options.has(v)), seeded: true });
      moved.set(c.email, primary);
    }
  }
  return moved;
}
