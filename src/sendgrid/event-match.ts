import type { Redis } from 'ioredis';
import { defaultConfig } from '../config.ts';
import { normalizeEmail } from '../privacy/email.ts';
import { emailKeys } from './email-keys.ts';
import { sendIdOf, type EmailEvent } from './events.ts';

/**
 * Where course-sync finds the enrollments made with an address (the traces' e-mail index, kept by
 * keyed hash; trace/sends-by-address.ts). Defined here so the events' matching asks the layer above
 * without importing it.
 */
export interface SendsByAddress {
  /** For each address, the ids of the enrollments made with it, newest first. */
  enrollmentsOf(emails: string[]): Promise<string[][]>;
}

/** How an event was matched to its enrollment: its custom_args, its sg_message_id, or (neither given) its address. */
export type MatchedBy = 'custom_args' | 'message_id' | 'address';

export interface EventMatch {
  enrollmentId?: string;
  by?: MatchedBy;
}

/** SendGrid's timestamps are whole seconds, and the sent marker is written after SendGrid's 202: a send may look up to this much later than its events. */
const CLOCK_SLACK_MS = 5_000;

/**
 * Finds the enrollment each SendGrid event is about: by the `enrollment_id` custom arg the welcome
 * email carries; else by the X-Message-Id recorded at send time (`sg_message_id` starts with it; an
 * unknown one is another app's mail); else — an asynchronous bounce comes with neither (Twilio's
 * glossary, "Bounces": "the message ID ... might be unavailable") — by its address: the latest
 * welcome email course-sync sent to that address at most `windowSeconds` before the event. The
 * address only ever names that student's own enrollments, so nothing is matched to someone else.
 */
export class EventMatcher {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly byAddress?: SendsByAddress,
    /** How far back an event without message id is matched to a send (SENDGRID_MESSAGE_INDEX_DAYS, like the message ids). */
    private readonly windowSeconds = defaultConfig().sendgrid.messageIndexTtlSeconds,
  ) {}

  /** One round trip for the message ids; two more (the address index, then the sends) only for events that carry neither id. */
  async match(events: EmailEvent[]): Promise<EventMatch[]> {
    const lookups = events.map((e) => (e.enrollmentId ? undefined : sendIdOf(e.sgMessageId)));
    const wanted = [...new Set(lookups.filter((id): id is string => !!id))];
    const found = wanted.length ? await this.redis.mget(...wanted.map((id) => emailKeys.message(this.prefix, id))) : [];
    const byId = new Map(wanted.map((id, i) => [id, found[i] ?? undefined]));
    const matches = events.map((e, i): EventMatch => {
      if (e.enrollmentId) return { enrollmentId: e.enrollmentId, by: 'custom_args' };
      const enrollmentId = lookups[i] ? byId.get(lookups[i]) : undefined;
      return enrollmentId ? { enrollmentId, by: 'message_id' } : {};
    });
    const orphans = events.flatMap((e, i) => (!e.enrollmentId && !lookups[i] ? [i] : []));
    if (orphans.length && this.byAddress) await this.matchByAddress(events, orphans, matches);
    return matches;
  }

  private async matchByAddress(events: EmailEvent[], orphans: number[], matches: EventMatch[]): Promise<void> {
    const emails = [...new Set(orphans.map((i) => normalizeEmail(events[i]!.email)))];
    const lists = await this.byAddress!.enrollmentsOf(emails);
    const candidates = [...new Set(lists.flat())];
    if (!candidates.length) return;
    const reads = this.redis.pipeline();
    for (const id of candidates) reads.hget(emailKeys.sent(this.prefix, id), 'sentAt');
    const sentAt = new Map(
      ((await reads.exec()) ?? []).map(([err, at], n) => {
        if (err) throw err;
        return [candidates[n]!, at ? Date.parse(at as string) : NaN];
      }),
    );
    for (const i of orphans) {
      const atMs = events[i]!.timestamp * 1000;
      const ids = lists[emails.indexOf(normalizeEmail(events[i]!.email))] ?? [];
      let best: { id: string; at: number } | undefined;
      for (const id of ids) {
        const at = sentAt.get(id)!;
        if (!(at <= atMs + CLOCK_SLACK_MS && at >= atMs - this.windowSeconds * 1000)) continue;
        if (!best || at > best.at) best = { id, at };
      }
      if (best) matches[i] = { enrollmentId: best.id, by: 'address' };
    }
  }
}
