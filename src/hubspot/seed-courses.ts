import type { Client } from '@hubspot/api-client';
import { readBatch } from './batch-read.ts';
import type { HubSpotCall } from './call.ts';
import type { ContactCourses } from './contact-courses.ts';
import type { CourseOptions } from './course-options.ts';
import { ENROLLED_COURSES } from './properties.ts';

const READ_LIMIT = 100;

function split(value: string | null | undefined): string[] {
  return (value ?? '').split(';').map((v) => v.trim()).filter(Boolean);
}

/**
 * For contacts that already existed in HubSpot before course-sync had a record of them: reads
 * `loopwise_enrolled_courses` with its history (batch read by e-mail) and adds every course id
 * it ever held to the contact's record, marking it seeded. Our own upsert has just replaced the
 * value, so the earlier one is only in the history. Ids that are no longer options are dropped
 * (HubSpot would refuse them). The caller then rewrites the contacts whose record grew.
 */
export async function seedFromHistory(
  deps: { client: Client; call: HubSpotCall; courses: ContactCourses; options: CourseOptions },
  emails: string[],
): Promise<void> {
  for (let i = 0; i < emails.length; i += READ_LIMIT) {
    const chunk = emails.slice(i, i + READ_LIMIT);
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
      if (!email) continue;
      const history = r.propertiesWithHistory?.[ENROLLED_COURSES] ?? [];
      found.set(email, [...new Set([...split(r.properties[ENROLLED_COURSES]), ...history.flatMap((h) => split(h.value))])]);
    }
    const all = [...new Set([...found.values()].flat())];
    if (all.some((v) => !deps.options.has(v))) await deps.options.ensure(new Map(), true);
    await deps.courses.note(chunk.map((email) => ({ email, courses: (found.get(email) ?? []).filter((v) => deps.options.has(v)), seeded: true })));
  }
}
