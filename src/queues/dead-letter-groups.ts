import type { Job } from 'bullmq';
import { EMAIL_IN_TEXT } from '../privacy/email.ts';
import type { DeadLetter } from './dead-letter.ts';

/** Dead letters that died of the same cause. */
export interface DeadLetterGroup {
  /** The last error with what varies between letters taken out: the group's key. */
  cause: string;
  count: number;
  /** When the first and the last of them died (ISO). */
  firstAt: string;
  lastAt: string;
  /** HubSpot's error category or SendGrid's status, when the error names one. */
  category?: string;
  /** Job ids of the letters, oldest first. */
  ids: string[];
}

const MAX_CAUSE = 500;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
// An HTTP status right after the API's name is part of the cause ("HubSpot 503", "SendGrid 400").
const STATUS = /\b(HubSpot|SendGrid|status) ([1-5]\d\d)\b/g;
// An IPv4 address (and port), then any other word holding a digit: an id, a number, an attempt count.
const IP = /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g;
const WITH_DIGIT = /[\w:-]*\d[\w:-]*/g;
// Quoted strings, consumed left to right so a key ("name":) is never read as a value's quote.
const DOUBLE_QUOTED = /"((?:[^"\\]|\\.){0,400})"(\s*:)?/g;
const SINGLE_QUOTED = /'([^'\s]{1,200})'/g;

/** A quoted value: a code in capitals stays, a phrase keeps its words, anything else goes. */
function quoted(inner: string): string | undefined {
  return /^[A-Z][A-Z0-9_]*$/.test(inner) || /\s/.test(inner.trim()) ? undefined : '"…"';
}

/**
 * The cause of an error message: what is left once the ids, e-mail addresses, numbers and quoted
 * values are taken out, so "contact jane@x.com is blocked" and "contact bob@y.com is blocked" are
 * one cause. HTTP statuses after HubSpot/SendGrid and error codes in capitals are kept.
 */
export function causeOf(message: string): string {
  const statuses: string[] = [];
  return (
    message
      .replace(EMAIL_IN_TEXT, '<email>')
      .replace(UUID, '<id>')
      // Set aside as letters (no digit), so the number rule below leaves them alone.
      .replace(
        STATUS,
        (_m, who: string, status: string) => `${who} \u0000${String.fromCharCode(64 + statuses.push(status))}\u0000`,
      )
      .replace(DOUBLE_QUOTED, (m, inner: string, key: string | undefined) => (key ? m : (quoted(inner) ?? m)))
      .replace(SINGLE_QUOTED, (m, inner: string) => quoted(inner) ?? m)
      .replace(IP, '<n>')
      .replace(WITH_DIGIT, '<n>')
      // eslint-disable-next-line no-control-regex -- NUL marks the placeholders this function itself put in
      .replace(/\u0000([A-Z])\u0000/g, (_m, c: string) => statuses[c.charCodeAt(0) - 65]!)
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, MAX_CAUSE)
  );
}

/** HubSpot's category ("VALIDATION_ERROR", with the record's error code when it names one) or SendGrid's status, if the message tells. */
export function categoryOf(message: string): string | undefined {
  if (/^(?:[\w.]+: )?(HubSpot|SendGrid) unreachable/.test(message)) return 'network';
  const hubspot = /HubSpot (\d{3})(?: ([A-Z][A-Z_]+))?/.exec(message);
  if (hubspot) {
    const code = /"error"\s*:\s*"([A-Z][A-Z_]+)"/.exec(message)?.[1];
    return [hubspot[2] ?? `HubSpot ${hubspot[1]}`, code].filter(Boolean).join(' / ');
  }
  const sendgrid = /SendGrid (\d{3})/.exec(message);
  return sendgrid ? `SendGrid ${sendgrid[1]}` : undefined;
}

/** The message a dead letter died of: its last attempt's error. */
function lastErrorOf(letter: DeadLetter): string {
  return letter.errors.at(-1)?.message ?? '(no error recorded)';
}

/** Groups dead letters by cause, the biggest group first (ties: the most recent first). */
export function groupDeadLetters(letters: Job<DeadLetter>[]): DeadLetterGroup[] {
  const groups = new Map<string, DeadLetterGroup>();
  for (const job of letters) {
    const message = lastErrorOf(job.data);
    const cause = causeOf(message);
    const at = job.data.deadAt;
    const g = groups.get(cause);
    if (!g) {
      groups.set(cause, {
        cause,
        count: 1,
        firstAt: at,
        lastAt: at,
        category: categoryOf(message),
        ids: [job.id ?? job.data.jobId],
      });
      continue;
    }
    g.count++;
    g.ids.push(job.id ?? job.data.jobId);
    if (at < g.firstAt) g.firstAt = at;
    if (at > g.lastAt) g.lastAt = at;
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || (a.lastAt < b.lastAt ? 1 : -1));
}
