import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { LoopwiseEvent } from '../events/types.ts';
import { BULLMQ_ADD_LUA, KEYS_PER_QUEUE, bullmqJobKeyPrefix, bullmqQueueKeys } from './bullmq-add.ts';
import { jobAttemptOptions, type CourseJob, type EnrollmentJob } from './jobs.ts';
import { QUEUES, type WorkQueueName } from './names.ts';
import { recordKey } from '../redis/keys.ts';

export type IntakeOutcome = 'accepted' | 'duplicate';

/** What the intake knows about an event it accepted. */
export interface AcceptedEvent {
  key: string;
  type: string;
  data: unknown;
  receivedAt: string;
  correlationId: string;
  queues: string[];
}

/** A delivery the receiver kept in quarantine (schema-invalid or otherwise refused). */
export interface QuarantinedDelivery {
  id: string;
  eventType: string;
  body: string;
  status: number;
  reason: string;
}

/**
 * A record written together with an accepted event, in the same atomic step as its jobs (so it
 * exists exactly when they do): a hash set only if it has no `fields[0]` yet (a record kept from
 * an earlier delivery stays as it was), or a sorted-set entry added unless already there (entries
 * scored `trimAt` or less are dropped then); either way the key's TTL becomes `ttlSeconds`.
 */
export type RecordWrite =
  | { kind: 'hash'; key: string; ttlSeconds: number; fields: [string, string][] }
  | { kind: 'index'; key: string; ttlSeconds: number; score: number; member: string; trimAt?: number };

/**
 * Who is told what the intake did (the trace store). The records of accepted events are written in
 * the intake's own script, so observing costs no extra round trip; the other calls never change an answer.
 */
export interface IntakeObserver {
  /** Resolves once `accepted` may be called; awaited before each write of accepted events. */
  ready(): Promise<void>;
  /** The records to write if `event` is accepted (nothing is written for a duplicate). */
  accepted(event: AcceptedEvent): RecordWrite[];
  /** A redelivery of `key` was answered as a duplicate. */
  duplicate(key: string, correlationId: string): Promise<void>;
  /** A refused delivery was kept in quarantine. */
  quarantined(entry: QuarantinedDelivery): Promise<void>;
}

interface PendingEvent {
  event: LoopwiseEvent;
  key: string;
  correlationId: string;
  resolve(outcome: IntakeOutcome): void;
  reject(err: unknown): void;
}

/** The queues an event goes to, in the order of the script's queue table. */
const SCRIPT_QUEUES: WorkQueueName[] = [QUEUES.contacts, QUEUES.email, QUEUES.products];
const QUEUE_INDEX = new Map(SCRIPT_QUEUES.map((q, i) => [q, i + 1]));

// ARGV[1] dedupe TTL (s), ARGV[2] dedupe key prefix; ARGV[3..] per queue of SCRIPT_QUEUES: job key
// prefix, job options (JSON); then per event: job id (its idempotency key), job name, received at
// (ms), job data, job count, the queue index of each job, write count, then per write 'H' key ttl
// field-count field value… | 'Z' key ttl score member trimAt ('': none). KEYS: BullMQ's keys of each
// queue (bullmq-add.ts). Returns 1 (accepted) or 0 (duplicate) per event. One SET NX of the dedupe
// marker decides each event; everything after it is written or not at all.
const INTAKE = `
local rcall = redis.call
${BULLMQ_ADD_LUA}
local queues = {}
local i = 3
for q = 1, ${SCRIPT_QUEUES.length} do
  queues[q] = newQueue((q - 1) * ${KEYS_PER_QUEUE}, ARGV[i], ARGV[i + 1])
  i = i + 2
end
local out = {}
while i <= #ARGV do
  local jobId, name, timestamp, data, jobs = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  local fresh = rcall('SET', ARGV[2] .. jobId, timestamp, 'NX', 'EX', ARGV[1])
  i = i + 5
  for j = 1, jobs do
    if fresh then addJob(queues[tonumber(ARGV[i])], jobId, name, data, timestamp) end
    i = i + 1
  end
  local writes = tonumber(ARGV[i])
  i = i + 1
  for w = 1, writes do
    local kind, key, ttl = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    if kind == 'H' then
      local n = tonumber(ARGV[i + 3])
      if fresh and rcall('HSETNX', key, ARGV[i + 4], ARGV[i + 5]) == 1 and n > 1 then
        rcall('HSET', key, unpack(ARGV, i + 6, i + 3 + 2 * n))
      end
      i = i + 4 + 2 * n
    else
      if fresh then
        rcall('ZADD', key, 'NX', ARGV[i + 3], ARGV[i + 4])
        if ARGV[i + 5] ~= '' then rcall('ZREMRANGEBYSCORE', key, '-inf', ARGV[i + 5]) end
      end
      i = i + 6
    end
    if fresh then rcall('EXPIRE', key, ttl) end
  end
  out[#out + 1] = fresh and 1 or 0
end
for q = 1, #queues do wakeWorkers(queues[q]) end
return out
`;

type WithIntake = Redis & { csIntake(...args: (string | number)[]): Promise<number[]> };

/**
 * Puts accepted events on the work queues. An enrollment becomes one `crm-contacts` and one
 * `email-welcome` job, a course event one `crm-products` job; a delivery seen before (by its
 * idempotency key, remembered for DEDUPE_TTL_SECONDS) is a duplicate and enqueues nothing.
 * Resolves only after Redis acknowledged the write. Each call of the intake's script is atomic:
 * the dedupe marker, the jobs and the observer's records (the trace) of an event are all written
 * or none are.
 */
export class EventIntake {
  private readonly redis: WithIntake;
  private pending: PendingEvent[] = [];
  private readonly keys: string[];
  private readonly head: string[];

  constructor(
    redis: Redis,
    private readonly config: Config,
    private readonly observer?: IntakeObserver,
  ) {
    const prefix = config.redis.prefix;
    if (!('csIntake' in redis)) redis.defineCommand('csIntake', { numberOfKeys: SCRIPT_QUEUES.length * KEYS_PER_QUEUE, lua: INTAKE });
    this.redis = redis as WithIntake;
    this.keys = SCRIPT_QUEUES.flatMap((q) => bullmqQueueKeys(prefix, q));
    // Retention is the workers' (removeOnComplete / removeOnFail): the job keeps only what differs per job.
    const opts = JSON.stringify(jobAttemptOptions(config));
    this.head = [String(config.webhook.dedupeTtlSeconds), recordKey(prefix, 'seen', ''), ...SCRIPT_QUEUES.flatMap((q) => [bullmqJobKeyPrefix(prefix, q), opts])];
  }

  /**
   * Enqueues `event` under `key` unless it was delivered before. Calls made in the same turn of
   * the event loop (concurrent webhooks) share one call of the script. Each event keeps its own
   * answer; a failed call fails every event of it (none is acknowledged).
   */
  accept(event: LoopwiseEvent, key: string, correlationId: string): Promise<IntakeOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event, key, correlationId, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending.splice(0, this.pending.length);
    try {
      const outcomes = await this.write(batch);
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  private async write(batch: PendingEvent[]): Promise<IntakeOutcome[]> {
    await this.observer?.ready();
    const now = Date.now();
    const receivedAt = new Date(now).toISOString();
    const args: (string | number)[] = [...this.keys, ...this.head];
    for (const p of batch) {
      const { queues, data } = this.jobsOf(p, receivedAt);
      args.push(p.key, p.event.type, now, data, queues.length, ...queues.map((q) => QUEUE_INDEX.get(q)!));
      const writes = this.observer?.accepted({ key: p.key, type: p.event.type, data: p.event.data, receivedAt, correlationId: p.correlationId, queues }) ?? [];
      args.push(writes.length);
      for (const w of writes) {
        if (w.kind === 'hash') args.push('H', w.key, w.ttlSeconds, w.fields.length, ...w.fields.flat());
        else args.push('Z', w.key, w.ttlSeconds, w.score, w.member, w.trimAt ?? '');
      }
    }
    const accepted = await this.redis.csIntake(...args);
    const outcomes = batch.map((_, i): IntakeOutcome => (accepted[i] === 1 ? 'accepted' : 'duplicate'));
    await Promise.all(batch.map((p, i) => (outcomes[i] === 'duplicate' ? this.duplicate(p.key, p.correlationId) : undefined)));
    return outcomes;
  }

  /**
   * The queues of one event's jobs and their data (JSON): contacts + email for an enrollment (the
   * job's own id, name and timestamp say its key, type and arrival), products for a course.
   */
  private jobsOf({ event, key, correlationId }: PendingEvent, receivedAt: string): { queues: WorkQueueName[]; data: string } {
    if (event.type === 'course.student_enroll') {
      const data: EnrollmentJob = { correlationId, enrollment: event.data };
      return { queues: [QUEUES.contacts, QUEUES.email], data: JSON.stringify(data) };
    }
    const course: CourseJob = { key, eventType: event.type, receivedAt, correlationId, course: event.data };
    return { queues: [QUEUES.products], data: JSON.stringify(course) };
  }

  /** Notes a duplicate delivery in the event's trace; a failure to note it does not change the answer. */
  private async duplicate(key: string, correlationId: string): Promise<IntakeOutcome> {
    await this.observer?.duplicate(key, correlationId).catch(() => undefined);
    return 'duplicate';
  }

  /** Records a delivery kept in quarantine in the trace store, so a search finds it; never throws. */
  async noteQuarantined(entry: QuarantinedDelivery): Promise<void> {
    await this.observer?.quarantined(entry).catch(() => undefined);
  }

  /** Forgets that `key` was delivered, so it can be accepted again (backfill, tests). */
  async forget(key: string): Promise<void> {
    await this.redis.del(recordKey(this.config.redis.prefix, 'seen', key));
  }

  /** Nothing to release: the intake writes through the connection it was given. */
  async close(): Promise<void> {}
}
