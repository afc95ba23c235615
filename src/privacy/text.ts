import { maskEmails } from './email.ts';

/** Masks a phone number, keeping its shape, the first two and the last two digits: "+886912345678" → "+88********78". */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '').length;
  let seen = 0;
  return phone.replace(/\d/g, (d) => (++seen <= 2 || seen > digits - 2 ? d : '*'));
}

/**
 * A run of digits that may be a phone number: an optional "+" or bracketed area code, digit groups
 * joined by one space, dot or dash. Never inside a word, an id (`enroll_123`), a decimal or a
 * dashed id, and never running on into a time (`…12:30`) or another dotted or dashed number.
 */
const CANDIDATE = /(?<![\w+.-])(?:\+|\((?=\d))?\d+(?:(?:[ .-]|\) ?| ?\()\d+)*(?![\w*]|[.:-]\d)/g;

/** Most digit groups a phone number is written in ("+1 (415) 555 26 71"). */
const MAX_GROUPS = 8;

/**
 * True for a phone number as people write one: E.164 (`+` and 8–15 digits), or a national number of
 * 9–12 digits with a trunk 0 (`0912 345 678`, `(02) 2345-6789`, `020 7946 0958`), a bracketed area
 * code (`(415) 555-2671`) or North America's 3-3-4 groups (`415-555-2671`). Not: HTTP statuses,
 * durations, ids without a leading 0 (HubSpot's `12345678901`), epoch times, dates, IPv4 addresses.
 */
function isPhone(run: string): boolean {
  const digits = run.replace(/\D/g, '');
  if (run.startsWith('+')) return digits.length >= 8 && digits.length <= 15;
  if (digits.length < 9 || digits.length > 12) return false;
  return digits.startsWith('0') || /^\(\d{1,4}\)/.test(run) || /^(?:1[ .-])?\d{3}[ .-]\d{3}[ .-]\d{4}$/.test(run);
}

/**
 * A run of digit groups with the phone numbers in it masked. A run joined by spaces may hold a
 * number before or after the phone ("HubSpot 400 0912 345 678"): its leftmost, longest phone is
 * masked, then the rest is looked at again.
 */
function maskRun(run: string): string {
  if (isPhone(run)) return maskPhone(run);
  const groups = run.split(' ');
  for (let i = 0; i < groups.length; i++) {
    for (let j = Math.min(groups.length, i + MAX_GROUPS); j > i; j--) {
      if (i === 0 && j === groups.length) continue;
      const middle = groups.slice(i, j).join(' ');
      if (!isPhone(middle)) continue;
      const after = j < groups.length ? ` ${maskRun(groups.slice(j).join(' '))}` : '';
      return `${groups
        .slice(0, i)
        .map((g) => `${g} `)
        .join('')}${maskPhone(middle)}${after}`;
    }
  }
  return run;
}

/**
 * The one masker of free text (an API's error message, a bounce reason, a body that is not JSON):
 * every e-mail address and every phone number in it masked ("s***@example.com", "+88********78"),
 * everything else as it was. Already masked text comes back unchanged.
 */
export function maskText(text: string): string {
  const masked = maskEmails(text);
  return /\d/.test(masked) ? masked.replace(CANDIDATE, maskRun) : masked;
}

/**
 * Masks the message and stack of an error in place (its class and other fields stay, so BullMQ and
 * course-sync still tell an UnrecoverableError or a rate-limit signal apart) and returns it. Call it
 * before the error reaches BullMQ, which stores both on the job and in the queue's event stream.
 */
export function maskErrorText<E>(err: E): E {
  if (!(err instanceof Error)) return err;
  const original = err.message;
  const message = maskText(original);
  if (message === original) return err;
  err.message = message;
  // The stack repeats the message above its frames; the frames (file paths such as
  // node_modules/@scope/pkg) are left as they are. A stack that does not hold it is masked whole.
  if (typeof err.stack === 'string')
    err.stack = err.stack.includes(original) ? err.stack.split(original).join(message) : maskText(err.stack);
  return err;
}
