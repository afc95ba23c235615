import type { Redis } from 'ioredis';
import { enrollmentKey } from '../events/idempotency-key.ts';
import { erasePending, pendingEvent } from '../queues/pending-events.ts';
import { globSafe, recordKey, scanKeys } from '../redis/keys.ts';
import {
  matchKey,
  READ_BY_FORGET,
  type KeyPart,
  type MatchedKey,
  type RecordFamily,
  type Treatment,
} from '../redis/records.ts';
import { shortEmailHash } from '../trace/day-index.ts';
import { traceFields } from '../trace/packing.ts';
import { pairs } from './queue-records.ts';
import type { Student } from './student.ts';
import type { StudentRecord } from './student-records.ts';

const READ_CHUNK = 200;

/** An id as the trace index writes it in a key (URI-encoded), read back; a key written otherwise stays as it is. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The key parts (KEY_PARTS of src/redis/records.ts) that name the student, each with how to tell it
 * is theirs: a record of a family forget deletes whole is theirs when one of these parts of its key
 * is. The other parts (a day, a course id, a message id…) name nobody.
 */
function namingParts(student: Student): Partial<Record<KeyPart, (part: string) => boolean>> {
  const enrollments = student.possibleEnrollmentIds();
  // An enrollment's trace is keyed by its idempotency key (and no longer indexed by the enrollment id).
  const enrollmentTraces = new Set([...enrollments].map(enrollmentKey));
  const digests = new Set(student.contactDigests());
  const emailHashes = new Set(student.emailHashes());
  return {
    'enrollment id': (part) => enrollments.has(part) || enrollments.has(decoded(part)),
    'address digest': (part) => digests.has(part),
    'address hash': (part) => emailHashes.has(part),
    'trace key': (part) => student.recordKeys.has(part) || enrollmentTraces.has(part),
    'job id': (part) => student.recordKeys.has(part),
  };
}

/** The families whose records are deleted whole, and so may be found by their key alone. */
const WHOLE: ReadonlySet<Treatment> = new Set(['delete', 'unpack-then-delete']);

/** Tells whether a key is the student's by its name alone (keyed by their enrollment, address or record). */
function keyNamer(student: Student): (read: Read) => boolean {
  const naming = namingParts(student);
  return ({ family, parts }) =>
    !!family &&
    WHOLE.has(family.treatment) &&
    Object.entries(parts).some(([name, part]) => naming[name as KeyPart]?.(part) ?? false);
}

/** A key read: its family (none when no family declares it) and named parts, its type and what it holds. */
interface Read {
  key: string;
  family?: RecordFamily;
  parts: Partial<Record<KeyPart, string>>;
  type: string;
  value: unknown;
}

/**
 * Whether forget and export read the records of a family: by its treatment. A key no family
 * declares is read too (test/redis-records.test.ts fails on it; until it is registered, forget errs
 * on the side of looking).
 */
function isRead(matched: MatchedKey | undefined): boolean {
  return !matched || READ_BY_FORGET.has(matched.family.treatment);
}

async function readAll(redis: Redis, prefix: string, keys: string[]): Promise<Read[]> {
  const out: Read[] = [];
  for (let i = 0; i < keys.length; i += READ_CHUNK) {
    const chunk = keys.slice(i, i + READ_CHUNK).flatMap((key) => {
      const matched = matchKey(prefix, key);
      return isRead(matched) ? [{ key, family: matched?.family, parts: matched?.parts ?? {} }] : [];
    });
    const packs = (r: (typeof chunk)[number]) => r.family?.treatment === 'unpack-then-delete';
    const types = chunk.length ? ((await chunk.reduce((p, r) => p.type(r.key), redis.pipeline()).exec()) ?? []) : [];
    const reads = redis.pipeline();
    chunk.forEach((r, j) => {
      const type = String(types[j]?.[1]);
      if (type === 'string') reads.get(r.key);
      // A trace or its calls may be packed: read as bytes, unpacked below.
      else if (type === 'hash' && packs(r)) reads.hgetallBuffer(r.key);
      else if (type === 'hash') reads.hgetall(r.key);
      else if (type === 'list') reads.lrange(r.key, 0, -1);
      else if (type === 'set') reads.smembers(r.key);
      else if (type === 'zset') reads.zrange(r.key, 0, '-1');
      else if (type === 'stream') reads.xrange(r.key, '-', '+');
      else reads.exists(r.key);
    });
    const values = chunk.length ? ((await reads.exec()) ?? []) : [];
    chunk.forEach((r, j) => {
      const value = values[j]?.[1];
      // Call details written after their record was packed lie beside the packed field, and are newer.
      const unpacked =
        packs(r) && value && typeof value === 'object'
          ? traceFields(value as Record<string, Buffer>, r.family?.family === 'cs:calls')
          : value;
      out.push({ ...r, type: String(types[j]?.[1]), value: unpacked });
    });
  }
  return out;
}

/**
 * The student's records among course-sync's own keys (`<prefix>:cs:*`), family by family as
 * src/redis/records.ts declares them: the families forget reads (by their treatment), each record
 * found by its name (a key part naming the student: their enrollment, their address's digest or
 * hash, one of their traces or jobs) or by what it holds. A record of a `delete` family is erased
 * whole; from one of a `delete-entries` family (an index, the quarantine stream, a list shared with
 * others) only the entries naming them are taken out; a dedupe record (`delete-data`) loses the
 * enrollment's data and keeps its marker.
 */
export async function findOwnRecords(redis: Redis, prefix: string, student: Student): Promise<StudentRecord[]> {
  const reads = await readAll(redis, prefix, await scanKeys(redis, `${globSafe(recordKey(prefix, ''))}*`));
  const namedByKey = keyNamer(student);
  const shortHashes = new Set(student.emailHashes().map(shortEmailHash));
  // Keys named by their record first: a trace found so teaches the ids its index entries are read by.
  reads.sort((x, y) => Number(namedByKey(y)) - Number(namedByKey(x)));
  const found: StudentRecord[] = [];
  for (const r of reads) {
    const kind = r.family?.label ?? `${r.key.slice(recordKey(prefix, '').length).split(':')[0]} records`;
    const whole = namedByKey(r);
    const treatment = r.family?.treatment;
    if (treatment === 'delete-data') {
      // An enrollment's data while its jobs wait; erasing it keeps the dedupe marker (a redelivery stays a duplicate).
      const event =
        r.type === 'hash' && r.parts['event key']
          ? pendingEvent(r.parts['event key'], r.value as Record<string, string>)
          : undefined;
      if (!event || !student.learnFrom(event.data)) continue;
      student.recordKeys.add(event.key);
      found.push({ kind, where: r.key, content: event, erase: () => erasePending(redis, prefix, event.key) });
    } else if (treatment === 'delete-entries' && r.type === 'hash') {
      // A hash shared by that day's students (the trace index by address): only their fields, named
      // by the short keyed hash of their address, whose values are their traces.
      for (const [field, keys] of Object.entries(r.value as Record<string, string>)) {
        if (!shortHashes.has(field)) continue;
        for (const key of keys.split(' ')) student.recordKeys.add(key);
        found.push({
          kind,
          where: `${r.key}/${field}`,
          content: keys,
          erase: async () => void (await redis.hdel(r.key, field)),
        });
      }
    } else if (r.type === 'string' || r.type === 'hash') {
      if (!student.learnFrom(r.value) && !whole) continue;
      if (r.parts['trace key']) student.recordKeys.add(r.parts['trace key']);
      found.push({ kind, where: r.key, content: r.value, erase: async () => void (await redis.del(r.key)) });
    } else if (whole) {
      // An index of the student's own (by their address hash or enrollment id): its members are their traces.
      for (const member of r.value as string[]) student.recordKeys.add(member);
      found.push({ kind, where: r.key, content: r.value, erase: async () => void (await redis.del(r.key)) });
    } else if (r.type === 'stream') {
      for (const [id, fields] of r.value as [string, string[]][]) {
        const entry = Object.fromEntries(pairs(fields));
        if (!student.learnFrom(entry)) continue;
        // A quarantined delivery's trace and replayed job are keyed `quarantine-<entry id>`.
        if (r.family?.family === 'cs:quarantine') student.recordKeys.add(`quarantine-${id}`);
        found.push({
          kind,
          where: `${r.key}/${id}`,
          content: { id, ...entry },
          erase: async () => void (await redis.xdel(r.key, id)),
        });
      }
    } else if (r.type === 'list' || r.type === 'set' || r.type === 'zset') {
      for (const member of r.value as string[]) {
        if (!student.learnFrom(member)) continue;
        const erase =
          r.type === 'list'
            ? () => redis.lrem(r.key, 0, member)
            : r.type === 'set'
              ? () => redis.srem(r.key, member)
              : () => redis.zrem(r.key, member);
        found.push({ kind, where: `${r.key}/${member}`, content: member, erase: async () => void (await erase()) });
      }
    }
  }
  return found;
}
