import { contactRecordDigest } from '../hubspot/contact-courses.ts';
import { EMAIL_IN_TEXT, isEmail, normalizeEmail } from '../privacy/email.ts';
import type { PiiHasher } from '../privacy/pii-hash.ts';

/** Who `forget` and `export` are about: an address, or an id (of an enrollment or of the user). */
export type StudentQuery = { email: string } | { id: string };

/** Reads the argument of `forget`/`export`: an e-mail address, else an enrollment or user id. */
export function parseStudentQuery(text: string): StudentQuery {
  const value = text.trim();
  if (!value) throw new Error('give the student: an e-mail address, an enrollment id or a user id');
  if (value.includes('@')) {
    if (!isEmail(value)) throw new Error(`"${value}" is not an e-mail address`);
    return { email: normalizeEmail(value) };
  }
  if (value.length > 200) throw new Error('an id is at most 200 characters');
  return { id: value };
}

/** What a student's records say about them, gathered while looking (shown by `export`). */
export interface StudentDetails {
  emails: string[];
  userIds: string[];
  names: string[];
  phones: string[];
  /** Each enrollment as last seen in a record (a job's data, a quarantined body). */
  enrollments: Record<string, unknown>[];
}

/** Fields whose value is an enrollment or user id in course-sync's records (jobs, traces, events). */
const ID_FIELDS = new Set(['enrollmentId', 'enrollment_id', 'userId', 'user_id']);

/** An address in clear (a masked one, "s***@example.com", names nobody). */
function clearEmail(value: unknown): string | undefined {
  return typeof value === 'string' && isEmail(value) && !value.includes('*') ? normalizeEmail(value) : undefined;
}

function objectAt(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim()) return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * A student and every identifier of theirs found so far: their addresses, enrollment ids, user ids
 * and the keys of the records about them (job ids, trace keys). Looking through the stores teaches
 * it more (an enrollment found by address gives the user id, which finds the other enrollments,
 * whose jobs no longer hold the address in clear), until a pass learns nothing new.
 *
 * A record names the student when any string in it contains one of their addresses (any letter
 * case), when an enrollment in it (an object with a `user`) has one of their ids, or when a field
 * holding an id (`enrollmentId`, `user_id`, …) or a whole value is one of their ids.
 */
export class Student {
  readonly emails = new Set<string>();
  readonly enrollmentIds = new Set<string>();
  readonly userIds = new Set<string>();
  /** Job ids and trace keys of records about the student. */
  readonly recordKeys = new Set<string>();
  private readonly names = new Set<string>();
  private readonly phones = new Set<string>();
  private readonly enrollments = new Map<string, Record<string, unknown>>();
  /** An id given on the command line: an enrollment's or the user's, whichever it turns out to be. */
  private readonly givenIds = new Set<string>();

  constructor(
    query: StudentQuery,
    private readonly hasher: PiiHasher,
  ) {
    if ('email' in query) this.emails.add(normalizeEmail(query.email));
    else this.givenIds.add(query.id);
  }

  /** Grows as records reveal more; a pass that leaves it unchanged found everything. */
  get size(): number {
    return this.emails.size + this.enrollmentIds.size + this.userIds.size + this.recordKeys.size + this.givenIds.size;
  }

  /** The keyed hashes of their addresses (the trace index, the suppression list). */
  emailHashes(): string[] {
    return [...this.emails].map((e) => this.hasher.hash(e));
  }

  /** The keys of their contact course records. */
  contactDigests(): string[] {
    return [...this.emails].map(contactRecordDigest);
  }

  /** Enrollment ids, and ids given that may be ones. */
  possibleEnrollmentIds(): Set<string> {
    return new Set([...this.enrollmentIds, ...this.givenIds]);
  }

  details(): StudentDetails {
    return {
      emails: [...this.emails],
      userIds: [...this.userIds],
      names: [...this.names],
      phones: [...this.phones],
      enrollments: [...this.enrollments.values()],
    };
  }

  private isId(value: string): boolean {
    return (
      this.enrollmentIds.has(value) || this.userIds.has(value) || this.givenIds.has(value) || this.recordKeys.has(value)
    );
  }

  /** Whether the text holds one of the student's addresses, as a whole address (ann@ is not in joann@). */
  private containsEmail(value: string): boolean {
    if (!value.includes('@')) return false;
    for (const found of value.match(EMAIL_IN_TEXT) ?? []) if (this.emails.has(normalizeEmail(found))) return true;
    return false;
  }

  /** True when the enrollment-shaped object is one of the student's (by id, user id or address). */
  private isTheirEnrollment(o: Record<string, unknown>): boolean {
    const user = objectAt(o.user)!;
    const id = text(o.id);
    const userId = text(user.id);
    const email = clearEmail(user.email);
    return (
      (!!id && (this.enrollmentIds.has(id) || this.givenIds.has(id))) ||
      (!!userId && (this.userIds.has(userId) || this.givenIds.has(userId))) ||
      (!!email && this.emails.has(email))
    );
  }

  /** Whether `value` (job data, a stored field, a raw body) names the student. */
  isNamedIn(value: unknown): boolean {
    return this.walk(value, '', false);
  }

  /** Whether `value` names the student; if so, learns every identifier of theirs it holds. */
  learnFrom(value: unknown): boolean {
    if (!this.walk(value, '', false)) return false;
    this.walk(value, '', true);
    return true;
  }

  /** Finds (or with `learn`, gathers) the student in `value`, descending into objects, arrays and JSON text. */
  private walk(value: unknown, field: string, learn: boolean): boolean {
    if (typeof value === 'string') {
      const s = value.trim();
      if ((s.startsWith('{') || s.startsWith('[')) && s.length > 1) {
        try {
          return this.walk(JSON.parse(s), field, learn);
        } catch {
          // not JSON: read as text
        }
      }
      return this.containsEmail(s) || ((field === '' || ID_FIELDS.has(field)) && this.isId(s));
    }
    if (typeof value === 'number') return ID_FIELDS.has(field) && this.isId(String(value));
    if (Array.isArray(value)) {
      let found = false;
      for (const v of value) found = this.walk(v, field, learn) || found;
      return found;
    }
    const o = objectAt(value);
    if (!o) return false;
    let found = false;
    if (objectAt(o.user) && this.isTheirEnrollment(o)) {
      found = true;
      if (learn) this.learnEnrollment(o);
    }
    for (const [k, v] of Object.entries(o)) found = this.walk(v, k, learn) || found;
    if (found && learn) this.learnFields(o);
    return found;
  }

  private learnEnrollment(o: Record<string, unknown>): void {
    const user = objectAt(o.user)!;
    const id = text(o.id);
    if (id) {
      this.enrollmentIds.add(id);
      // A copy whose address is in clear is the better one (a done job's is masked).
      if (!this.enrollments.has(id) || clearEmail(user.email)) this.enrollments.set(id, o);
    }
    const userId = text(user.id);
    if (userId) this.userIds.add(userId);
    const email = clearEmail(user.email);
    if (email) this.emails.add(email);
    const name = text(user.name);
    if (name) this.names.add(name);
    const phone = text(user.phone_number);
    if (phone) this.phones.add(phone);
  }

  /** Ids and addresses held in the fields of a record already known to be theirs (email-status jobs, SendGrid events). */
  private learnFields(o: Record<string, unknown>): void {
    for (const field of ['enrollmentId', 'enrollment_id']) {
      const id = text(o[field]);
      if (id) this.enrollmentIds.add(id);
    }
    const email = clearEmail(o.email);
    if (email) this.emails.add(email);
  }
}
