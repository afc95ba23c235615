import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { RedisLock } from '../redis/lock.ts';

/** The record of a welcome email SendGrid accepted: kept per enrollment, without expiry. */
export interface SentMarker {
  messageId: string;
  sentAt: string;
  jobId: string;
}

export type ClaimResult =
  | { state: 'claimed' }
  | { state: 'sent'; marker: SentMarker }
  /** Another job holds the claim for this enrollment right now. */
  | { state: 'busy'; retryInMs: number };

// KEYS: sent marker, claim. ARGV: job id, claim ttl ms. → {'sent', messageId, sentAt, jobId} | {'claimed'} | {'busy', pttl}
const CLAIM = `
local sent = redis.call('HMGET', KEYS[1], 'messageId', 'sentAt', 'jobId')
if sent[2] then return {'sent', sent[1] or '', sent[2], sent[3] or ''} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'claimed'} end
return {'busy', redis.call('PTTL', KEYS[2])}
`;

// KEYS: sent marker, claim. ARGV: job id, message id, sent at. Writes the marker, drops our claim.
const RECORD = `
redis.call('HSET', KEYS[1], 'messageId', ARGV[2], 'sentAt', ARGV[3], 'jobId', ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`;

/**
 * Exactly-once bookkeeping of welcome emails in Redis: a permanent "sent" marker per enrollment
 * (checked before sending, written right after SendGrid's 202) and a short "sending" claim so
 * two jobs for one enrollment never send at the same time. One round trip before the send (claim)
 * and one after (record).
 */
export class SentMarkers {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long a claim outlives a crashed holder; longer than a send can take. */
    private readonly claimTtlMs: number,
  ) {}

  /** Key of the sent marker of `enrollmentId`. */
  sentKey(enrollmentId: string): string {
    return recordKey(this.prefix, 'sent', enrollmentId);
  }

  private claimKey(enrollmentId: string): string {
    return recordKey(this.prefix, 'sending', enrollmentId);
  }

  /** Says whether the email was sent already; if not, claims the enrollment for `jobId`. */
  async claim(enrollmentId: string, jobId: string): Promise<ClaimResult> {
    const r = (await this.redis.eval(CLAIM, 2, this.sentKey(enrollmentId), this.claimKey(enrollmentId), jobId, String(this.claimTtlMs))) as (string | number)[];
    if (r[0] === 'sent') return { state: 'sent', marker: { messageId: String(r[1]), sentAt: String(r[2]), jobId: String(r[3]) } };
    if (r[0] === 'claimed') return { state: 'claimed' };
    // Look again soon: a claim is usually released within one SendGrid round trip, long before its TTL.
    return { state: 'busy', retryInMs: Math.min(1000, Math.max(100, Number(r[1]))) };
  }

  /** Records the accepted email and releases the claim. */
  async record(enrollmentId: string, marker: SentMarker): Promise<void> {
    await this.redis.eval(RECORD, 2, this.sentKey(enrollmentId), this.claimKey(enrollmentId), marker.jobId, marker.messageId, marker.sentAt);
  }

  /** Releases `jobId`'s claim after a send that SendGrid did not accept. */
  async release(enrollmentId: string, jobId: string): Promise<void> {
    // The claim is a lock whose token is the job id: only that job's claim is dropped.
    await new RedisLock(this.redis).release({ key: this.claimKey(enrollmentId), token: jobId });
  }

  /** The sent marker of `enrollmentId`, if its email went out. */
  async get(enrollmentId: string): Promise<SentMarker | undefined> {
    const m = await this.redis.hgetall(this.sentKey(enrollmentId));
    return m.sentAt ? { messageId: m.messageId ?? '', sentAt: m.sentAt, jobId: m.jobId ?? '' } : undefined;
  }
}
