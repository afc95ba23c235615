import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { defaultConfig } from '../config.ts';
import type { LastEnrollment } from './contact-mapping.ts';
import { recordKey } from '../redis/keys.ts';

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

/**
 * Adds course ids and keeps the newest "last enrollment", atomically. KEYS[1] the contact hash;
 * ARGV[1] ttl seconds, ARGV[2] last-enrollment JSON (at, courseId) or "", ARGV[3] its course name,
 * ARGV[4] the HubSpot contact id once its value is merged in (or ""), ARGV[5..] course ids. Returns
 * the whole hash. The course name has a field of its own (`lastCourseName`; records written before
 * kept it inside `last`): short values keep the hash in Redis' compact encoding, a third of the
 * memory. The contact id (`id`) replaces the `seeded` mark of records written before.
 */
const NOTE = `
for i = 5, #ARGV do redis.call('HSET', KEYS[1], 'c:' .. ARGV[i], '1') end
if ARGV[2] ~= '' then
  local cur = redis.call('HGET', KEYS[1], 'last')
  if not cur or cjson.decode(cur).at <= cjson.decode(ARGV[2]).at then
    redis.call('HSET', KEYS[1], 'last', ARGV[2])
    if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'lastCourseName', ARGV[3]) else redis.call('HDEL', KEYS[1], 'lastCourseName') end
  end
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'id', ARGV[4])
  redis.call('HDEL', KEYS[1], 'seeded')
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('HGETALL', KEYS[1])
`;

/**
 * Folds one address's record into another's, for good: KEYS[1] the record folded in (deleted),
 * KEYS[2] the record kept, KEYS[3] the alias key of the address folded in, KEYS[4] the alias key of
 * the address kept (deleted: it is no alias now), KEYS[5] the contact's owner key of earlier
 * versions (deleted); ARGV[1] ttl, ARGV[2] the address kept, ARGV[3] the contact id to note in the
 * kept record (its value merged in) or "", ARGV[4] "1" to do nothing when there is no record to
 * fold in, ARGV[5..] more course ids for the kept record. Returns the kept record, or false when
 * nothing was folded.
 */
const FOLD = `
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then return false end
local from = redis.call('HGETALL', KEYS[1])
local name
for i = 1, #from, 2 do
  if from[i] == 'lastCourseName' then name = from[i + 1] end
end
for i = 1, #from, 2 do
  local f, v = from[i], from[i + 1]
  if string.sub(f, 1, 2) == 'c:' then redis.call('HSET', KEYS[2], f, '1')
  elseif f == 'last' then
    local cur = redis.call('HGET', KEYS[2], 'last')
    if not cur or cjson.decode(cur).at <= cjson.decode(v).at then
      redis.call('HSET', KEYS[2], 'last', v)
      if name then redis.call('HSET', KEYS[2], 'lastCourseName', name) else redis.call('HDEL', KEYS[2], 'lastCourseName') end
    end
  end
end
for i = 5, #ARGV do redis.call('HSET', KEYS[2], 'c:' .. ARGV[i], '1') end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], 'id', ARGV[3])
  redis.call('HDEL', KEYS[2], 'seeded')
end
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5])
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return redis.call('HGETALL', KEYS[2])
`;

/**
 * After a write of an address to a HubSpot contact: KEYS[1] the address's record, KEYS[2] the
 * contact's owner key of earlier versions (read, then gone); ARGV[1] ttl, ARGV[2] the contact id,
 * ARGV[3] the address, ARGV[4] "1" when this write created the contact. The record notes the
 * contact id when it knew the contact already, when the write created it, or when an earlier
 * version had seeded it; otherwise the caller must read the contact first.
 * Returns {'known' | 'check', the other address an earlier version wrote the contact under, or ''}.
 */
const CLAIM = `
local id = redis.call('HGET', KEYS[1], 'id')
local owner = redis.call('GET', KEYS[2])
local other = ''
if owner == ARGV[3] then redis.call('DEL', KEYS[2]) elseif owner then other = owner end
if id == ARGV[2] then return {'known', other} end
if ARGV[4] == '1' or (not id and redis.call('HEXISTS', KEYS[1], 'seeded') == 1) then
  redis.call('HSET', KEYS[1], 'id', ARGV[2])
  redis.call('HDEL', KEYS[1], 'seeded')
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return {'known', other}
end
return {'check', other}
`;

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
    // Run once per contact of a batch, pipelined: by SHA (EVALSHA), not the script's text each time.
    if (!('csNoteCourses' in redis)) redis.defineCommand('csNoteCourses', { numberOfKeys: 1, lua: NOTE });
    if (!('csClaimContact' in redis)) redis.defineCommand('csClaimContact', { numberOfKeys: 2, lua: CLAIM });
  }

  private pipeline() {
    return this.redis.pipeline() as ReturnType<Redis['pipeline']> & {
      csNoteCourses(key: string, ...args: (string | number)[]): unknown;
      csClaimContact(key: string, ...args: (string | number)[]): unknown;
    };
  }

  private key(email: string, kind = 'contact'): string {
    return recordKey(this.prefix, kind, contactRecordDigest(email));
  }

  /** Earlier versions' key of the address a contact is written under (read and removed, never written). */
  private ownerKey(contactId: string): string {
    return recordKey(this.prefix, 'contact-owner', contactId);
  }

  /** Adds courses (and a newer last enrollment, and the contact whose value is merged in) per address; returns the records after the change. */
  async note(entries: { email: string; courses: string[]; last?: LastEnrollment; contactId?: string }[]): Promise<ContactCourseRecord[]> {
    if (!entries.length) return [];
    const pipe = this.pipeline();
    for (const e of entries) {
      const last = e.last && { at: e.last.at, courseId: e.last.courseId };
      pipe.csNoteCourses(this.key(e.email), this.ttlSeconds, last ? JSON.stringify(last) : '', e.last?.courseName ?? '', e.contactId ?? '', ...e.courses);
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
  async fold(from: string, to: string, contactId: string, more: { courses?: string[]; seeded?: boolean; ifRecorded?: boolean } = {}): Promise<ContactCourseRecord | undefined> {
    const keys = [this.key(from), this.key(to), this.key(from, 'contact-alias'), this.key(to, 'contact-alias'), this.ownerKey(contactId)];
    const flat = (await this.redis.eval(FOLD, keys.length, ...keys, this.ttlSeconds, to, more.seeded ? contactId : '', more.ifRecorded ? '1' : '0', ...(more.courses ?? []))) as string[] | null;
    return flat ? parse(flat) : undefined;
  }

  /**
   * After writing each address to its HubSpot contact (`created` when the write made it): whether
   * the address's record knew that contact, and another address an earlier version had written the
   * contact under (see `Claim`).
   */
  async claim(entries: { contactId: string; email: string; created: boolean }[]): Promise<Claim[]> {
    if (!entries.length) return [];
    const pipe = this.pipeline();
    for (const e of entries) pipe.csClaimContact(this.key(e.email), this.ownerKey(e.contactId), this.ttlSeconds, e.contactId, e.email, e.created ? '1' : '0');
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
