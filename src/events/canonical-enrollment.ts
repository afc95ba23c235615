import { isIsoTimestamp } from './timestamps.ts';

/** yup 1.x's e-mail pattern (the WHATWG one), which the enrollment schema's `email()` applies. */
const YUP_EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields => v !== null && typeof v === 'object' && !Array.isArray(v);
/** A required id: a non-empty string with nothing to trim. */
const isId = (v: unknown) => typeof v === 'string' && v !== '' && v === v.trim();
const isText = (v: unknown) => typeof v === 'string' && v !== '';
const isOptionalText = (v: unknown) => v === undefined || v === null || typeof v === 'string';

/**
 * True when an enrollment's `data` is valid as the enrollment schema (schemas.ts) has it AND
 * already in the form the schema would give it back (every id and the e-mail a trimmed string,
 * nothing to cast): yup would return this very object, so the receiver can skip running it. Any
 * other payload — invalid, or valid but in need of a cast or a trim — goes through yup, which
 * gives the normalised value or each field's error. test/events.test.ts holds the two to agreeing.
 */
export function isCanonicalEnrollment(data: Fields): boolean {
  const { course, user } = data;
  return (
    isId(data.id) &&
    isObject(course) &&
    isId(course.id) &&
    isText(course.name) &&
    isOptionalText(course.slug) &&
    isOptionalText(course.subtitle) &&
    isObject(user) &&
    isId(user.id) &&
    isOptionalText(user.name) &&
    isId(user.email) &&
    YUP_EMAIL.test(user.email as string) &&
    isOptionalText(user.phone_number) &&
    typeof data.created_at === 'string' &&
    isIsoTimestamp(data.created_at) &&
    (data.updated_at === undefined || isIsoTimestamp(data.updated_at)) &&
    isOptionalText(data.state)
  );
}
