import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { defaultConfig } from '../config.ts';
import type { LastEnrollment } from './contact-mapping.ts';
import { recordKey } from '../redis/keys.ts';
import { luaScript } from '../redis/scripts.ts';

/** The key part of an address's course record and alias: the first 32 hex digits of the SHA-256 of the (normalized) address. */
export function contactRecordDigest(email: string): string {
  return createHash('sha256').update(email).digest('hex').slice(0, 32);
}

/** What course-sync knows of one contact's courses (a Redis hash per address). */
export interface ContactCourseRecord {
  /** Every course id known to belong in `loopwise_enrolled_courses`. */
  courses: string[];
  /** True once HubSpot's value from before course-sync met the contact is merged in (or we created the contact). */
  seeded: boolean;
  /** The HubSpot contact this address is written to, once known (with its value merged in). */
  contactId?: string;
  /** The latest enrollment: what `loopwise_last_*` must show. */
  last?: LastEnrollment;
}

/** What a write to a contact means for the address's record (see `claim`). */
export interface Claim {
  /**
   * `known`: the record knew this contact (or the write created it); `check`: the address met a
   * contact its record does not know (HubSpot had it before, the record expired, or it is another
   * address of a contact written under one): read the contact before trusting the record.
   */
  state: 'known' | 'check';
  /** Another address an earlier version had written this contact under (its owner key): fold it in. */
  formerOwner?: string;
}

// The course record's scripts (scripts/*.lua name each argument): add courses and a newer last
// enrollment; fold one address's record into another's; note the contact a write went to.
const NOTE = luaScript<
  [
    contactKey: string,
    ttlSeconds: number,
    lastJson: string,
    lastCourseName: string,
    contactId: string,
    ...courseIds: string[],
  ],
  string[]
>(import.meta.url, 'scripts/note-courses.lua', 1);
const FOLD = luaScript<
  [
    fromKey: string,
    toKey: string,
    fromAliasKey: string,
    toAliasKey: string,
    ownerKey: string,
    ttlSeconds: number,
    keptAddress: string,
    contactId: string,
    ifRecorded: '1' | '0',
    ...courseIds: string[],
  ],
  string[] | null
>(import.meta.url, 'scripts/fold-contact.lua', 5);
const CLAIM = luaScript<
  [contactKey: string, ownerKey: string, ttlSeconds: number, contactId: string, address: string, created: '1' | '0'],
  [Claim['state'], string]
>(import.meta.url, 'scripts/claim-contact.lua', 2);

/** Alias hops followed at most (an alias of an alias comes from two folds in a row). */
const MAX_HOPS = 4;

function parse(flat: string[]): ContactCourseRecord {
  const rec: ContactCourseRecord = { courses: [], seeded: false };
  let name: string | undefined;
  for (let i = 0; i < flat.length; i += 2) {
    const [field, value] = [flat[i]!, flat[i + 1]!];
    if (field.startsWith('c:')) rec.courses.push(field.slice(2));
    else if (field === 'id') [rec.seeded, rec.contactId] = [true, value];
    else if (field === 'seeded') rec.seeded = true;
    else if (field === 'last') rec.last = JSON.parse(value) as LastEnrollment;
    else if (field === 'lastCourseName') name = value;
  }
  if (rec.last && name !== undefined) rec.last.courseName = name;
  rec.courses.sort();
  return rec;
}

/**
 * The courses of each contact, kept in Redis so that every worker process writes the union of
 * all of a student's enrollments to HubSpot (a checkbox write replaces the whole value). Keys are
 * a hash of the e-mail, never the address. The record is a cache of what HubSpot holds: it expires
 * after `ttlSeconds` without writes, and a contact met again after that is re-seeded from HubSpot's
 * property history.
 *
 * One HubSpot contact can have several addresses (secondary ones, or a merged contact's): an
 * address found to belong to a contact written under another one is folded into it (an alias,
 * `<prefix>:cs:contact-alias:<hash>`). Each record notes the contact its address is written to
 * (`id`); an address meeting a contact its record does not know is checked against HubSpot (the
 * contact's addresses and course history, see seed-courses.ts) before its record is trusted, so
 * two addresses never write two different course lists to one contact. Earlier versions kept the
 * contact's address in a key of its own (`<prefix>:cs:contact-owner:<id>`): read, and removed, by
 * the first write to that contact.
 */
export class ContactCourses {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds = defaultConfig().hubspot.contactRecordTtlSeconds,
  ) {
    // Run once per contact of a batch, pipelined: defined before any pipeline is made.
    NOTE.define(redis);
    CLAIM.define(redis);
  }

  private key(email: string, kind = 'contact'): string {
    return recordKey(this.prefix, kind, contactRecordDigest(email));
  }

  /** Earlier versions' key of the address a contact is written under (read and removed, never written). */
  private ownerKey(contactId: string): string {
    return recordKey(this.prefix, 'contact-owner', contactId);
  }

  /** Adds courses (and a newer last enrollment, and the contact whose value is merged in) per address; returns the records after the change. */
  async note(
    entries: { email: string; courses: string[]; last?: LastEnrollment; contactId?: string }[],
  ): Promise<ContactCourseRecord[]> {
    if (!entries.length) return [];
    const pipe = this.redis.pipeline();
    for (const e of entries) {
      const last = e.last && { at: e.last.at, courseId: e.last.courseId };
      NOTE.queue(
        pipe,
        this.key(e.email),
        this.ttlSeconds,
        last ? JSON.stringify(last) : '',
        e.last?.courseName ?? '',
        e.contactId ?? '',
        ...e.courses,
      );
    }
    return (await pipe.exec())!.map(([err, flat]) => {
      if (err) throw err;
      return parse(flat as string[]);
    });
  }

  /**
   * The address each e-mail is written under: itself, or the address its record was folded into
   * (another address of the same HubSpot contact, see `fold`).
   */
  async resolve(emails: string[]): Promise<string[]> {
    const out = [...emails];
    let todo = out.map((_, i) => i);
    for (let hop = 0; hop < MAX_HOPS && todo.length; hop++) {
      const pipe = this.redis.pipeline();
      for (const i of todo) pipe.get(this.key(out[i]!, 'contact-alias'));
      const found = (await pipe.exec())!.map(([err, v]) => {
        if (err) throw err;
        return v as string | null;
      });
      const next: number[] = [];
      todo.forEach((i, n) => {
        const to = found[n];
        if (to && to !== out[i]) {
          out[i] = to;
          next.push(i);
        }
      });
      todo = next;
    }
    return out;
  }

  /**
   * Records that `from` and `to` are addresses of one HubSpot contact (`contactId`), written under
   * `to` from now on: `from`'s courses and last enrollment move to `to`'s record (plus `courses`);
   * with `seeded`, the contact's value is merged in (the record notes the contact). With
   * `ifRecorded`, an address without a record is left alone (undefined).
   */
  async fold(
    from: string,
    to: string,
    contactId: string,
    more: { courses?: string[]; seeded?: boolean; ifRecorded?: boolean } = {},
  ): Promise<ContactCourseRecord | undefined> {
    const keys = [
      this.key(from),
      this.key(to),
      this.key(from, 'contact-alias'),
      this.key(to, 'contact-alias'),
      this.ownerKey(contactId),
    ] as const;
    const flat = await FOLD.run(
      this.redis,
      ...keys,
      this.ttlSeconds,
      to,
      more.seeded ? contactId : '',
      more.ifRecorded ? '1' : '0',
      ...(more.courses ?? []),
    );
    return flat ? parse(flat) : undefined;
  }

  /**
   * After writing each address to its HubSpot contact (`created` when the write made it): whether
   * the address's record knew that contact, and another address an earlier version had written the
   * contact under (see `Claim`).
   */
  async claim(entries: { contactId: string; email: string; created: boolean }[]): Promise<Claim[]> {
    if (!entries.length) return [];
    const pipe = this.redis.pipeline();
    for (const e of entries)
      CLAIM.queue(
        pipe,
        this.key(e.email),
        this.ownerKey(e.contactId),
        this.ttlSeconds,
        e.contactId,
        e.email,
        e.created ? '1' : '0',
      );
    return (await pipe.exec())!.map(([err, v]) => {
      if (err) throw err;
      const [state, other] = v as [Claim['state'], string];
      return other ? { state, formerOwner: other } : { state };
    });
  }

  /** The current records of these contacts. */
  async read(emails: string[]): Promise<ContactCourseRecord[]> {
    if (!emails.length) return [];
    const pipe = this.redis.pipeline();
    for (const e of emails) pipe.hgetall(this.key(e));
    return (await pipe.exec())!.map(([err, hash]) => {
      if (err) throw err;
      return parse(Object.entries(hash as Record<string, string>).flat());
    });
  }
}
