import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LastEnrollment } from './contact-mapping.ts';
import { recordKey } from '../redis/keys.ts';

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
 * ARGV[1] ttl seconds, ARGV[2] last-enrollment JSON or "", ARGV[3] "1" to mark seeded, ARGV[4..]
 * course ids. Returns the whole hash.
 */
const NOTE = `
for i = 4, #ARGV do redis.call('HSET', KEYS[1], 'c:' .. ARGV[i], '1') end
if ARGV[2] ~= '' then
  local cur = redis.call('HGET', KEYS[1], 'last')
  if not cur or cjson.decode(cur).at <= cjson.decode(ARGV[2]).at then redis.call('HSET', KEYS[1], 'last', ARGV[2]) end
end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'seeded', '1') end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('HGETALL', KEYS[1])
`;

const DEFAULT_TTL_SECONDS = 180 * 24 * 3600;

function parse(flat: string[]): ContactCourseRecord {
  const rec: ContactCourseRecord = { courses: [], seeded: false };
  for (let i = 0; i < flat.length; i += 2) {
    const [field, value] = [flat[i]!, flat[i + 1]!];
    if (field.startsWith('c:')) rec.courses.push(field.slice(2));
    else if (field === 'seeded') rec.seeded = true;
    else if (field === 'last') rec.last = JSON.parse(value) as LastEnrollment;
  }
  rec.courses.sort();
  return rec;
}

/**
 * The courses of each contact, kept in Redis so that every worker process writes the union of
 * all of a student's enrollments to HubSpot (a checkbox write replaces the whole value). Keys are
 * a hash of the e-mail, never the address. The record expires after `ttlSeconds` without writes;
 * a contact met again after that is re-seeded from HubSpot's property history.
 */
export class ContactCourses {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds = DEFAULT_TTL_SECONDS,
  ) {}

  private key(email: string): string {
    return recordKey(this.prefix, 'contact', createHash('sha256').update(email).digest('hex').slice(0, 32));
  }

  /** Adds courses (and a newer last enrollment, and the seeded mark) per contact; returns the records after the change. */
  async note(entries: { email: string; courses: string[]; last?: LastEnrollment; seeded?: boolean }[]): Promise<ContactCourseRecord[]> {
    if (!entries.length) return [];
    const pipe = this.redis.pipeline();
    for (const e of entries) {
      pipe.eval(NOTE, 1, this.key(e.email), this.ttlSeconds, e.last ? JSON.stringify(e.last) : '', e.seeded ? '1' : '0', ...e.courses);
    }
    return (await pipe.exec())!.map(([err, flat]) => {
      if (err) throw err;
      return parse(flat as string[]);
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
