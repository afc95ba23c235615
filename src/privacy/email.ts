/**
 * The one e-mail pattern of course-sync, for telling an address (config, mapping, search) and for
 * finding addresses inside text to mask them (logs, error messages, pages). An address is a local
 * part and a dotted domain, without spaces, quotes, brackets or separators.
 */
const PART = `[^\\s"'<>()[\\]{},:;@]+`;
const ADDRESS = `${PART}@${PART}\\.${PART}`;
const WHOLE = new RegExp(`^${ADDRESS}$`);

/** Every address inside a text (global: use with `replace`, or `match` for all of them). */
export const EMAIL_IN_TEXT = new RegExp(ADDRESS, 'g');

/** True when `value` (trimmed) is one e-mail address. */
export function isEmail(value: string): boolean {
  return WHOLE.test(value.trim());
}

/** The form addresses are compared, hashed and written to HubSpot in: trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Masks an address: "student@example.com" → "s***@example.com". */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`;
}

/** The text with every address in it masked. */
export function maskEmails(text: string): string {
  // Most text (every request's log line) holds no "@": spare it the pattern.
  return text.includes('@') ? text.replace(EMAIL_IN_TEXT, maskEmail) : text;
}
