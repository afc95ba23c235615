import { randomBytes } from 'node:crypto';
import { signedEventHeaders } from '../../sendgrid-signature.ts';
import { DEFAULT_FATE_DOMAINS, scriptFor, type Fate } from './event-script.ts';
import type { OutboxEmail } from './outbox.ts';

/**
 * Where the emulator posts its Event Webhook, signed with `privateKey` (PEM), like SendGrid's Signed
 * Event Webhook, and what becomes of mail at which recipient domain (any other domain: delivered).
 */
export interface EventWebhookOptions {
  url: string;
  privateKey: string;
  /** How long after one event of an e-mail the next follows (processed → delivered → open …); default 200 ms. */
  deliverAfterMs?: number;
  /** Pending events are posted at least this often (SendGrid: about 30 s); default 250 ms. */
  flushMs?: number;
  /** Bounced (type bounce, status 5.1.1); default bounce.example.com. */
  bounceDomains?: string[];
  /** Dropped ("Bounced Address"); default drop.example.com. */
  dropDomains?: string[];
  /** Bounced with type blocked, and no status; default blocked.example.com. */
  blockDomains?: string[];
  /** Deferred once (attempt "1"), then delivered; default defer.example.com. */
  deferDomains?: string[];
  /** Delivered, then opened and clicked; default engaged.example.com. */
  engageDomains?: string[];
  /** Delivered, then reported as spam; default spam.example.com. */
  spamDomains?: string[];
  /** Delivered, then unsubscribed from everything; default unsubscribe.example.com. */
  unsubscribeDomains?: string[];
  /** Delivered, then unsubscribed from group `asmGroupId`; default group-unsubscribe.example.com. */
  groupUnsubscribeDomains?: string[];
  /** Delivered, unsubscribed from the group, then resubscribed to it; default resubscribe.example.com. */
  resubscribeDomains?: string[];
  /** Delivered, then bounced later without sg_message_id and without custom_args; default async-bounce.example.com. */
  asyncBounceDomains?: string[];
  /** The unsubscribe group of group events (asm_group_id); default 10, the reference's example. */
  asmGroupId?: number;
}

const FATE_OPTIONS: [Exclude<Fate, 'delivered'>, keyof EventWebhookOptions][] = [
  ['dropped', 'dropDomains'],
  ['bounce', 'bounceDomains'],
  ['blocked', 'blockDomains'],
  ['deferred', 'deferDomains'],
  ['engaged', 'engageDomains'],
  ['spamreport', 'spamDomains'],
  ['unsubscribe', 'unsubscribeDomains'],
  ['group_unsubscribe', 'groupUnsubscribeDomains'],
  ['group_resubscribe', 'resubscribeDomains'],
  ['async_bounce', 'asyncBounceDomains'],
];

/** Recipient domain → fate, from the options (first listed wins) and the defaults. */
function fatesByDomain(opts: EventWebhookOptions): Map<string, Fate> {
  const fates = new Map<string, Fate>();
  for (const [fate, option] of FATE_OPTIONS) {
    for (const domain of (opts[option] as string[] | undefined) ?? DEFAULT_FATE_DOMAINS[fate])
      if (!fates.has(domain.toLowerCase())) fates.set(domain.toLowerCase(), fate);
  }
  return fates;
}

/** One batch the emulator posted, and what the receiver answered (0: no answer). */
export interface PostedBatch {
  events: Record<string, unknown>[];
  status: number;
}

const MAX_BATCH = 500;
const MAX_TRIES = 20;

/**
 * SendGrid's Event Webhook, emulated: for each accepted e-mail and recipient, the events of its fate
 * (event-script.ts: processed, then delivered, deferred, bounce, dropped, open, click, spamreport,
 * unsubscribe, group_unsubscribe, group_resubscribe, or a late bounce without message id), one every
 * `deliverAfterMs`, each with `timestamp` (whole Unix seconds) and `sg_event_id`, posted in signed
 * batches and posted again while the receiver does not answer 2xx.
 */
export class EventPoster {
  readonly posted: PostedBatch[] = [];
  private pending: { event: Record<string, unknown>; tries: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly fates: Map<string, Fate>;

  constructor(private readonly opts: EventWebhookOptions) {
    this.fates = fatesByDomain(opts);
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 250);
    this.timer.unref();
  }

  /** Schedules the events of an accepted e-mail. */
  accepted(email: OutboxEmail): void {
    const every = this.opts.deliverAfterMs ?? 200;
    for (const to of email.to) {
      const address = to.email.toLowerCase();
      const fate = this.fates.get(address.slice(address.indexOf('@') + 1)) ?? 'delivered';
      for (const { step, event } of scriptFor(email, to, fate, this.opts.asmGroupId ?? 10)) {
        if (step === 0) this.queue(event);
        else setTimeout(() => this.queue(event), step * every).unref();
      }
    }
  }

  // Reference: `timestamp` is a Unix timestamp (whole seconds); `sg_event_id` is unique per event, 22 or 48 characters (16 random bytes are 22 in base64url).
  private queue(event: Record<string, unknown>): void {
    this.pending.push({
      event: { ...event, timestamp: Math.floor(Date.now() / 1000), sg_event_id: randomBytes(16).toString('base64url') },
      tries: 0,
    });
  }

  /** Posts what is pending now (in batches of up to 500); resolves once done. */
  flush(): Promise<void> {
    return (this.flushing ??= this.post().finally(() => (this.flushing = undefined)));
  }

  private async post(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, MAX_BATCH);
      const body = JSON.stringify(batch.map((b) => b.event));
      let status: number;
      try {
        const res = await fetch(this.opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signedEventHeaders(this.opts.privateKey, body) },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = 0;
      }
      this.posted.push({ events: batch.map((b) => b.event), status });
      if (status < 200 || status >= 300) {
        // SendGrid retries a batch it could not deliver (for up to 24 h): keep it for the next flush.
        this.pending.unshift(...batch.filter((b) => ++b.tries < MAX_TRIES));
        return;
      }
    }
  }

  /** Stops posting; what is still pending is dropped. */
  close(): void {
    clearInterval(this.timer);
  }
}
