import type { Address } from './validation.ts';
import type { OutboxEmail } from './outbox.ts';

/**
 * What becomes of an e-mail at one recipient, chosen by the domain of the address. Each is modelled
 * on SendGrid's Event Webhook reference (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event,
 * the older text in github.com/sendgrid/docs source/for-developers/tracking-events/event.md): which
 * events follow which, and the fields each event type carries.
 */
export type Fate =
  | 'delivered'
  | 'dropped'
  | 'bounce'
  | 'blocked'
  | 'deferred'
  | 'engaged'
  | 'spamreport'
  | 'unsubscribe'
  | 'group_unsubscribe'
  | 'group_resubscribe'
  | 'async_bounce';

/** The recipient domains of each fate but plain delivery, unless EventWebhookOptions says otherwise. */
export const DEFAULT_FATE_DOMAINS: Record<Exclude<Fate, 'delivered'>, string[]> = {
  dropped: ['drop.example.com'],
  bounce: ['bounce.example.com'],
  blocked: ['blocked.example.com'],
  deferred: ['defer.example.com'],
  engaged: ['engaged.example.com'],
  spamreport: ['spam.example.com'],
  unsubscribe: ['unsubscribe.example.com'],
  group_unsubscribe: ['group-unsubscribe.example.com'],
  group_resubscribe: ['resubscribe.example.com'],
  async_bounce: ['async-bounce.example.com'],
};

/** One event of the script: posted `step` × deliverAfterMs after the e-mail was accepted. */
export interface ScriptedEvent {
  step: number;
  event: Record<string, unknown>;
}

// Open, click and the group events carry the engaging client's user agent and IP (reference: useragent, ip).
// 192.0.2.0/24 is a documentation range (RFC 5737): no real address.
const CLIENT = { useragent: 'Mozilla/5.0 (course-sync SendGrid emulator mail client)', ip: '192.0.2.10' };

/** The first link of the HTML body: what the emulated recipient clicks (reference: `url` on click is the URL clicked). */
function firstLink(html: string | undefined): string {
  return /href="(https?:[^"]+)"/i.exec(html ?? '')?.[1] ?? 'https://example.com/';
}

/**
 * The events SendGrid posts for `email` at recipient `to` meeting `fate`, in order. Every event has
 * the send's custom_args as top-level keys under SendGrid's own (the reference: reserved keys such as
 * `event` and `email` win over a custom arg of the same name), `sg_message_id` (the X-Message-Id and a
 * suffix) and `smtp-id`, and the send's categories as an array when it had any. Timestamps and
 * `sg_event_id` are added when an event is posted.
 */
export function scriptFor(email: OutboxEmail, to: Address, fate: Fate, asmGroupId: number): ScriptedEvent[] {
  const base = {
    ...email.customArgs,
    email: to.email,
    sg_message_id: `${email.messageId}.emulator${email.index}`,
    'smtp-id': `<${email.messageId}@emulator>`,
    ...(email.categories.length ? { category: email.categories } : {}),
  };
  const at = (step: number, event: Record<string, unknown>): ScriptedEvent => ({ step, event: { ...base, ...event } });
  const delivered = at(1, { event: 'delivered', response: '250 OK' });
  const group = { asm_group_id: asmGroupId, ...CLIENT, url: 'https://example.com/unsubscribe-preferences' };
  const script = [at(0, { event: 'processed' })];
  switch (fate) {
    case 'dropped': // reference: reason (e.g. "Bounced Address") and status on dropped.
      return [...script, at(1, { event: 'dropped', reason: 'Bounced Address', status: '5.0.0' })];
    case 'bounce': // reference: a bounce has type "bounce" (or "blocked"), status and reason.
      return [
        ...script,
        at(1, {
          event: 'bounce',
          type: 'bounce',
          status: '5.1.1',
          reason: '550 5.1.1 The email account that you tried to reach does not exist',
        }),
      ];
    case 'blocked':
      // A block is a bounce of type "blocked"; one observed in the wild came without `status` (a
      // Discourse fix for SendGrid's blocked bounce of an address with no mail server), so none here.
      return [
        ...script,
        at(1, { event: 'bounce', type: 'blocked', reason: "554 5.7.1 Rejected by the receiving server's policy" }),
      ];
    case 'deferred': // reference: deferred has the server's response and SendGrid's attempt count (a string, "5").
      return [
        ...script,
        at(1, { event: 'deferred', response: '421 4.7.0 Try again later', attempt: '1' }),
        at(2, { event: 'delivered', response: '250 OK' }),
      ];
    case 'engaged': // reference: open (useragent, ip) and click (useragent, ip, url) follow delivery.
      return [
        ...script,
        delivered,
        at(2, { event: 'open', ...CLIENT }),
        at(3, { event: 'click', ...CLIENT, url: firstLink(email.html) }),
      ];
    case 'spamreport':
      return [...script, delivered, at(2, { event: 'spamreport' })];
    case 'unsubscribe':
      return [...script, delivered, at(2, { event: 'unsubscribe' })];
    case 'group_unsubscribe': // reference: asm_group_id (a number), useragent, ip and url on group events.
      return [...script, delivered, at(2, { event: 'group_unsubscribe', ...group })];
    case 'group_resubscribe':
      return [
        ...script,
        delivered,
        at(2, { event: 'group_unsubscribe', ...group }),
        at(3, { event: 'group_resubscribe', ...group }),
      ];
    case 'async_bounce':
      // Twilio's glossary, "Bounces": an asynchronous bounce is reported after the message was
      // delivered (a message can have both a delivered and a bounce event), and "the message ID and IP
      // address might be unavailable". As observed (github.com/sendgrid/docs issue 5177): sg_message_id
      // empty, and none of the send's custom args (nor smtp-id, nor category).
      return [
        ...script,
        delivered,
        {
          step: 2,
          event: {
            email: to.email,
            event: 'bounce',
            type: 'bounce',
            status: '5.1.1',
            reason: '550 5.1.1 Recipient address rejected: mailbox unknown (reported after delivery)',
            sg_message_id: '',
          },
        },
      ];
    default:
      return [...script, delivered];
  }
}
