import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { enrollmentKey, isEnrollmentKey } from '../events/idempotency-key.ts';
import { resolvePiiHasher, type PiiHasher } from '../privacy/pii-hash.ts';
import type { SendsByAddress } from '../sendgrid/event-match.ts';
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
  private hasher?: Promise<PiiHasher>;

  constructor(
    private readonly redis: Redis,
    private readonly config: Pick<Config, 'redis' | 'trace'>,
  ) {
    this.keys = new TraceKeys(config.redis.prefix);
  }

  async enrollmentsOf(emails: string[]): Promise<string[][]> {
    if (!emails.length) return [];
    this.hasher ??= resolvePiiHasher(this.redis, this.config.redis.prefix, this.config.trace.piiHashKey).catch((err: unknown) => {
      this.hasher = undefined;
      throw err;
    });
    const hasher = await this.hasher;
    const reads = this.redis.pipeline();
    for (const email of emails) reads.zrevrange(this.keys.index('email', hasher.hash(email)), 0, LIMIT - 1);
    return ((await reads.exec()) ?? []).map(([err, keys]) => {
      if (err) throw err;
      return (keys as string[]).flatMap((key) => enrollmentIdOf(key) ?? []);
    });
  }
}
