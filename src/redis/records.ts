import { QueueKeys } from 'bullmq';
import type { Config } from '../config.ts';
import type { SettingName } from '../../config/settings.ts';
import { KeyShape, type PartRule } from './key-shape.ts';

/**
 * How long the records of a family live: a TTL set from a setting (or a fixed one), a bound by
 * count (the newest N are kept, whatever the flow), or until someone removes them.
 */
export type Lifetime =
  | { kind: 'ttl'; setting?: SettingName; seconds(config: Config): number; from: string }
  | { kind: 'count'; bound: string }
  | { kind: 'until'; what: string };

/**
 * What `forget` does with a family's records, and so what `export` shows (it reads what forget would remove):
 * - `delete`: a record naming the student (by its key or by what it holds) is deleted whole;
 * - `delete-entries`: a record shared by many students loses only the entries (fields, members, stream entries) naming them;
 * - `delete-data`: the enrollment's data goes, the marker stays (a redelivery of a forgotten enrollment stays a duplicate);
 * - `unpack-then-delete`: a packed record is unpacked to be read, then deleted whole;
 * - `masked`: not read: it holds addresses masked only, which name nobody forget could match;
 * - `keep`: kept on purpose (the suppression list must outlive the student's data); export says whether they are on it;
 * - `skip`: not read: no personal data.
 */
export type Treatment = 'delete' | 'delete-entries' | 'delete-data' | 'unpack-then-delete' | 'masked' | 'keep' | 'skip';

/** The treatments under which `forget` and `export` read a family's records. */
export const READ_BY_FORGET: ReadonlySet<Treatment> = new Set([
  'delete',
  'delete-entries',
  'delete-data',
  'unpack-then-delete',
]);

/** One family of Redis records under the queue prefix: course-sync's own (`cs:…`) or BullMQ's. */
export interface RecordFamily {
  /** `cs:<kind>` as the key reads (`cs:trace-idx:<index>` for the trace index); BullMQ's by what they are (`jobs`). */
  family: string;
  /** The key after `<prefix>:`, with named parts (KEY_PARTS): `cs:sent:<enrollment id>`. */
  shape: string;
  /** The room of src/ that writes it (BullMQ's keys: `queues`, which opens the queues). */
  owner: string;
  /** What one record is. */
  what: string;
  lifetime: Lifetime;
  /** False, or the personal data a record holds (in clear, masked, or as a keyed hash): forget and export look at it. */
  personalData: false | string;
  /** How forget and export treat it. */
  treatment: Treatment;
  /** What forget's report calls a record of it (for the families forget reads). */
  label?: string;
  /** How many of them there are: one per enrollment, per student, per event…, or a few in all. */
  per: 'enrollment' | 'student' | 'event' | 'course' | 'few';
  /** Written by earlier versions only: read (or migrated) while they live, never written again. */
  legacy?: true;
}

/** BullMQ's structures per queue (lists, sets, the meta hash, the id counter...), as BullMQ names them; its event log is a family of its own. */
const QUEUE_STRUCTURES = [...Object.keys(new QueueKeys().getKeys('q')).filter((k) => k && k !== 'events'), 'metrics'];

/**
 * The named parts of the shapes, and what each may hold. The parts naming a student (their
 * enrollment, a hash of their address, a record of theirs) are how forget finds a record by its key.
 */
export const KEY_PARTS = {
  'enrollment id': {},
  /** SHA-256 of the address, cut (the contact course records; hubspot/contact-courses.ts). */
  'address digest': {},
  /** The keyed hash (HMAC) of an address (privacy/pii-hash.ts). */
  'address hash': {},
  /** An event's idempotency key (`enroll-<enrollment id>`, `quarantine-<entry>`…): its trace, its job. */
  'trace key': {},
  'event key': {},
  'job id': { not: [...QUEUE_STRUCTURES, 'events'] },
  /** BullMQ's queue name (any but course-sync's own `cs`). */
  queue: { not: ['cs'] },
  structure: { oneOf: QUEUE_STRUCTURES },
  'job part': {},
  day: {},
  'course id': {},
  'plan id': {},
  'contact id': {},
  'message id': {},
  'sg event id': {},
  'alert id': {},
  'source address': {},
  series: {},
  unit: {},
  bucket: {},
  what: {},
} satisfies Record<string, PartRule>;

export type KeyPart = keyof typeof KEY_PARTS;

const days = (n: number) => n * 86_400;
const ttl = (setting: SettingName | undefined, seconds: (c: Config) => number, from: string): Lifetime => ({
  kind: 'ttl',
  setting,
  seconds,
  from,
});
const trace = ttl('TRACE_RETENTION_DAYS', (c) => days(c.trace.retentionDays), 'the last step');
const contact = ttl('CONTACT_RECORD_TTL_DAYS', (c) => c.hubspot.contactRecordTtlSeconds, 'the last write');
const traceDay = ttl('TRACE_RETENTION_DAYS', (c) => days(c.trace.retentionDays + 1), 'the start of its day');
const count = (bound: string): Lifetime => ({ kind: 'count', bound });
const until = (what: string): Lifetime => ({ kind: 'until', what });

/**
 * Every family of course-sync's own records: its key shape, the room that writes it, its lifetime,
 * the personal data it holds and how forget and export treat it. Forget's record sweep, export, the
 * footprint bench (bench/lib/families.ts) and docs/privacy.md (scripts/records-docs.ts) read it;
 * test/redis-records.test.ts fails on a key no family matches. One family per line, as a table.
 */
// prettier-ignore
export const RECORD_FAMILIES: readonly RecordFamily[] = [
  { family: 'cs:seen', shape: 'cs:seen:<event key>', owner: 'queues', what: 'an event\'s dedupe record (its data while its jobs wait, then a time)', personalData: 'while its jobs wait, the enrollment (name, address, phone): until both its jobs are done, at most PII_RETENTION_DAYS after it arrived; then none (a time)', treatment: 'delete-data', label: 'enrollments waiting for their jobs', lifetime: ttl('DEDUPE_TTL_SECONDS', (c) => c.webhook.dedupeTtlSeconds, 'arrival'), per: 'event' },
  { family: 'cs:trace', shape: 'cs:trace:<trace key>', owner: 'trace', what: 'an event\'s journey: header, steps, ids, outcome (packed once finished)', personalData: 'the address masked; errors and bounce reasons with addresses and phone numbers masked; packed (deflated, not encrypted) once finished', treatment: 'unpack-then-delete', label: 'traces', lifetime: trace, per: 'event' },
  { family: 'cs:calls', shape: 'cs:calls:<trace key>', owner: 'trace', what: 'the HubSpot and SendGrid call details of an event\'s journey (packed with it)', personalData: 'the first and last name and the masked phone and address sent to HubSpot and SendGrid; the answers with addresses and phone numbers masked', treatment: 'unpack-then-delete', label: 'call details', lifetime: ttl('CALL_DETAIL_RETENTION_DAYS', (c) => days(c.trace.callRetentionDays), 'the last call'), per: 'event' },
  { family: 'cs:trace-idx:email-day', shape: 'cs:trace-idx:email-day:<day>', owner: 'trace', what: 'one day\'s trace index by the keyed hash of each address (a hash per day)', personalData: 'each address as a keyed hash only (its first 16 bytes), a field each', treatment: 'delete-entries', label: 'trace index entries', lifetime: traceDay, per: 'few' },
  { family: 'cs:trace-idx:course-day', shape: 'cs:trace-idx:course-day:<course id>:<day>', owner: 'trace', what: 'one day\'s trace index of a course (a list per course and day)', personalData: false, treatment: 'delete-entries', label: 'trace index entries', lifetime: traceDay, per: 'course' },
  { family: 'cs:trace-idx:plan-day', shape: 'cs:trace-idx:plan-day:<plan id>:<day>', owner: 'trace', what: 'one day\'s trace index of a plan (a list per plan and day)', personalData: false, treatment: 'delete-entries', label: 'trace index entries', lifetime: traceDay, per: 'course' },
  { family: 'cs:trace-idx:enrollment-day', shape: 'cs:trace-idx:enrollment-day:<enrollment id>:<day>', owner: 'trace', what: 'one day\'s trace index of an enrollment id, for traces not its own (a quarantined delivery\'s)', personalData: 'the enrollment id, in its name', treatment: 'delete', label: 'trace index entries', lifetime: traceDay, per: 'few' },
  { family: 'cs:trace-idx:email', shape: 'cs:trace-idx:email:<address hash>', owner: 'trace', what: 'trace index by the keyed hash of an address (a sorted set each)', personalData: 'the keyed hash of an address, in its name', treatment: 'delete', label: 'trace index entries', lifetime: trace, per: 'student', legacy: true },
  { family: 'cs:trace-idx:course', shape: 'cs:trace-idx:course:<course id>', owner: 'trace', what: 'trace index by course id (a sorted set each)', personalData: false, treatment: 'delete-entries', label: 'trace index entries', lifetime: trace, per: 'course', legacy: true },
  { family: 'cs:trace-idx:plan', shape: 'cs:trace-idx:plan:<plan id>', owner: 'trace', what: 'trace index by plan id (a sorted set each)', personalData: false, treatment: 'delete-entries', label: 'trace index entries', lifetime: trace, per: 'course', legacy: true },
  { family: 'cs:trace-idx:enrollment', shape: 'cs:trace-idx:enrollment:<enrollment id>', owner: 'trace', what: 'trace index by enrollment id', personalData: 'the enrollment id, in its name', treatment: 'delete', label: 'trace index entries', lifetime: trace, per: 'event', legacy: true },
  { family: 'cs:trace-cursor', shape: 'cs:trace-cursor:<queue>', owner: 'trace', what: 'where the tracer resumes each event stream', personalData: false, treatment: 'skip', lifetime: ttl(undefined, () => days(7), 'the last save'), per: 'few' },
  { family: 'cs:tracer-lease', shape: 'cs:tracer-lease', owner: 'trace', what: 'which process traces', personalData: false, treatment: 'skip', lifetime: ttl(undefined, () => 15, 'the last renewal'), per: 'few' },
  { family: 'cs:contact', shape: 'cs:contact:<address digest>', owner: 'hubspot', what: 'a student\'s course record (courses, last enrollment, the HubSpot contact written to)', personalData: 'courses, the last enrollment and the HubSpot contact id, keyed by a hash of the address', treatment: 'delete', label: 'contact course records', lifetime: contact, per: 'student' },
  { family: 'cs:contact-alias', shape: 'cs:contact-alias:<address digest>', owner: 'hubspot', what: 'an address folded into another address of the same HubSpot contact', personalData: 'the address it is written under, in clear', treatment: 'delete', label: 'contact aliases', lifetime: contact, per: 'student' },
  { family: 'cs:contact-owner', shape: 'cs:contact-owner:<contact id>', owner: 'hubspot', what: 'the address a HubSpot contact is written under (now in the course record)', personalData: 'the address, in clear', treatment: 'delete', label: 'contact owners', lifetime: contact, per: 'student', legacy: true },
  { family: 'cs:sent', shape: 'cs:sent:<enrollment id>', owner: 'sendgrid', what: 'an enrollment\'s welcome email record: sent marker, delivery status', personalData: 'message id, status and its reason (addresses masked), opens and clicks', treatment: 'delete', label: 'welcome email records', lifetime: ttl('SENT_MARKER_TTL_DAYS', (c) => c.sendgrid.sentRecordTtlSeconds, 'the last change'), per: 'enrollment' },
  { family: 'cs:sent-by', shape: 'cs:sent-by:<message id>', owner: 'sendgrid', what: 'a welcome email\'s X-Message-Id → its enrollment', personalData: 'the enrollment id', treatment: 'delete', label: 'welcome email records', lifetime: ttl('SENDGRID_MESSAGE_INDEX_DAYS', (c) => c.sendgrid.messageIndexTtlSeconds, 'the send'), per: 'enrollment' },
  { family: 'cs:sending', shape: 'cs:sending:<enrollment id>', owner: 'sendgrid', what: 'a welcome email\'s claim while it is sent (twice the send timeout and 5 s)', personalData: false, treatment: 'delete', label: 'welcome email records', lifetime: ttl(undefined, () => 35, 'the claim'), per: 'enrollment' },
  { family: 'cs:send-attempt', shape: 'cs:send-attempt:<enrollment id>', owner: 'sendgrid', what: 'when a send of unknown outcome started', personalData: false, treatment: 'delete', label: 'welcome email records', lifetime: ttl('SENDGRID_EVENT_GRACE_SECONDS', (c) => c.sendgrid.events.graceSeconds + 60, 'the attempt'), per: 'enrollment' },
  { family: 'cs:sg-event', shape: 'cs:sg-event:<sg event id…>', owner: 'sendgrid', what: 'a SendGrid event id, to drop the same event posted again ("1")', personalData: false, treatment: 'skip', lifetime: ttl('SENDGRID_EVENT_DEDUPE_HOURS', (c) => c.sendgrid.events.dedupeTtlSeconds, 'the event'), per: 'event' },
  { family: 'cs:sg-unmatched', shape: 'cs:sg-unmatched', owner: 'sendgrid', what: 'SendGrid events matched to no welcome email (a stream)', personalData: 'each event\'s address masked, and SendGrid\'s reason with addresses masked', treatment: 'masked', lifetime: count('the last 10,000, SENT_MARKER_TTL_DAYS after the last'), per: 'few' },
  { family: 'cs:attempts', shape: 'cs:attempts:<queue>:<job id>', owner: 'queues', what: 'a job\'s attempt log', personalData: 'error messages, addresses and phone numbers masked', treatment: 'delete', label: 'attempt logs', lifetime: ttl(undefined, () => days(30), 'the last attempt'), per: 'event' },
  { family: 'cs:quarantine', shape: 'cs:quarantine', owner: 'quarantine', what: 'refused webhooks as received (a stream)', personalData: 'the refused body as received', treatment: 'delete-entries', label: 'quarantined deliveries', lifetime: count('QUARANTINE_MAX_ENTRIES, at most PII_RETENTION_DAYS'), per: 'few' },
  { family: 'cs:suppressed', shape: 'cs:suppressed', owner: 'privacy', what: 'the addresses kept out (`forget --suppress`)', personalData: 'keyed hashes of addresses only', treatment: 'keep', lifetime: until('`forget --unsuppress`'), per: 'few' },
  { family: 'cs:audit', shape: 'cs:audit', owner: 'audit', what: 'operators\' actions (a list)', personalData: false, treatment: 'delete-entries', label: 'audit records', lifetime: count('the last 50, 90 days after the last'), per: 'few' },
  { family: 'cs:stats', shape: 'cs:stats:<series>:<unit>:<bucket>', owner: 'stats', what: 'counters per 10 s, minute and quarter-hour', personalData: false, treatment: 'skip', lifetime: count('a bucket expires a little after the window its picture shows'), per: 'few' },
  { family: 'cs:hubspot', shape: 'cs:hubspot:<what…>', owner: 'hubspot', what: 'the shared HubSpot request budget, the property lock, the daily limit and usage', personalData: false, treatment: 'skip', lifetime: count('a few keys: seconds-long TTLs; the daily limit until an hour after the portal\'s reset, the usage a day at most'), per: 'few' },
  { family: 'cs:course-record', shape: 'cs:course-record:<course id>', owner: 'hubspot', what: 'a course\'s HubSpot course record id (the Courses object, 0-410)', personalData: false, treatment: 'skip', lifetime: ttl(undefined, () => days(30), 'the last use'), per: 'course' },
  { family: 'cs:course-version', shape: 'cs:course-version:<course id>', owner: 'hubspot', what: 'the last course event written per course', personalData: false, treatment: 'skip', lifetime: until('the course is gone (one per course)'), per: 'course' },
  { family: 'cs:course-lock', shape: 'cs:course-lock:<course id>', owner: 'hubspot', what: 'a course\'s products lease', personalData: false, treatment: 'skip', lifetime: count('one per course being written, a short TTL'), per: 'course' },
  { family: 'cs:alert', shape: 'cs:alert:<alert id…>', owner: 'alerts', what: 'an alert\'s state', personalData: false, treatment: 'skip', lifetime: count('one per alert condition'), per: 'few' },
  { family: 'cs:alerts-active', shape: 'cs:alerts-active', owner: 'alerts', what: 'the alerts firing', personalData: false, treatment: 'skip', lifetime: count('one key'), per: 'few' },
  { family: 'cs:alert-baseline', shape: 'cs:alert-baseline:<queue>', owner: 'alerts', what: 'a queue\'s alert baseline', personalData: false, treatment: 'skip', lifetime: count('one per queue'), per: 'few' },
  { family: 'cs:workers-seen', shape: 'cs:workers-seen', owner: 'alerts', what: 'worker processes seen lately', personalData: false, treatment: 'skip', lifetime: count('one key'), per: 'few' },
  { family: 'cs:admin-login-failures', shape: 'cs:admin-login-failures:<source address…>', owner: 'admin', what: 'failed logins per source address (an operator\'s, not a student\'s)', personalData: false, treatment: 'skip', lifetime: ttl(undefined, () => 300, 'the first failure'), per: 'few' },
  { family: 'cs:pii-hash-key', shape: 'cs:pii-hash-key', owner: 'privacy', what: 'the key of the address HMAC, when PII_HASH_KEY is unset', personalData: false, treatment: 'skip', lifetime: until('Redis is wiped (one key)'), per: 'few' },
];

/**
 * BullMQ's keys, per queue (work queues and their `<queue>-dlq` dead-letter queues): all bounded by
 * count. Forget reads jobs and event logs through BullMQ (student-data/queue-records.ts), not by key.
 */
// prettier-ignore
export const QUEUE_FAMILIES: readonly RecordFamily[] = [
  { family: 'jobs', shape: '<queue>:<job id>', owner: 'queues', what: 'a job: one event, a batch of SendGrid events, or (in `<queue>-dlq`) a final failure; forget masks a job a worker holds instead, and takes only their events out of a SendGrid batch', personalData: 'waiting, running, delayed: an enrollment\'s none (its data is in its dedupe record), a course event\'s, a SendGrid batch\'s (each event\'s address) and a replayed dead letter\'s their data; done: masked (address, phone, the name after its first letter), the result stays; failed: masked, the reason and stack with addresses and phone numbers masked; dead letters: the original job data whole (a replay needs it), the errors masked', treatment: 'delete', label: 'jobs', lifetime: count('until done, then the last COMPLETED_JOBS_KEEP completed and 10,000 failed per queue; dead letters until replayed or purged, at most PII_RETENTION_DAYS'), per: 'event' },
  { family: 'job parts', shape: '<queue>:<job id>:<job part…>', owner: 'queues', what: 'a job\'s lock, logs and dependencies', personalData: false, treatment: 'skip', lifetime: count('while its job lives'), per: 'event' },
  { family: 'events', shape: '<queue>:events', owner: 'queues', what: 'a queue\'s event log (a stream)', personalData: 'failure reasons and results, addresses and phone numbers masked', treatment: 'delete-entries', label: 'queue event log entries', lifetime: count('the last 10,000 events per queue'), per: 'few' },
  { family: 'queue', shape: '<queue>:<structure…>', owner: 'queues', what: 'a queue\'s structures: job ids by state, settings, counters', personalData: false, treatment: 'skip', lifetime: count('one set of structures per queue'), per: 'few' },
];

/** Every family, course-sync's and BullMQ's. */
export const ALL_FAMILIES: readonly RecordFamily[] = [...RECORD_FAMILIES, ...QUEUE_FAMILIES];

const shapes = new Map(ALL_FAMILIES.map((f) => [f, new KeyShape(f.shape, KEY_PARTS)]));

/** The parsed shape of a family. */
export function shapeOf(family: RecordFamily): KeyShape {
  return shapes.get(family) ?? new KeyShape(family.shape, KEY_PARTS);
}

/** A key read against the registry: its family and its named parts. */
export interface MatchedKey {
  family: RecordFamily;
  parts: Partial<Record<KeyPart, string>>;
}

/** The family of a Redis key under `prefix` (the queue prefix), with its parts; undefined when no family declares it. */
export function matchKey(prefix: string, key: string): MatchedKey | undefined {
  if (!key.startsWith(`${prefix}:`)) return undefined;
  const rest = key.slice(prefix.length + 1);
  for (const [family, shape] of shapes) {
    const parts = shape.match(rest);
    if (parts) return { family, parts };
  }
  return undefined;
}

/** The family of `cs:<kind>` records, if registered. */
export function recordFamily(family: string): RecordFamily | undefined {
  return RECORD_FAMILIES.find((f) => f.family === family);
}

/** BullMQ's family called `family` (`jobs`, `job parts`, `events`, `queue`). */
export function queueFamily(family: string): RecordFamily | undefined {
  return QUEUE_FAMILIES.find((f) => f.family === family);
}

/** How long a record of `family` lives at most, in seconds, under `config`; undefined when bounded by count or kept until removed. */
export function lifetimeSeconds(family: string, config: Config): number | undefined {
  const lifetime = recordFamily(family)?.lifetime;
  return lifetime?.kind === 'ttl' ? lifetime.seconds(config) : undefined;
}
