import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { luaScript } from '../redis/scripts.ts';
import { eventReason, sendIdOf, statusOfEvent, statusRank, type EmailEvent, type EmailStatus } from './events.ts';
import { defaultConfig } from '../config.ts';
import { emailKeys } from './email-keys.ts';
import { EventMatcher, type MatchedBy, type SendsByAddress } from './event-match.ts';
import { maskEmail, maskEmails } from '../privacy/email.ts';

/** What one event came to. */
export type AppliedEvent =
  | { event: EmailEvent; outcome: 'duplicate' }
  /**
   * Not matched to a welcome email. `not_ours`: its message id is unknown — mail course-sync did not
   * send (another app on the SendGrid account), or one past SENDGRID_MESSAGE_INDEX_DAYS.
   * `no_message_id`: no message id nor custom_args (an asynchronous bounce) and no welcome email sent
   * to its address in that window: kept (address masked) in the `sg-unmatched` stream.
   */
  | { event: EmailEvent; outcome: 'unmatched'; reason: 'not_ours' | 'no_message_id' }
  /** Taken in; `status` is the enrollment's new status when this event moved it; `by`, how it was matched. */
  | { event: EmailEvent; outcome: 'applied'; enrollmentId: string; by: MatchedBy; status?: EmailStatus };

// Takes one event, once (scripts/apply-email-event.lua names each argument).
// → -1 duplicate, 0 taken without a status change, 1 status changed.
const APPLY = luaScript<
  [
    dedupeKey: string,
    sentKey: string,
    dedupeTtlSeconds: number,
    status: EmailStatus | '',
    rank: number,
    eventAtMs: number,
    reason: string,
    counterField: '' | 'opens' | 'clicks',
    sendId: string,
    provesSend: '1' | '0',
    eventAtIso: string,
    recordTtlSeconds: number,
  ],
  -1 | 0 | 1
>(import.meta.url, 'scripts/apply-email-event.lua', 2);

/** Events that prove SendGrid took the send: an earlier attempt of unknown outcome did send. */
const PROVES_SEND = new Set(['processed', 'delivered', 'dropped', 'deferred', 'bounce']);

/** How many events without message id that matched nothing are kept for inspection (oldest dropped first). */
const UNMATCHED_KEPT = 10_000;

/** The welcome email status of one enrollment, with its counts of opens and clicks. */
export interface EmailStatusRecord {
  status?: EmailStatus;
  statusAt?: number;
  reason?: string;
  opens: number;
  clicks: number;
}

/**
 * Takes SendGrid's events in: deduplicated by `sg_event_id` (for `dedupeTtlSeconds`), matched to
 * their enrollment by the send's custom_args, its X-Message-Id (recorded at send time) or, with
 * neither, the address (EventMatcher), and applied to the enrollment's sent record — the welcome
 * email status only moving forward (see `nextStatus` in events.ts), opens and clicks counted, and a
 * send of unknown outcome settled. One pipelined round trip for the matching (two more for events
 * without either id) and one for the events of a batch.
 */
export class EmailEventLog {
  private readonly matcher: EventMatcher;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly dedupeTtlSeconds: number,
    /** How long an enrollment's sent record lives after its last change (SENT_MARKER_TTL_DAYS). */
    private readonly recordTtlSeconds = defaultConfig().sendgrid.sentRecordTtlSeconds,
    /** Matching by address (events with neither message id nor custom_args), back `windowSeconds` (SENDGRID_MESSAGE_INDEX_DAYS). */
    byAddress?: { sends?: SendsByAddress; windowSeconds?: number },
  ) {
    this.matcher = new EventMatcher(redis, prefix, byAddress?.sends, byAddress?.windowSeconds);
    // A batch can hold thousands of events, pipelined: defined before any pipeline is made.
    APPLY.define(redis);
  }

  private dedupeKey(sgEventId: string): string {
    return recordKey(this.prefix, 'sg-event', sgEventId.slice(0, 200));
  }

  /** The stream keeping events without message id that matched no welcome email (addresses masked). */
  get unmatchedKey(): string {
    return recordKey(this.prefix, 'sg-unmatched');
  }

  /** Applies a batch of events; each comes back with what it came to. */
  async apply(events: EmailEvent[]): Promise<AppliedEvent[]> {
    const matches = await this.matcher.match(events);
    const enrollments = matches.map((m) => m.enrollmentId);
    const batch = this.redis.pipeline();
    events.forEach((e, i) => {
      const enrollmentId = enrollments[i];
      // Unmatched events are still deduplicated, so each is counted once (the stream is only touched: its lifetime).
      const key = enrollmentId ? emailKeys.sent(this.prefix, enrollmentId) : this.unmatchedKey;
      const status = enrollmentId ? statusOfEvent(e.event) : undefined;
      const counter = !enrollmentId ? '' : e.event === 'open' ? 'opens' : e.event === 'click' ? 'clicks' : '';
      const proves = enrollmentId && PROVES_SEND.has(e.event) ? '1' : '0';
      const atMs = e.timestamp * 1000;
      APPLY.queue(
        batch,
        this.dedupeKey(e.sgEventId),
        key,
        this.dedupeTtlSeconds,
        status ?? '',
        status ? statusRank(status) : 0,
        atMs,
        maskEmails(eventReason(e) ?? ''),
        counter,
        sendIdOf(e.sgMessageId) ?? '',
        proves,
        new Date(atMs).toISOString(),
        this.recordTtlSeconds,
      );
    });
    const results = (await batch.exec()) ?? [];
    const applied = events.map((event, i): AppliedEvent => {
      const [err, r] = results[i] ?? [];
      if (err) throw err;
      if (Number(r) === -1) return { event, outcome: 'duplicate' };
      const { enrollmentId, by } = matches[i]!;
      if (!enrollmentId)
        return { event, outcome: 'unmatched', reason: sendIdOf(event.sgMessageId) ? 'not_ours' : 'no_message_id' };
      return {
        event,
        outcome: 'applied',
        enrollmentId,
        by: by!,
        status: Number(r) === 1 ? statusOfEvent(event.event) : undefined,
      };
    });
    await this.keepUnmatched(
      applied.flatMap((a) => (a.outcome === 'unmatched' && a.reason === 'no_message_id' ? [a.event] : [])),
    );
    return applied;
  }

  /**
   * Keeps events that carried no message id and matched no welcome email, for inspection: one entry
   * each in a bounded stream, the address masked (no student address in clear), with what SendGrid said.
   */
  private async keepUnmatched(events: EmailEvent[]): Promise<void> {
    if (!events.length) return;
    const batch = this.redis.pipeline();
    for (const e of events) {
      const fields = {
        sgEventId: e.sgEventId,
        event: e.event,
        at: new Date(e.timestamp * 1000).toISOString(),
        email: maskEmail(e.email),
        reason: maskEmails(eventReason(e) ?? ''),
        status: e.status ?? '',
      };
      batch.xadd(this.unmatchedKey, 'MAXLEN', '~', UNMATCHED_KEPT, '*', ...Object.entries(fields).flat());
    }
    batch.expire(this.unmatchedKey, this.recordTtlSeconds);
    for (const [err] of (await batch.exec()) ?? []) if (err) throw err;
  }

  /** The welcome email status of these enrollments (read when writing it to HubSpot, so a write never moves it back). */
  async read(enrollmentIds: string[]): Promise<EmailStatusRecord[]> {
    if (!enrollmentIds.length) return [];
    const batch = this.redis.pipeline();
    for (const id of enrollmentIds)
      batch.hmget(emailKeys.sent(this.prefix, id), 'status', 'statusAt', 'reason', 'opens', 'clicks', 'sentAt');
    return ((await batch.exec()) ?? []).map(([err, row]) => {
      if (err) throw err;
      const [status, statusAt, reason, opens, clicks, sentAt] = row as (string | null)[];
      return {
        status: (status as EmailStatus | null) ?? (sentAt ? 'sent' : undefined),
        statusAt: statusAt ? Number(statusAt) : undefined,
        reason: reason || undefined,
        opens: Number(opens ?? 0),
        clicks: Number(clicks ?? 0),
      };
    });
  }
}
