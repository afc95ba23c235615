import type { Enrollment } from '../events/types.ts';
import { compileContactMapping } from './contact-mapping-apply.ts';
import type { ContactMappingSpec } from '../contact-mapping/file.ts';
import { lastEnrollmentProperties, mapEnrollment, mergeByEmail } from './contact-mapping.ts';
import { ENROLLED_COURSES } from './properties.ts';

/** What the console shows for a mapping: the contact write one enrollment makes under it. */
export type ContactPreview = { ok: true; properties: Record<string, string> } | { ok: false; reason: string };

/**
 * The properties the first write of a new student's contact would send for `enrollment` under
 * `spec` (as the contacts sync builds it: the student's values, the course list, the latest
 * enrollment's values; then the mapping). Pure; the console shows it for the seed enrollment.
 */
export function previewContact(spec: ContactMappingSpec, enrollment: Enrollment, phoneRegion: string): ContactPreview {
  const mapping = compileContactMapping(spec);
  const m = mapEnrollment(enrollment, { phoneRegion, extraSources: mapping.extraSources });
  if (!m.ok) return { ok: false, reason: m.reason };
  const [draft] = mergeByEmail([m]);
  const canonical = {
    ...draft!.properties,
    email: draft!.email,
    [ENROLLED_COURSES]: [...draft!.courses.keys()].join(';'),
    ...lastEnrollmentProperties(draft!.last),
  };
  return { ok: true, properties: mapping.toHubSpot(canonical) };
}
