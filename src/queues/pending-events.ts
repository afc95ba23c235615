import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Enrollment } from '../events/types.ts';
import { personalDataRemoved, withoutPersonalData } from '../privacy/mask.ts';
import { recordKey } from '../redis/keys.ts';
import type { EnrollmentJob } from './jobs.ts';
import { ENROLLMENT_QUEUES, type WorkQueueName } from './names.ts';
import { writeArgs, type AcceptedEvent, type RecordWrite } from './record-write.ts';
import { luaScript } from '../redis/scripts.ts';

/**
 * An accepted enrollment keeps its data once, in its dedupe record `<prefix>:cs:seen:<key>` (a
 * hash), while its jobs wait and run; the two jobs carry only the correlation id. Fields: `at`
 * (received, ms: the dedupe marker), `c` the correlation id, `q:<queue>` for each job not finished
 * yet, `e:<field>` / `e:<object>.<field>` each scalar of the enrollment as JSON, `x` the rest of it
 * (deeper values, arrays) as JSON. Short values keep the hash in Redis' compact encoding. When the
 * last job is done (completed, or dead-lettered with a copy of the data), the data goes, the event's
 * own record (its trace header) is written, and a plain dedupe marker (the time, as a course event's)
 * stays for the rest of DEDUPE_TTL_SECONDS.
 */

/** The field of a pending record that says `queue`'s job is not finished yet. */
export const pendingFlag = (queue: WorkQueueName) => `q:${queue}`;

/** The event's own record, written when its last job is done (the trace header). */
export type FinalRecord = (event: AcceptedEvent) => RecordWrite;

/** Marks job data that was read from the pending record (never written back to the job). */
const HELD = Symbol('enrollment held in the pending record');

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The enrollment as `e:` fields and, for what does not fit them, `x`. */
export function enrollmentFields(enrollment: Enrollment): [string, string][] {
  const fields: [string, string][] = [];
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(enrollment)) {
    if (k.includes('.') || v === undefined) rest[k] = v;
    else if (isScalar(v)) fields.push([`e:${k}`, JSON.stringify(v)]);
    else if (isPlainObject(v) && Object.keys(v).length) {
      for (const [k2, v2] of Object.entries(v)) {
        if (!k2.includes('.') && isScalar(v2)) fields.push([`e:${k}.${k2}`, JSON.stringify(v2)]);
        else ((rest[k] ??= {}) as Record<string, unknown>)[k2] = v2;
      }
    } else rest[k] = v;
  }
  if (Object.keys(rest).length) fields.push(['x', JSON.stringify(rest)]);
  return fields;
}

/** The enrollment back from its fields (undefined when they are gone: released, or erased). */
export function enrollmentFrom(hash: Record<string, string>): Enrollment | undefined {
  const data: Record<string, unknown> = hash.x ? (JSON.parse(hash.x) as Record<string, unknown>) : {};
  let any = !!hash.x;
  for (const [field, json] of Object.entries(hash)) {
    if (!field.startsWith('e:')) continue;
    any = true;
    const path = field.slice(2);
    const dot = path.indexOf('.');
    if (dot < 0) data[path] = JSON.parse(json);
    else ((data[path.slice(0, dot)] ??= {}) as Record<string, unknown>)[path.slice(dot + 1)] = JSON.parse(json);
  }
  return any ? (data as Enrollment) : undefined;
}

/** The accepted event a pending record holds, as the intake saw it (undefined without its data). */
export function pendingEvent(key: string, hash: Record<string, string>): AcceptedEvent | undefined {
  const enrollment = enrollmentFrom(hash);
  if (!enrollment || !hash.at) return undefined;
  return {
    key,
    type: 'course.student_enroll',
    data: enrollment,
    receivedAt: new Date(Number(hash.at)).toISOString(),
    correlationId: hash.c ?? '',
    queues: ENROLLMENT_QUEUES,
  };
}

// A job done for good (0 nothing held for it, 1 another job still to finish, 2 the data is gone); the enrollment forgotten.
const RELEASE = luaScript<
  [pendingKey: string, queue: WorkQueueName, dedupeTtlSeconds: number, nowMs: number, finalRecord: string],
  0 | 1 | 2
>(import.meta.url, 'scripts/release-pending.lua', 1);
const ERASE = luaScript<[pendingKey: string], number>(import.meta.url, 'scripts/erase-pending.lua', 1);

/** Drops the enrollment from its pending record (`forget`): its jobs then complete without acting; the dedupe marker stays. */
export async function erasePending(redis: Redis, prefix: string, key: string): Promise<void> {
  await ERASE.run(redis, pendingKey(prefix, key));
}

/** Masks the e-mail, phone and name a job carries itself, and marks it so no worker acts on it again. */
export async function forgetPersonalData(job: Job): Promise<void> {
  if (job.data && !personalDataRemoved(job.data)) await job.updateData(withoutPersonalData(job.data));
}

/** The pending key of the event with idempotency key `key` (its dedupe record). */
export function pendingKey(prefix: string, key: string): string {
  return recordKey(prefix, 'seen', key);
}

/** The pending records of accepted enrollments: what the workers read them for and how their jobs end. */
export class PendingEvents {
  constructor(
    private readonly redis: Redis,
    private readonly config: Pick<Config, 'redis' | 'webhook'>,
    /** The event's own record (the trace header); none: nothing is written when the last job is done. */
    private readonly finalRecord?: FinalRecord,
  ) {}

  private key(key: string): string {
    return pendingKey(this.config.redis.prefix, key);
  }

  /**
   * Gives each job that holds only a reference its enrollment, read from the pending record (one
   * round trip for all); a job whose data is gone (its student forgotten, or waiting past the
   * record's lifetime, or released: a plain marker) is marked as having no personal data, so its
   * worker completes it untouched. Any other failure to read throws: the job is retried, never
   * completed without its enrollment because Redis was briefly away.
   */
  async resolve(jobs: Job<EnrollmentJob>[]): Promise<void> {
    const refs = jobs.filter((j) => j.data && !j.data.enrollment && !personalDataRemoved(j.data));
    if (!refs.length) return;
    const batch = this.redis.pipeline();
    for (const job of refs) batch.hgetall(this.key(job.id!));
    const hashes = (await batch.exec()) ?? [];
    refs.forEach((job, i) => {
      const [err, hash] = hashes[i] ?? [];
      if (err && !err.message.startsWith('WRONGTYPE')) throw err;
      const enrollment = err ? undefined : enrollmentFrom(hash as Record<string, string>);
      job.data = enrollment
        ? Object.assign({ ...job.data, enrollment }, { [HELD]: true })
        : withoutPersonalData(job.data);
    });
  }

  /**
   * `job` of `queue` is done for good (completed, or dead-lettered with a copy of its data): its part
   * of the pending record is released — the last job's release drops the enrollment and writes the
   * event's final record — and the job keeps its data only masked, as every done job does.
   */
  async done(queue: WorkQueueName, job: Job): Promise<void> {
    const data = job.data as (EnrollmentJob & { [HELD]?: true }) | undefined;
    if (data?.[HELD]) {
      const event: AcceptedEvent = {
        key: job.id!,
        type: job.name,
        data: data.enrollment,
        receivedAt: new Date(job.timestamp).toISOString(),
        correlationId: data.correlationId,
        queues: ENROLLMENT_QUEUES,
      };
      const writes = this.finalRecord ? [this.finalRecord(event)] : [];
      await RELEASE.run(
        this.redis,
        this.key(job.id!),
        queue,
        this.config.webhook.dedupeTtlSeconds,
        Date.now(),
        writeArgs(writes),
      );
    }
    await forgetPersonalData(job);
  }
}
