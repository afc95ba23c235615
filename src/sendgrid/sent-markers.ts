import type { Redis } from 'ioredis';
import { enrollmentKey } from '../events/idempotency-key.ts';
import { recordKey } from '../redis/keys.ts';
import { RedisLock } from '../redis/lock.ts';
import { luaScript } from '../redis/scripts.ts';
import { defaultConfig } from '../config.ts';
import { emailKeys } from './email-keys.ts';

/** The record of a welcome email SendGrid accepted, kept per enrollment. */
export interface SentMarker {
  messageId: string;
  sentAt: string;
  /** The job that sent it ("SendGrid event" when an event told); the enrollment's own job is not stored but read back. */
  jobId: string;
}

export type ClaimResult =
  | { state: 'claimed' }
  | { state: 'sent'; marker: SentMarker }
  /** Another job holds the claim for this enrollment right now. */
  | { state: 'busy'; retryInMs: number }
  /** An earlier attempt started sending and never said how it ended: wait for SendGrid's event before sending again. */
  | { state: 'unsure'; retryInMs: number };

// Before a send: sent already, or claimed for the job (scripts/claim-send.lua names each argument).
// → {'sent', messageId, sentAt, jobId} | {'claimed'} | {'busy', pttl} | {'unsure', ms left of the grace}
const CLAIM = luaScript<
  [sentKey: string, claimKey: string, attemptKey: string, jobId: string, claimTtlMs: string, graceMs: string],
  (string | number)[]
>(import.meta.url, 'scripts/claim-send.lua', 3);
// After SendGrid's 202: the marker and the message index written, the claim and the attempt dropped.
const RECORD = luaScript<
  [
    sentKey: string,
    claimKey: string,
    attemptKey: string,
    messageKey: string,
    jobId: string,
    messageId: string,
    sentAt: string,
    messageIndexTtlSeconds: number,
    enrollmentId: string,
    markerTtlSeconds: number,
    keptJobId: string,
  ],
  1
>(import.meta.url, 'scripts/record-send.lua', 4);

/**
 * Exactly-once bookkeeping of welcome emails in Redis: a "sent" marker per enrollment (checked
 * before sending, written right after SendGrid's 202) and a short "sending" claim so two jobs for
 * one enrollment never send at the same time. One round trip before the send (claim) and one after
 * (record). With SendGrid's Event Webhook on (`graceMs` > 0), a claim also notes when the attempt
 * started; an attempt that never recorded its end (a crash between SendGrid's 202 and the marker)
 * makes the next one wait up to the grace for SendGrid's event, which writes the marker if the send
 * happened (see email-status.ts).
 */
export class SentMarkers {
  private readonly locks: RedisLock;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long a claim outlives a crashed holder; longer than a send can take. */
    private readonly claimTtlMs: number,
    /** How long a send of unknown outcome waits for SendGrid's event before sending again; 0: no waiting (no Event Webhook). */
    private readonly graceMs = 0,
    /** How long the sent marker is kept (SENT_MARKER_TTL_DAYS): exactly-once holds this long. */
    private readonly markerTtlSeconds = defaultConfig().sendgrid.sentRecordTtlSeconds,
    /** How long the X-Message-Id → enrollment entry is kept (SENDGRID_MESSAGE_INDEX_DAYS): SendGrid's events can be matched to their send by message id this long. */
    private readonly messageIndexTtlSeconds = defaultConfig().sendgrid.messageIndexTtlSeconds,
  ) {
    this.locks = new RedisLock(redis);
  }

  /** Key of the sent marker (and the email status) of `enrollmentId`. */
  sentKey(enrollmentId: string): string {
    return emailKeys.sent(this.prefix, enrollmentId);
  }

  private claimKey(enrollmentId: string): string {
    return recordKey(this.prefix, 'sending', enrollmentId);
  }

  private attemptKey(enrollmentId: string): string {
    return recordKey(this.prefix, 'send-attempt', enrollmentId);
  }

  /** Says whether the email was sent already; if not, claims the enrollment for `jobId`. */
  async claim(enrollmentId: string, jobId: string): Promise<ClaimResult> {
    const keys = [this.sentKey(enrollmentId), this.claimKey(enrollmentId), this.attemptKey(enrollmentId)] as const;
    const r = await CLAIM.run(this.redis, ...keys, jobId, String(this.claimTtlMs), String(this.graceMs));
    if (r[0] === 'sent')
      return {
        state: 'sent',
        marker: { messageId: String(r[1]), sentAt: String(r[2]), jobId: String(r[3]) || enrollmentKey(enrollmentId) },
      };
    if (r[0] === 'claimed') return { state: 'claimed' };
    // Look again soon: a claim is usually released within one SendGrid round trip, long before its TTL.
    if (r[0] === 'busy') return { state: 'busy', retryInMs: Math.min(1000, Math.max(100, Number(r[1]))) };
    return { state: 'unsure', retryInMs: Math.min(5000, Math.max(250, Number(r[1]))) };
  }

  /** Records the accepted email (and its message id, for SendGrid's events) and releases the claim. */
  async record(enrollmentId: string, marker: SentMarker): Promise<void> {
    const keys = [
      this.sentKey(enrollmentId),
      this.claimKey(enrollmentId),
      this.attemptKey(enrollmentId),
      emailKeys.message(this.prefix, marker.messageId || '-'),
    ] as const;
    const kept = marker.jobId === enrollmentKey(enrollmentId) ? '' : marker.jobId;
    await RECORD.run(
      this.redis,
      ...keys,
      marker.jobId,
      marker.messageId,
      marker.sentAt,
      this.messageIndexTtlSeconds,
      enrollmentId,
      this.markerTtlSeconds,
      kept,
    );
  }

  /** Releases `jobId`'s claim after a send that SendGrid did not accept (the attempt ended: nothing to wait for). */
  async release(enrollmentId: string, jobId: string): Promise<void> {
    // The claim is a lock whose token is the job id: only that job's claim is dropped.
    await this.locks.release({ key: this.claimKey(enrollmentId), token: jobId });
    await this.redis.del(this.attemptKey(enrollmentId));
  }

  /** The sent marker of `enrollmentId`, if its email went out. */
  async get(enrollmentId: string): Promise<SentMarker | undefined> {
    const m = await this.redis.hgetall(this.sentKey(enrollmentId));
    return m.sentAt
      ? { messageId: m.messageId ?? '', sentAt: m.sentAt, jobId: m.jobId ?? enrollmentKey(enrollmentId) }
      : undefined;
  }
}
