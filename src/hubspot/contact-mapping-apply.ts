import type { ContactMappingSpec, MappingSource } from '../contact-mapping/file.ts';
import { OWN_CONTACT_PROPERTIES } from '../contact-mapping/file.ts';

/**
 * How a mapping file changes what is written. Inside course-sync a contact's values travel under
 * today's property names (the "canonical" names: `email`, `firstname`, ..., `loopwise_last_course_name`,
 * which the course record, the re-write rounds and the history seeding rely on) and, for the
 * sources today's mapping does not use, under "@<source>". Right before the batch upsert, the
 * mapping turns that into the portal's properties: each canonical value goes to every property
 * mapped to its source (in the canonical order, so today's mapping sends byte for byte what was
 * sent before it existed), values no property asks for are left out, constants come last, and
 * course-sync's own properties (the course list, the welcome email status) pass as they are.
 */

/** The key a source's value travels under before the wire. */
export const CANONICAL_KEY: Readonly<Record<MappingSource, string>> = {
  'user.email': 'email',
  'user.first_name': 'firstname',
  'user.last_name': 'lastname',
  'user.phone': 'phone',
  'user.id': 'loopwise_user_id',
  'course.id': 'loopwise_last_course_id',
  'course.name': 'loopwise_last_course_name',
  'enrollment.created_at': 'loopwise_last_enrolled_at',
  'user.name': '@user.name',
  'course.slug': '@course.slug',
  'course.subtitle': '@course.subtitle',
  'enrollment.id': '@enrollment.id',
  'enrollment.state': '@enrollment.state',
  'enrollment.updated_at': '@enrollment.updated_at',
};

/** Sources today's mapping does not carry: the enrollment mapping adds them only when a mapping asks. */
export type ExtraSource =
  'user.name' | 'course.slug' | 'course.subtitle' | 'enrollment.id' | 'enrollment.state' | 'enrollment.updated_at';

/** A mapping ready to use on every write. */
export interface ContactPropertyMapping {
  /** The portal's properties for a canonical property bag (see above). */
  toHubSpot(canonical: Record<string, string>): Record<string, string>;
  /** The extra sources the mapping uses (carried as "@<source>"). */
  extraSources: ReadonlySet<ExtraSource>;
}

const isExtra = (s: MappingSource): s is ExtraSource => CANONICAL_KEY[s].startsWith('@');

/** Compiles a checked mapping file (contact-mapping-file.ts) into its write transform. */
export function compileContactMapping(spec: ContactMappingSpec): ContactPropertyMapping {
  const targets = new Map<string, string[]>();
  const constants: [string, string][] = [];
  const extraSources = new Set<ExtraSource>();
  for (const e of spec.entries) {
    if ('value' in e) {
      constants.push([e.property, e.value]);
      continue;
    }
    const key = CANONICAL_KEY[e.source];
    targets.set(key, [...(targets.get(key) ?? []), e.property]);
    if (isExtra(e.source)) extraSources.add(e.source);
  }
  return {
    extraSources,
    toHubSpot(canonical) {
      const out: Record<string, string> = {};
      for (const [key, value] of Object.entries(canonical)) {
        if (OWN_CONTACT_PROPERTIES.includes(key)) out[key] = value;
        else for (const property of targets.get(key) ?? []) out[property] = value;
      }
      for (const [property, value] of constants) out[property] = value;
      return out;
    },
  };
}
