import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { Enrollment } from '../events/types.ts';
import { instantOf, isIsoTimestamp } from '../events/timestamps.ts';
import { isEmail, normalizeEmail } from '../privacy/email.ts';
import { CANONICAL_KEY, type ExtraSource } from './contact-mapping-apply.ts';
import { ENROLLED_COURSES } from './properties.ts';

/** What the mapping needs from config.hubspot. */
export interface ContactMappingOptions {
  /** Region for phone numbers without a country code (PHONE_DEFAULT_REGION, e.g. "TW"). */
  phoneRegion: string;
  /** Sources a HUBSPOT_CONTACT_MAPPING file uses beyond today's mapping, carried as "@<source>" (contact-mapping-apply.ts). */
  extraSources?: ReadonlySet<ExtraSource>;
}

/** One input of `POST /crm/v3/objects/contacts/batch/upsert`. */
export interface ContactUpsertInput {
  idProperty: 'email';
  id: string;
  properties: Record<string, string>;
}

/** The latest enrollment seen for a contact: what `loopwise_last_*` show. */
export interface LastEnrollment {
  /** Epoch ms of the enrollment's created_at (0 when it had none). */
  at: number;
  courseId: string;
  courseName?: string;
}

/** An enrollment as a contact write, or why it cannot be one. */
export type MappedContact =
  | { ok: true; input: ContactUpsertInput; course: { id: string; name?: string }; last: LastEnrollment }
  | { ok: false; reason: string };

function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
}

/** Trims and lower-cases an e-mail; undefined when it is not a plausible address. */
export function normaliseEmail(raw: unknown): string | undefined {
  const email = text(raw);
  return email && email.length <= 254 && isEmail(email) ? normalizeEmail(email) : undefined;
}

/** Splits a name at its last whitespace ("Mary Ann Smith" → "Mary Ann" / "Smith"); no whitespace: all first name. */
export function splitName(raw: unknown): { firstname?: string; lastname?: string } {
  const name = text(raw)?.replace(/\s+/g, ' ');
  if (!name) return {};
  const cut = name.lastIndexOf(' ');
  return cut < 0 ? { firstname: name } : { firstname: name.slice(0, cut), lastname: name.slice(cut + 1) };
}

/** A phone number in E.164 when it parses as valid for `region`; otherwise as given (trimmed). */
export function formatPhone(raw: unknown, region: string): string | undefined {
  const phone = text(raw);
  if (!phone) return undefined;
  const parsed = parsePhoneNumberFromString(phone, region.toUpperCase() as CountryCode);
  return parsed?.isValid() ? parsed.number : phone;
}

/** An ISO 8601 timestamp as UTC (HubSpot datetime), or undefined. */
function utc(value: unknown): string | undefined {
  return isIsoTimestamp(value) ? new Date(instantOf(value)).toISOString() : undefined;
}

/** An extra source's value (see ContactMappingOptions.extraSources): text trimmed, times as UTC. */
function extraValue(e: Enrollment, source: ExtraSource): string | undefined {
  switch (source) {
    case 'user.name':
      return text(e.user?.name)?.replace(/\s+/g, ' ');
    case 'course.slug':
      return text(e.course?.slug);
    case 'course.subtitle':
      return text(e.course?.subtitle);
    case 'enrollment.id':
      return text(e.id);
    case 'enrollment.state':
      return text(e.state);
    case 'enrollment.updated_at':
      return utc(e.updated_at);
  }
}

/** The loopwise_last_* properties of the latest enrollment. */
export function lastEnrollmentProperties(last: LastEnrollment): Record<string, string> {
  const props: Record<string, string | undefined> = {
    loopwise_last_course_id: last.courseId,
    loopwise_last_course_name: text(last.courseName),
    loopwise_last_enrolled_at: last.at > 0 ? new Date(last.at).toISOString() : undefined,
  };
  return Object.fromEntries(Object.entries(props).filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * Maps an enrollment to a contact upsert by e-mail. Empty or missing source values are left out,
 * so they never overwrite what HubSpot has. `loopwise_enrolled_courses` holds just this course;
 * the worker replaces it with every course the contact has (a write replaces the whole value).
 */
export function mapEnrollment(enrollment: Enrollment | undefined, opts: ContactMappingOptions): MappedContact {
  if (!enrollment) return { ok: false, reason: 'the job holds no enrollment' };
  const email = normaliseEmail(enrollment.user?.email);
  if (!email) return { ok: false, reason: 'invalid e-mail address' };
  const courseId = text(enrollment.course?.id);
  if (!courseId) return { ok: false, reason: 'enrollment has no course id' };
  const courseName = text(enrollment.course?.name);
  const enrolledAt = utc(enrollment.created_at);
  const last: LastEnrollment = { at: enrolledAt ? Date.parse(enrolledAt) : 0, courseId, courseName };
  const props: Record<string, string | undefined> = {
    email,
    ...splitName(enrollment.user?.name),
    phone: formatPhone(enrollment.user?.phone_number, opts.phoneRegion),
    loopwise_user_id: text(enrollment.user?.id),
    ...lastEnrollmentProperties(last),
    ...Object.fromEntries([...(opts.extraSources ?? [])].map((s) => [CANONICAL_KEY[s], extraValue(enrollment, s)])),
    [ENROLLED_COURSES]: courseId,
  };
  const properties = Object.fromEntries(Object.entries(props).filter((e): e is [string, string] => e[1] !== undefined));
  return {
    ok: true,
    input: { idProperty: 'email', id: email, properties },
    course: { id: courseId, name: courseName },
    last,
  };
}

/** Several enrollments of one e-mail folded into one contact write (HubSpot refuses duplicate ids in a batch). */
export interface ContactDraft {
  email: string;
  /** Contact properties without the course ones: later enrollments' values win, empty ones never do. */
  properties: Record<string, string>;
  /** Course id → name of every enrollment in the draft. */
  courses: Map<string, string | undefined>;
  last: LastEnrollment;
}

const COURSE_PROPERTIES = new Set([
  ENROLLED_COURSES,
  'loopwise_last_course_id',
  'loopwise_last_course_name',
  'loopwise_last_enrolled_at',
]);

/** Folds mapped enrollments into one draft per e-mail, in first-seen order. */
export function mergeByEmail(contacts: Extract<MappedContact, { ok: true }>[]): ContactDraft[] {
  const drafts = new Map<string, ContactDraft>();
  const ordered = [...contacts].sort((a, b) => a.last.at - b.last.at);
  for (const c of ordered) {
    const email = c.input.id;
    const d: ContactDraft = drafts.get(email) ?? { email, properties: {}, courses: new Map(), last: c.last };
    for (const [k, v] of Object.entries(c.input.properties)) if (!COURSE_PROPERTIES.has(k)) d.properties[k] = v;
    d.courses.set(c.course.id, c.course.name ?? d.courses.get(c.course.id));
    if (c.last.at >= d.last.at) d.last = c.last;
    drafts.set(email, d);
  }
  const firstSeen = [...new Set(contacts.map((c) => c.input.id))];
  return firstSeen.map((e) => drafts.get(e)!);
}
