import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { RedisLock, type KeptLease, type Lease } from '../redis/lock.ts';
import { luaScript } from '../redis/scripts.ts';

export type { KeptLease };

/** What was last written to HubSpot for one course. */
export interface AppliedVersion {
  /** Instant (ms since epoch) of the course's `updated_at`. */
  at: number;
  /** Digest of what was written (products and course name); '' when the write was incomplete. */
  digest: string;
  /** Plan ids of that version (their products exist in HubSpot). */
  planIds: string[];
  /** Course name of that version (the label of its contact-property option). */
  name: string;
}

/** How to handle an incoming version, given the applied one. */
export type VersionDecision =
  | { action: 'apply'; previous?: AppliedVersion; removedPlanIds: string[] }
  | { action: 'skip'; reason: 'stale' | 'duplicate'; previous: AppliedVersion };

/** A held per-course lock; only its holder may record a version. */
export interface CourseLease extends Lease {
  courseId: string;
}

// Records a version only while the lease is held and never moves the instant backwards.
const COMMIT = luaScript<
  [lockKey: string, versionKey: string, token: string, at: string, digest: string, planIds: string, name: string],
  0 | 1
>(import.meta.url, 'scripts/commit-course-version.lua', 2);

/** Pure ordering rule: older → stale; same instant and same content → duplicate; else apply. */
export function decideVersion(
  previous: AppliedVersion | undefined,
  at: number,
  digest: string,
  planIds: string[],
): VersionDecision {
  if (!previous) return { action: 'apply', removedPlanIds: [] };
  if (at < previous.at) return { action: 'skip', reason: 'stale', previous };
  if (at === previous.at && digest !== '' && digest === previous.digest)
    return { action: 'skip', reason: 'duplicate', previous };
  const keep = new Set(planIds);
  return { action: 'apply', previous, removedPlanIds: previous.planIds.filter((id) => !keep.has(id)) };
}

/**
 * Per-course ordering state in Redis: the last applied `updated_at` instant with its plan ids, and
 * a per-course lock (the RedisLock) held while a version is checked and written, so two workers
 * never write two versions of one course at once, in any process.
 */
export class CourseVersions {
  private readonly locks: RedisLock;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly lockTtlMs = 60_000,
  ) {
    this.locks = new RedisLock(redis);
  }

  private versionKey(courseId: string): string {
    return recordKey(this.prefix, 'course-version', courseId);
  }

  private lockKey(courseId: string): string {
    return recordKey(this.prefix, 'course-lock', courseId);
  }

  /** Takes the course's lock; undefined when another worker holds it. */
  async lock(courseId: string): Promise<CourseLease | undefined> {
    const lease = await this.locks.tryAcquire(this.lockKey(courseId), this.lockTtlMs);
    return lease && { ...lease, courseId };
  }

  /** Renews the lease in the background until `stop()` (see RedisLock.keepAlive). */
  keepAlive(lease: CourseLease): KeptLease {
    return this.locks.keepAlive(lease, this.lockTtlMs);
  }

  /** Releases the lease if still held. */
  async release(lease: CourseLease): Promise<void> {
    await this.locks.release(lease);
  }

  /** The last applied version of a course, if any. */
  async get(courseId: string): Promise<AppliedVersion | undefined> {
    const h = await this.redis.hgetall(this.versionKey(courseId));
    if (h.at === undefined) return undefined;
    return {
      at: Number(h.at),
      digest: h.digest ?? '',
      planIds: JSON.parse(h.planIds ?? '[]') as string[],
      name: h.name ?? '',
    };
  }

  /** Reads the applied version and decides what to do with one at instant `at`. */
  async decide(courseId: string, at: number, digest: string, planIds: string[]): Promise<VersionDecision> {
    return decideVersion(await this.get(courseId), at, digest, planIds);
  }

  /** Records `version` as applied; false when the lease was lost or a newer version is recorded. */
  async commit(lease: CourseLease, version: AppliedVersion): Promise<boolean> {
    const done = await COMMIT.run(
      this.redis,
      lease.key,
      this.versionKey(lease.courseId),
      lease.token,
      String(version.at),
      version.digest,
      JSON.stringify(version.planIds),
      version.name,
    );
    return done === 1;
  }
}
