import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LastEnrollment } from './contact-mapping.ts';
import { recordKey } from '../redis/keys.ts';

/** The key part of an address's course record and alias: the first 32 hex digits of the SHA-256 of the (normalized) address. */
export function contactRecordDigest(email: string): string {
  return createHash('sha256').update(email).digest('hex').slice(0, 32);
}

/** What course-sync knows of one contact's courses (a Redis hash per contact). */
export interface ContactCourseRecord {
  /** Every course id known to belong in `loopwise_enrolled_courses`. */
  courses: string[];
  /** True once HubSpot's value from before course-sync met the contact is merged in (or we created the contact). */
  seeded: boolean;
  /** The latest enrollment: what `loopwise_last_*` must show. */
  last?: LastEnrollment;
}

/**
 * Adds course ids and keeps the newest "last enrollment", atomically. KEYS[1] the contact hash;
 * ARGV[1] ttl seconds, ARGV[2] last-enrollment JSON (at, courseId) or "", ARGV[3] its course name,
 * ARGV[4] "1" to mark seeded, ARGV[5..] course ids. Returns the whole hash. The course name has a
 * field of its own (`lastCourseName`; records written before kept it inside `last`): short values
 * keep the hash in Redis' compact encoding, a third of the memory.
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
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'seeded', '1') end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('HGETALL', KEYS[1])
`;

/**
 * Folds one address's record into another's, for good: KEYS[1] the record folded in (deleted),
 * KEYS[2] the record kept, KEYS[3] the alias key of the address folded in, KEYS[4] the owner key of
 * the contact, KEYS[5] the alias key of the address kept (deleted: it is no alias now); ARGV[1] ttl,
 * ARGV[2] the address kept, ARGV[3] "1" to mark the kept record seeded, ARGV[4..] more course ids
 * for it. Returns the kept record.
 */
const FOLD = `
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
for i = 4, #ARGV do redis.call('HSET', KEYS[2], 'c:' .. ARGV[i], '1') end
if ARGV[3] == '1' then redis.call('HSET', KEYS[2], 'seeded', '1') end
redis.call('DEL', KEYS[1], KEYS[5])
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[1])
redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return redis.call('HGETALL', KEYS[2])
`;

/**
 * Claims a HubSpot contact for an address: KEYS[1] the contact's owner key; ARGV[1] ttl, ARGV[2]
 * the address. Returns the address that owned it before when that was another one (the owner is
 * then left as it was), else nothing.
 */
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[2] then return cur end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
return false
`;

/** Alias hops followed at most (an alias of an alias comes from two folds in a row). */
const MAX_HOPS = 4;

/** CONTACT_RECORD_TTL_DAYS's default: how long a contact's course record, aliases and owner are kept after their last write. */
export const CONTACT_RECORD_TTL_SECONDS = 180 * 24 * 3600;

function parse(flat: string[]): ContactCourseRecord {
  const rec: ContactCourseRecord = { courses: [], seeded: false };
  let name: string | undefined;
  for (let i = 0; i < flat.length; i += 2) {
    const [field, value] = [flat[i]!, flat[i + 1]!];
    if (field.startsWith('c:')) rec.courses.push(field.slice(2));
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
 * a hash of the e-mail, never the address. The record expires after `ttlSeconds` without writes;
 * a contact met again after that is re-seeded from HubSpot's property history.
 *
 * One HubSpot contact can have several addresses (secondary ones, or a merged contact's): an
 * address found to belong to a contact written under another one is folded into it (an alias,
 * `<prefix>:cs:contact-alias:<hash>`), and each contact id remembers the address it is written under
 * (`<prefix>:cs:contact-owner:<id>`), so two addresses never write two different course lists to it.
 */
export class ContactCourses {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds = CONTACT_RECORD_TTL_SECONDS,
  ) {
    // Run once per contact of a batch, pipelined: by SHA (EVALSHA), not the script's text each time.
    if (!('csNoteCourses' in redis)) redis.defineCommand('csNoteCourses', { numberOfKeys: 1, lua: NOTE });
    if (!('csClaimContact' in redis)) redis.defineCommand('csClaimContact', { numberOfKeys: 1, lua: CLAIM });
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

  private ownerKey(contactId: string): string {
    return recordKey(this.prefix, 'contact-owner', contactId);
  }

  /** Adds courses (and a newer last enrollment, and the seeded mark) per contact; returns the records after the change. */
  async note(entries: { email: string; courses: string[]; last?: LastEnrollment; seeded?: boolean }[]): Promise<ContactCourseRecord[]> {
    if (!entries.length) return [];
    const pipe = this.pipeline();
    for (const e of entries) {
      const last = e.last && { at: e.last.at, courseId: e.last.courseId };
      pipe.csNoteCourses(this.key(e.email), this.ttlSeconds, last ? JSON.stringify(last) : '', e.last?.courseName ?? '', e.seeded ? '1' : '0', ...e.courses);
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
   * `to` from now on: `from`'s courses and last enrollment move to `to`'s record (plus `courses`),
   * which is marked seeded when `seeded`.
   */
  async fold(from: string, to: string, contactId: string, more: { courses?: string[]; seeded?: boolean } = {}): Promise<ContactCourseRecord> {
    const keys = [this.key(from), this.key(to), this.key(from, 'contact-alias'), this.ownerKey(contactId), this.key(to, 'contact-alias')];
    const flat = (await this.redis.eval(FOLD, keys.length, ...keys, this.ttlSeconds, to, more.seeded ? '1' : '0', ...(more.courses ?? []))) as string[];
    return parse(flat);
  }

  /**
   * Notes which address each written HubSpot contact is written under. Returns, per entry, the
   * address that owned that contact before when it is another one (two addresses of one contact).
   */
  async claim(entries: { contactId: string; email: string }[]): Promise<(string | undefined)[]> {
    if (!entries.length) return [];
    const pipe = this.pipeline();
    for (const e of entries) pipe.csClaimContact(this.ownerKey(e.contactId), this.ttlSeconds, e.email);
    return (await pipe.exec())!.map(([err, v]) => {
      if (err) throw err;
      return (v as string | null) ?? undefined;
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
