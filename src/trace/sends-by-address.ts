import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { enrollmentKey, isEnrollmentKey } from '../events/idempotency-key.ts';
import { resolvePiiHasher, type PiiHasher } from '../privacy/pii-hash.ts';
import type { SendsByAddress } from '../sendgrid/event-match.ts';
import { DayIndex } from './day-index.ts';
import { TraceKeys } from './keys.ts';

/** The most enrollments of one address looked at (newest first): a student has a handful. */
const LIMIT = 50;

/** The enrollment id of an enrollment's trace key (`enroll-<id>`, ':' and '%' escaped), or undefined. */
function enrollmentIdOf(key: string): string | undefined {
  if (!isEnrollmentKey(key)) return undefined;
  const id = key.slice('enroll-'.length).replace(/%3A|%25/g, (c) => (c === '%3A' ? ':' : '%'));
  return enrollmentKey(id) === key ? id : undefined;
}

/**
 * The enrollments made with an address, from the traces' e-mail index (keyed hash of the address →
 * the traces of its events, kept TRACE_RETENTION_DAYS): what `course-sync trace <email>` reads too.
 * The SendGrid events' matching asks it for events that carry neither message id nor custom_args.
 */
export class TraceSendsByAddress implements SendsByAddress {
  private readonly keys: TraceKeys;
  private readonly days: DayIndex;
  private hasher?: Promise<PiiHasher>;

  constructor(
    private readonly redis: Redis,
    private readonly config: Pick<Config, 'redis' | 'trace'>,
  ) {
    this.keys = new TraceKeys(config.redis.prefix);
    this.days = new DayIndex(config.redis.prefix, config.trace.retentionDays);
  }

  async enrollmentsOf(emails: string[]): Promise<string[][]> {
    if (!emails.length) return [];
    this.hasher ??= resolvePiiHasher(this.redis, this.config.redis.prefix, this.config.trace.piiHashKey).catch(
      (err: unknown) => {
        this.hasher = undefined;
        throw err;
      },
    );
    const hasher = await this.hasher;
    const hashes = emails.map((email) => hasher.hash(email));
    // The index by day, and the sorted sets of earlier versions (read while they live).
    const reads = this.redis.pipeline();
    for (const hash of hashes) reads.zrevrange(this.keys.index('email', hash), 0, LIMIT - 1, 'WITHSCORES');
    const [old, byDay] = await Promise.all([reads.exec().then((r) => r ?? []), this.days.byEmail(this.redis, hashes)]);
    return old.map(([err, flat], i) => {
      if (err) throw err;
      const scored = new Map(byDay[i]!.map(({ key, score }) => [key, score]));
      const list = flat as string[];
      for (let j = 0; j < list.length; j += 2)
        scored.set(list[j]!, Math.max(scored.get(list[j]!) ?? 0, Number(list[j + 1])));
      return [...scored]
        .sort((a, b) => b[1] - a[1])
        .slice(0, LIMIT)
        .flatMap(([key]) => enrollmentIdOf(key) ?? []);
    });
  }
}
