import type { Redis } from 'ioredis';
import { enrollmentKey } from '../events/idempotency-key.ts';
import { erasePending, pendingEvent } from '../queues/pending-events.ts';
import { globSafe, recordKey, scanKeys } from '../redis/keys.ts';
import { shortEmailHash } from '../trace/day-index.ts';
import { traceFields } from '../trace/packing.ts';
import { pairs } from './queue-records.ts';
import type { Student } from './student.ts';
import type { StudentRecord } from './student-records.ts';

/**
 * Kinds of course-sync's own records (`<prefix>:cs:<kind>:…`) that hold no personal data and are
 * not read: dedupe markers of SendGrid events (`sg-event`: "1", kept so a redelivery stays a
 * duplicate), counters, locks, cursors, the suppression list (keyed hashes only) and the hash key.
 * An event's dedupe record (`seen`) is read: an enrollment's holds its data until its jobs are done.
 */
const NO_PERSONAL_DATA = new Set([
  'sg-event',
  'sg-unmatched',
  'stats',
  'hubspot',
  'course-version',
  'course-lock',
  'course-record',
  'alert',
  'alerts-active',
  'alert-baseline',
  'workers-seen',
  'tracer-lease',
  'trace-cursor',
  'admin-login-failures',
  'suppressed',
  'pii-hash-key',
]);

/** What a record of each kind is, in `forget`'s report. */
const KIND_LABEL: Record<string, string> = {
  seen: 'enrollments waiting for their jobs',
  trace: 'traces',
  calls: 'call details',
  'trace-idx': 'trace index entries',
  quarantine: 'quarantined deliveries',
  contact: 'contact course records',
  'contact-alias': 'contact aliases',
  'contact-owner': 'contact owners',
  sent: 'welcome email records',
  sending: 'welcome email records',
  'send-attempt': 'welcome email records',
  'sent-by': 'welcome email records',
  attempts: 'attempt logs',
};

const READ_CHUNK = 200;

/** Tells whether a key is the student's by its name alone (keyed by their enrollment, address or record). */
function keyNamer(student: Student): (parts: string[]) => boolean {
  const enrollments = student.possibleEnrollmentIds();
  // An enrollment's trace is keyed by its idempotency key (and no longer indexed by the enrollment id).
  const enrollmentTraces = new Set([...enrollments].map(enrollmentKey));
  const digests = new Set(student.contactDigests());
  const emailHashes = new Set(student.emailHashes());
  return ([kind, a, b]) => {
    switch (kind) {
      case 'sent':
      case 'sending':
      case 'send-attempt':
        return enrollments.has(a!);
      case 'contact':
      case 'contact-alias':
        return digests.has(a!);
      case 'trace':
      case 'calls':
        return student.recordKeys.has(a!) || enrollmentTraces.has(a!);
      case 'attempts':
        return student.recordKeys.has(b!);
      case 'trace-idx':
        return (
          (a === 'email' && emailHashes.has(b!)) || (a === 'enrollment' && enrollments.has(decodeURIComponent(b!)))
        );
      default:
        return false;
    }
  };
}

interface Read {
  key: string;
  parts: string[];
  type: string;
  value: unknown;
}

async function readAll(redis: Redis, keys: string[], partsOf: (key: string) => string[]): Promise<Read[]> {
  const out: Read[] = [];
  // Traces and their call details may be packed.
  const packs = (k: string) => partsOf(k)[0] === 'trace' || partsOf(k)[0] === 'calls';
  for (let i = 0; i < keys.length; i += READ_CHUNK) {
    const chunk = keys.slice(i, i + READ_CHUNK).filter((k) => !NO_PERSONAL_DATA.has(partsOf(k)[0]!));
    const types = chunk.length ? ((await chunk.reduce((p, k) => p.type(k), redis.pipeline()).exec()) ?? []) : [];
    const reads = redis.pipeline();
    chunk.forEach((k, j) => {
      const type = String(types[j]?.[1]);
      if (type === 'string') reads.get(k);
      // A trace or its calls may be packed: read as bytes, unpacked below.
      else if (type === 'hash' && packs(k)) reads.hgetallBuffer(k);
      else if (type === 'hash') reads.hgetall(k);
      else if (type === 'list') reads.lrange(k, 0, -1);
      else if (type === 'set') reads.smembers(k);
      else if (type === 'zset') reads.zrange(k, 0, '-1');
      else if (type === 'stream') reads.xrange(k, '-', '+');
      else reads.exists(k);
    });
    const values = chunk.length ? ((await reads.exec()) ?? []) : [];
    chunk.forEach((k, j) => {
      const value = values[j]?.[1];
      const unpacked =
        packs(k) && value && typeof value === 'object'
          ? traceFields(value as Record<string, Buffer>, partsOf(k)[0] === 'calls')
          : value;
      out.push({ key: k, parts: partsOf(k), type: String(types[j]?.[1]), value: unpacked });
    });
  }
  return out;
}

/**
 * The student's records among course-sync's own keys (`<prefix>:cs:*`): found by their name (a
 * trace, the sent records of their enrollments, their contact course record) or by what they hold.
 * A key is erased whole when it is about the student; from a key shared with others (an index, the
 * quarantine stream, a list) only the members naming them are taken out.
 */
export async function findOwnRecords(redis: Redis, prefix: string, student: Student): Promise<StudentRecord[]> {
  const base = recordKey(prefix, '');
  const reads = await readAll(redis, await scanKeys(redis, `${globSafe(base)}*`), (k) =>
    k.slice(base.length).split(':'),
  );
  const namedByKey = keyNamer(student);
  const shortHashes = new Set(student.emailHashes().map(shortEmailHash));
  // Keys named by their record first: a trace found so teaches the ids its index entries are read by.
  reads.sort((x, y) => Number(namedByKey(y.parts)) - Number(namedByKey(x.parts)));
  const found: StudentRecord[] = [];
  for (const r of reads) {
    const kind = KIND_LABEL[r.parts[0]!] ?? `${r.parts[0]} records`;
    const whole = namedByKey(r.parts);
    if (r.parts[0] === 'seen') {
      // An enrollment's data while its jobs wait; erasing it keeps the dedupe marker (a redelivery stays a duplicate).
      const event =
        r.type === 'hash' ? pendingEvent(r.parts.slice(1).join(':'), r.value as Record<string, string>) : undefined;
      if (!event || !student.learnFrom(event.data)) continue;
      student.recordKeys.add(event.key);
      found.push({ kind, where: r.key, content: event, erase: () => erasePending(redis, prefix, event.key) });
    } else if (r.parts[0] === 'trace-idx' && r.parts[1] === 'email-day' && r.type === 'hash') {
      // One day's e-mail index, shared by that day's students: only their fields, whose values are their traces.
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
      if (r.parts[0] === 'trace') student.recordKeys.add(r.parts[1]!);
      found.push({ kind, where: r.key, content: r.value, erase: async () => void (await redis.del(r.key)) });
    } else if (whole) {
      // An index of the student's own (by their address hash or enrollment id): its members are their traces.
      if (r.parts[0] === 'trace-idx') for (const member of r.value as string[]) student.recordKeys.add(member);
      found.push({ kind, where: r.key, content: r.value, erase: async () => void (await redis.del(r.key)) });
    } else if (r.type === 'stream') {
      for (const [id, fields] of r.value as [string, string[]][]) {
        const entry = Object.fromEntries(pairs(fields));
        if (!student.learnFrom(entry)) continue;
        if (r.parts[0] === 'quarantine') student.recordKeys.add(`quarantine-${id}`);
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
