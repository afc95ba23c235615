import { randomBytes } from 'node:crypto';
import { signedEventHeaders } from '../../receiver/sendgrid-signature.ts';
import type { OutboxEmail } from './outbox.ts';

/** Where the emulator posts its Event Webhook, signed with `privateKey` (PEM), like SendGrid's Signed Event Webhook. */
export interface EventWebhookOptions {
  url: string;
  privateKey: string;
  /** How long after `processed` the delivery (or bounce) event follows; default 200 ms. */
  deliverAfterMs?: number;
  /** Pending events are posted at least this often (SendGrid: about 30 s); default 250 ms. */
  flushMs?: number;
  /** Recipients at these domains bounce (default bounce.example.com); at these, the message is dropped (default drop.example.com). */
  bounceDomains?: string[];
  dropDomains?: string[];
}

/** One batch the emulator posted, and what the receiver answered (0: no answer). */
export interface PostedBatch {
  events: Record<string, unknown>[];
  status: number;
}

const MAX_BATCH = 500;
const MAX_TRIES = 20;

/**
 * SendGrid's Event Webhook, emulated: for each accepted e-mail a `processed` event, then a
 * `delivered` one a moment later — or a `bounce` for recipients at a bouncing domain, a `dropped`
 * at a dropping one — each with `sg_event_id`, `sg_message_id` (the send's X-Message-Id and a
 * suffix) and the send's custom_args as top-level keys, posted in signed batches and posted again
 * while the receiver does not answer 2xx.
 */
export class EventPoster {
  readonly posted: PostedBatch[] = [];
  private pending: { event: Record<string, unknown>; tries: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(private readonly opts: EventWebhookOptions) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 250);
    this.timer.unref();
  }

  /** Schedules the events of an accepted e-mail. */
  accepted(email: OutboxEmail): void {
    for (const to of email.to) {
      const address = to.email.toLowerCase();
      const domain = address.slice(address.indexOf('@') + 1);
      const base = { email: to.email, sg_message_id: `${email.messageId}.emulator${email.index}`, 'smtp-id': `<${email.messageId}@emulator>`, ...email.customArgs };
      this.queue({ ...base, event: 'processed' });
      setTimeout(() => {
        if ((this.opts.dropDomains ?? ['drop.example.com']).includes(domain)) this.queue({ ...base, event: 'dropped', reason: 'Bounced Address' });
        else if ((this.opts.bounceDomains ?? ['bounce.example.com']).includes(domain)) this.queue({ ...base, event: 'bounce', type: 'bounce', status: '5.1.1', reason: '550 5.1.1 The email account that you tried to reach does not exist' });
        else this.queue({ ...base, event: 'delivered', response: '250 OK' });
      }, this.opts.deliverAfterMs ?? 200).unref();
    }
  }

  private queue(event: Record<string, unknown>): void {
    this.pending.push({ event: { ...event, timestamp: Math.floor(Date.now() / 1000), sg_event_id: randomBytes(16).toString('base64url') }, tries: 0 });
  }

  /** Posts what is pending now (in batches of up to 500); resolves once done. */
  flush(): Promise<void> {
    return (this.flushing ??= this.post().finally(() => (this.flushing = undefined)));
  }

  private async post(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, MAX_BATCH);
      const body = JSON.stringify(batch.map((b) => b.event));
      let status = 0;
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
