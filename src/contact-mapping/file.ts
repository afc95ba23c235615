import { readFileSync } from 'node:fs';
import { JsonLineError, parseJsonLines, type JsonNode } from './json-lines.ts';
import { EMAIL_STATUS, ENROLLED_COURSES } from './own-properties.ts';

/**
 * The contact mapping file (HUBSPOT_CONTACT_MAPPING): which HubSpot contact property gets which
 * enrollment field, or a constant. `{"properties": {"<hubspot property>": "<source>" | {"value": "<constant>"}}}`.
 * This module reads and checks it (pure, but for `readContactMapping`'s file read); what a mapping
 * does to a write is in contact-mapping-apply.ts, whether the portal can take it in contact-mapping-fit.ts.
 */

/** Every field of an enrollment a property can take (the same words in the docs and in errors). */
export const MAPPING_SOURCES = [
  'user.email',
  'user.name',
  'user.first_name',
  'user.last_name',
  'user.phone',
  'user.id',
  'course.id',
  'course.name',
  'course.slug',
  'course.subtitle',
  'enrollment.id',
  'enrollment.state',
  'enrollment.created_at',
  'enrollment.updated_at',
] as const;

export type MappingSource = (typeof MAPPING_SOURCES)[number];

/** One line of the mapping: a HubSpot property and its source, or its constant value. */
export type MappingEntry = { property: string; line: number } & ({ source: MappingSource } | { value: string });

/** A checked mapping file. */
export interface ContactMappingSpec {
  /** The file it was read from (for messages, the console and doctor). */
  path: string;
  /** In file order. */
  entries: MappingEntry[];
}

/** The contact properties course-sync keeps itself: never mappable. */
export const OWN_CONTACT_PROPERTIES: readonly string[] = [ENROLLED_COURSES, EMAIL_STATUS];

/** A mapping file course-sync cannot use; the message names the file, the line and the property. */
export class MappingFileError extends Error {
  constructor(
    readonly path: string,
    readonly line: number | undefined,
    readonly property: string | undefined,
    problem: string,
  ) {
    super(`${path}${line ? ` line ${line}` : ''}: ${problem}`);
    this.name = 'MappingFileError';
  }
}

const PROPERTY_NAME = /^[a-z][a-z0-9_]*$/;
const isSource = (s: string): s is MappingSource => (MAPPING_SOURCES as readonly string[]).includes(s);

function entryOf(path: string, property: string, line: number, node: JsonNode): MappingEntry {
  const fail = (problem: string): never => {
    throw new MappingFileError(path, line, property, `property "${property}": ${problem}`);
  };
  if (!PROPERTY_NAME.test(property))
    fail(
      'is not a HubSpot property name (its internal name: lower-case letters, digits and "_", as in Settings → Properties)',
    );
  if (OWN_CONTACT_PROPERTIES.includes(property))
    fail(
      `is course-sync's own (${property === ENROLLED_COURSES ? 'every course of the student' : 'the welcome email status'}) and cannot be mapped`,
    );
  if (node.kind === 'string') {
    if (!isSource(node.value))
      fail(`unknown source "${node.value}" (sources: ${MAPPING_SOURCES.join(', ')}; or {"value": "<constant>"})`);
    return { property, line, source: node.value as MappingSource };
  }
  if (node.kind === 'object') {
    const value = node.entries.length === 1 && node.entries[0]!.key === 'value' ? node.entries[0]!.value : undefined;
    if (value?.kind !== 'string') return fail('a constant is written {"value": "<text>"}');
    if (value.value.trim() === '') fail('an empty constant would never be written');
    return { property, line, value: value.value };
  }
  return fail(`expected a source such as "user.email" or {"value": "<constant>"}, got ${node.kind}`);
}

/**
 * Reads and checks a mapping file's text: a JSON object with `properties` only; each property a
 * HubSpot internal name, listed once, not one of course-sync's own, mapped to a known source or a
 * constant; `"email": "user.email"` present (contacts are upserted by e-mail). Throws
 * MappingFileError naming the line and the property.
 */
export function parseContactMapping(text: string, path: string): ContactMappingSpec {
  let root: JsonNode;
  try {
    root = parseJsonLines(text);
  } catch (err) {
    if (err instanceof JsonLineError)
      throw new MappingFileError(path, err.line, undefined, `not valid JSON: ${err.message}`);
    throw err;
  }
  if (root.kind !== 'object')
    throw new MappingFileError(path, root.line, undefined, 'expected an object {"properties": {...}}');
  for (const e of root.entries)
    if (e.key !== 'properties')
      throw new MappingFileError(path, e.line, undefined, `unknown key "${e.key}" (the file holds "properties" only)`);
  const props = root.entries.find((e) => e.key === 'properties');
  if (!props) throw new MappingFileError(path, root.line, undefined, 'no "properties" object');
  if (props.value.kind !== 'object')
    throw new MappingFileError(
      path,
      props.line,
      undefined,
      '"properties" must be an object of "<hubspot property>": "<source>"',
    );
  const seen = new Map<string, number>();
  const entries: MappingEntry[] = [];
  for (const e of props.value.entries) {
    const first = seen.get(e.key);
    if (first !== undefined)
      throw new MappingFileError(
        path,
        e.line,
        e.key,
        `property "${e.key}" is listed twice (lines ${first} and ${e.line})`,
      );
    seen.set(e.key, e.line);
    entries.push(entryOf(path, e.key, e.line, e.value));
  }
  const email = entries.find((e) => e.property === 'email');
  if (!email)
    throw new MappingFileError(
      path,
      props.line,
      'email',
      'the e-mail is missing: "email": "user.email" is required (contacts are upserted by e-mail)',
    );
  if (!('source' in email) || email.source !== 'user.email')
    throw new MappingFileError(
      path,
      email.line,
      'email',
      'property "email" must be "user.email" (contacts are upserted by e-mail)',
    );
  return { path, entries };
}

/** Reads the mapping file at `path` (an absolute path) and checks it; throws MappingFileError. */
export function readContactMapping(path: string): ContactMappingSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MappingFileError(
      path,
      undefined,
      undefined,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return parseContactMapping(text, path);
}
