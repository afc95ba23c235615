import { maskEmails } from './email.ts';
import { maskPhone, maskText } from './text.ts';

const PHONE_KEY = /phone|mobile|^tel$|telephone/i;

/**
 * A copy of `value` (a job payload, a webhook body, an API call's record) fit to show on a page:
 * values under phone-like keys masked whole, every e-mail address and phone number in any other
 * string masked (see maskText). Shape and everything else are kept.
 */
export function maskPersonalData(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return PHONE_KEY.test(key) ? maskPhone(maskEmails(value)) : maskText(value);
  if (typeof value === 'number' && PHONE_KEY.test(key)) return maskPhone(String(value));
  if (Array.isArray(value)) return value.map((v) => maskPersonalData(v, key));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskPersonalData(v, k)]));
  return value;
}

/** A raw body (JSON or not) with e-mail and phone masked, for showing. */
export function maskBody(body: string): string {
  try {
    return JSON.stringify(maskPersonalData(JSON.parse(body)), null, 2);
  } catch {
    return maskText(body);
  }
}

/** Marks job data whose e-mail, phone and name were masked once the job was done (or the student was forgotten). */
const REMOVED = 'personalDataRemoved';

const NAME_KEY = /^(name|first_?name|last_?name|full_?name)$/i;

/** A name reduced to the initial of each word: "Ada Lovelace" → "A*** L***". */
function maskName(name: string): string {
  return name.replace(/(\S)\S*/gu, '$1***');
}

/** A copy with the names of people (under `user` or `student`) masked; `course.name` stays. */
function maskNames(value: unknown, inPerson = false): unknown {
  if (Array.isArray(value)) return value.map((v) => maskNames(v, inPerson));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      inPerson && typeof v === 'string' && NAME_KEY.test(k)
        ? maskName(v)
        : maskNames(v, k === 'user' || k === 'student'),
    ]),
  );
}

/** Job data with every e-mail, phone and the student's name masked, marked so no worker ever acts on it again. */
export function withoutPersonalData<T>(data: T): T {
  return { ...(maskNames(maskPersonalData(data)) as object), [REMOVED]: true } as T;
}

/** True for job data whose personal data was removed: a worker completes it without doing anything. */
export function personalDataRemoved(data: unknown): boolean {
  return (data as Record<string, unknown> | null | undefined)?.[REMOVED] === true;
}
