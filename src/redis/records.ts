import type { Config } from '../config.ts';
import type { SettingName } from '../../config/settings.ts';

/**
 * How long the records of a family live: a TTL set from a setting (or a fixed one), a bound by
 * count (the newest N are kept, whatever the flow), or until someone removes them.
 */
export type Lifetime =
  | { kind: 'ttl'; setting?: SettingName; seconds(config: Config): number; from: string }
  | { kind: 'count'; bound: string }
  | { kind: 'until'; what: string };

/** One family of course-sync's own Redis records (`<prefix>:cs:<kind>:…`). */
export interface RecordFamily {
  /** `cs:<kind>` as the key reads (`cs:trace-idx:<index>` for the trace index). */
  family: string;
  /** What one record is. */
  what: string;
  lifetime: Lifetime;
  /** Whether a record can name a student (in clear, masked, or as a keyed hash): forget and export look at it. */
  personalData: boolean;
  /** How many of them there are: one per enrollment, per student, per event…, or a few in all. */
  per: 'enrollment' | 'student' | 'event' | 'course' | 'few';
  /** Written by earlier versions only: read (or migrated) while they live, never written again. */
  legacy?: true;
}

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

/**
 * Every family of course-sync's own records, its lifetime and whether it holds personal data. The
 * footprint bench reads it (bench/lib/families.ts); BullMQ's own keys (jobs, event logs, queue
 * structures) are bounded by count and listed in `QUEUE_FAMILIES`. One family per line, as a table.
 */
// prettier-ignore
export const RECORD_FAMILIES: readonly RecordFamily[] = [
  { family: 'cs:seen', what: 'an event\'s dedupe record (its data while its jobs wait, then a time)', lifetime: ttl('DEDUPE_TTL_SECONDS', (c) => c.webhook.dedupeTtlSeconds, 'arrival'), personalData: true, per: 'event' },
  { family: 'cs:trace', what: 'an event\'s journey: header, steps, ids, outcome (packed once finished)', lifetime: trace, personalData: true, per: 'event' },
  { family: 'cs:calls', what: 'the HubSpot and SendGrid call details of an event\'s journey (packed with it)', lifetime: ttl('CALL_DETAIL_RETENTION_DAYS', (c) => days(c.trace.callRetentionDays), 'the last call'), personalData: true, per: 'event' },
  { family: 'cs:trace-idx:email-day', what: 'one day\'s trace index by the keyed hash of each address (a hash per day)', lifetime: traceDay, personalData: true, per: 'few' },
  { family: 'cs:trace-idx:course-day', what: 'one day\'s trace index of a course (a list per course and day)', lifetime: traceDay, personalData: false, per: 'course' },
  { family: 'cs:trace-idx:plan-day', what: 'one day\'s trace index of a plan (a list per plan and day)', lifetime: traceDay, personalData: false, per: 'course' },
  { family: 'cs:trace-idx:enrollment-day', what: 'one day\'s trace index of an enrollment id, for traces not its own (a quarantined delivery\'s)', lifetime: traceDay, personalData: true, per: 'few' },
  { family: 'cs:trace-idx:email', what: 'trace index by the keyed hash of an address (a sorted set each)', lifetime: trace, personalData: true, per: 'student', legacy: true },
  { family: 'cs:trace-idx:course', what: 'trace index by course id (a sorted set each)', lifetime: trace, personalData: false, per: 'course', legacy: true },
  { family: 'cs:trace-idx:plan', what: 'trace index by plan id (a sorted set each)', lifetime: trace, personalData: false, per: 'course', legacy: true },
  { family: 'cs:trace-idx:enrollment', what: 'trace index by enrollment id (earlier versions)', lifetime: trace, personalData: true, per: 'event', legacy: true },
  { family: 'cs:trace-cursor', what: 'where the tracer resumes each event stream', lifetime: ttl(undefined, () => days(7), 'the last save'), personalData: false, per: 'few' },
  { family: 'cs:tracer-lease', what: 'which process traces', lifetime: ttl(undefined, () => 15, 'the last renewal'), personalData: false, per: 'few' },
  { family: 'cs:contact', what: 'a student\'s course record (courses, last enrollment, the HubSpot contact written to)', lifetime: contact, personalData: true, per: 'student' },
  { family: 'cs:contact-alias', what: 'an address folded into another address of the same HubSpot contact', lifetime: contact, personalData: true, per: 'student' },
  { family: 'cs:contact-owner', what: 'the address a HubSpot contact is written under (now in the course record)', lifetime: contact, personalData: true, per: 'student', legacy: true },
  { family: 'cs:sent', what: 'an enrollment\'s welcome email record: sent marker, delivery status', lifetime: ttl('SENT_MARKER_TTL_DAYS', (c) => c.sendgrid.sentRecordTtlSeconds, 'the last change'), personalData: true, per: 'enrollment' },
  { family: 'cs:sent-by', what: 'a welcome email\'s X-Message-Id → its enrollment', lifetime: ttl('SENDGRID_MESSAGE_INDEX_DAYS', (c) => c.sendgrid.messageIndexTtlSeconds, 'the send'), personalData: true, per: 'enrollment' },
  { family: 'cs:sending', what: 'a welcome email\'s claim while it is sent (twice the send timeout and 5 s)', lifetime: ttl(undefined, () => 35, 'the claim'), personalData: false, per: 'enrollment' },
  { family: 'cs:send-attempt', what: 'when a send of unknown outcome started', lifetime: ttl('SENDGRID_EVENT_GRACE_SECONDS', (c) => c.sendgrid.events.graceSeconds + 60, 'the attempt'), personalData: false, per: 'enrollment' },
  { family: 'cs:sg-event', what: 'a SendGrid event id, to drop the same event posted again', lifetime: ttl('SENDGRID_EVENT_DEDUPE_HOURS', (c) => c.sendgrid.events.dedupeTtlSeconds, 'the event'), personalData: false, per: 'event' },
  { family: 'cs:sg-unmatched', what: 'SendGrid events matched to no welcome email (addresses masked)', lifetime: { kind: 'count', bound: 'the last 10,000, SENT_MARKER_TTL_DAYS after the last' }, personalData: true, per: 'few' },
  { family: 'cs:attempts', what: 'a job\'s attempt log (errors masked)', lifetime: ttl(undefined, () => days(30), 'the last attempt'), personalData: true, per: 'event' },
  { family: 'cs:quarantine', what: 'refused webhooks as received', lifetime: { kind: 'count', bound: 'QUARANTINE_MAX_ENTRIES, at most PII_RETENTION_DAYS' }, personalData: true, per: 'few' },
  { family: 'cs:suppressed', what: 'keyed hashes of forgotten addresses kept out', lifetime: { kind: 'until', what: 'forget --unsuppress' }, personalData: true, per: 'few' },
  { family: 'cs:audit', what: 'operators\' actions', lifetime: { kind: 'count', bound: 'the last 50, 90 days after the last' }, personalData: false, per: 'few' },
  { family: 'cs:stats', what: 'counters per 10 s, minute and quarter-hour', lifetime: { kind: 'count', bound: 'a bucket expires a little after the window its picture shows' }, personalData: false, per: 'few' },
  { family: 'cs:hubspot', what: 'the shared HubSpot request budget and property lock', lifetime: { kind: 'count', bound: 'a few keys, seconds-long TTLs' }, personalData: false, per: 'few' },
  { family: 'cs:course-version', what: 'the last course event written per course', lifetime: { kind: 'until', what: 'the course is gone (one per course)' }, personalData: false, per: 'course' },
  { family: 'cs:course-lock', what: 'a course\'s products lease', lifetime: { kind: 'count', bound: 'one per course being written, a short TTL' }, personalData: false, per: 'course' },
  { family: 'cs:alert', what: 'an alert\'s state', lifetime: { kind: 'count', bound: 'one per alert condition' }, personalData: false, per: 'few' },
  { family: 'cs:alerts-active', what: 'the alerts firing', lifetime: { kind: 'count', bound: 'one key' }, personalData: false, per: 'few' },
  { family: 'cs:alert-baseline', what: 'a queue\'s alert baseline', lifetime: { kind: 'count', bound: 'one per queue' }, personalData: false, per: 'few' },
  { family: 'cs:workers-seen', what: 'worker processes seen lately', lifetime: { kind: 'count', bound: 'one key' }, personalData: false, per: 'few' },
  { family: 'cs:admin-login-failures', what: 'failed logins per source address', lifetime: ttl(undefined, () => 300, 'the first failure'), personalData: false, per: 'few' },
  { family: 'cs:pii-hash-key', what: 'the key of the address HMAC, when PII_HASH_KEY is unset', lifetime: { kind: 'until', what: 'Redis is wiped (one key)' }, personalData: false, per: 'few' },
];

/** BullMQ's keys per queue, as the footprint bench names them: all bounded by count. */
export const QUEUE_FAMILIES: Record<string, Lifetime> = {
  jobs: { kind: 'count', bound: 'until done, then the last COMPLETED_JOBS_KEEP completed and 10,000 failed per queue' },
  events: { kind: 'count', bound: 'the last 10,000 events per queue' },
  queue: { kind: 'count', bound: 'one set of structures per queue' },
};

/** The family of `cs:<kind>` records, if registered. */
export function recordFamily(family: string): RecordFamily | undefined {
  return RECORD_FAMILIES.find((f) => f.family === family);
}

/** How long a record of `family` lives at most, in seconds, under `config`; undefined when bounded by count or kept until removed. */
export function lifetimeSeconds(family: string, config: Config): number | undefined {
  const lifetime = recordFamily(family)?.lifetime;
  return lifetime?.kind === 'ttl' ? lifetime.seconds(config) : undefined;
}
