import type { Client } from '@sendgrid/client';
import { ok, problem, unknown, type CheckResult } from './check.ts';

interface SendGridErrorLike {
  code?: number;
  message?: string;
  response?: { body?: { errors?: { message?: string }[] } };
}

function statusOf(err: unknown): number | undefined {
  const code = (err as SendGridErrorLike).code;
  return typeof code === 'number' ? code : undefined;
}

function messageOf(err: unknown): string {
  const e = err as SendGridErrorLike;
  return e.response?.body?.errors?.map((x) => x.message).join('; ') || e.message || String(err);
}

async function get<T>(client: Client, url: string): Promise<T> {
  const [, body] = await client.request({ method: 'GET', url });
  return body as T;
}

const KEY = 'SendGrid API key';
const SENDER = 'SendGrid sender';

/** Checks the API key (GET /v3/scopes has `mail.send`). */
export async function checkSendGridKey(client: Client, baseUrl: string): Promise<CheckResult> {
  try {
    const { scopes } = await get<{ scopes?: string[] }>(client, '/v3/scopes');
    if (scopes?.includes('mail.send')) return ok(KEY, 'valid, with Mail Send permission');
    return problem(
      KEY,
      'valid but without Mail Send permission',
      'give the key "Mail Send" access (Settings → API Keys → Edit)',
    );
  } catch (err) {
    const status = statusOf(err);
    if (status === 401 || status === 403)
      return problem(
        KEY,
        `refused (${status}: ${messageOf(err)})`,
        'set SENDGRID_API_KEY to a valid key with Mail Send permission',
      );
    if (status !== undefined)
      return problem(KEY, `HTTP ${status}: ${messageOf(err)}`, 'check SENDGRID_BASE_URL and SendGrid status');
    return problem(KEY, `no answer from ${baseUrl} (${messageOf(err)})`, 'check network access to SENDGRID_BASE_URL');
  }
}

interface VerifiedSender {
  from_email?: string;
  verified?: boolean;
}

interface AuthenticatedDomain {
  domain?: string;
  valid?: boolean;
}

const SENDER_FIX = (from: string) =>
  `verify ${from} as a Single Sender or authenticate its domain in SendGrid (Settings → Sender Authentication), or set WELCOME_EMAIL_FROM to a verified address`;

/**
 * Checks that WELCOME_EMAIL_FROM may send: a verified Single Sender (GET /v3/verified_senders) or
 * an address in an authenticated domain (GET /v3/whitelabel/domains). A key allowed only to send
 * mail cannot read either: that is reported as unknown, not as a problem.
 */
export async function checkSendGridSender(client: Client, from: string): Promise<CheckResult> {
  const address = from.toLowerCase();
  const domain = address.slice(address.indexOf('@') + 1);
  let senders: VerifiedSender[];
  try {
    senders = (await get<{ results?: VerifiedSender[] }>(client, '/v3/verified_senders')).results ?? [];
  } catch (err) {
    const status = statusOf(err);
    if (status === 401 || status === 403) {
      return unknown(
        SENDER,
        `this API key may not read sender identities (${status})`,
        `check in SendGrid that ${from} is verified, or give the key read access to Sender Authentication`,
      );
    }
    return unknown(SENDER, `could not list verified senders (${messageOf(err)})`);
  }
  const match = senders.find((s) => s.from_email?.toLowerCase() === address);
  if (match?.verified) return ok(SENDER, `${from} is a verified sender`);

  let domains: AuthenticatedDomain[] = [];
  try {
    domains = await get<AuthenticatedDomain[]>(client, '/v3/whitelabel/domains');
  } catch {
    /* no access to domain authentication: judged on single senders alone */
  }
  if (domains.some((d) => d.valid && d.domain?.toLowerCase() === domain))
    return ok(SENDER, `${from} is in the authenticated domain ${domain}`);
  if (match)
    return problem(
      SENDER,
      `${from} is unverified (verification pending)`,
      `open the verification email SendGrid sent to ${from}, or resend it from Settings → Sender Authentication`,
    );
  return problem(
    SENDER,
    `${from} is unverified: not a Single Sender and not in an authenticated domain`,
    SENDER_FIX(from),
  );
}

const EVENTS = 'SendGrid Event Webhook';
const HOW_TO =
  'in SendGrid, Settings → Mail Settings → Event Webhook: HTTP POST URL https://<this service>/webhooks/sendgrid; events Processed, Dropped, Deferred, Bounced, Delivered, Opened, Clicked, Spam Reports, Unsubscribes; turn on the Signed Event Webhook and set SENDGRID_WEBHOOK_PUBLIC_KEY to its Verification Key';

/** Whether delivery events can come in: the Signed Event Webhook's key is set (in production the endpoint is off without it). */
export function checkEventWebhook(
  events: { publicKeys: string[]; maxAgeSeconds?: number },
  production: boolean,
): CheckResult {
  if (events.publicKeys.length)
    return ok(
      EVENTS,
      `POST /webhooks/sendgrid verifies SendGrid's signature${events.maxAgeSeconds ? ` and refuses batches older than ${events.maxAgeSeconds} s` : ''}`,
    );
  if (production)
    return problem(
      EVENTS,
      'SENDGRID_WEBHOOK_PUBLIC_KEY is not set: POST /webhooks/sendgrid answers 404, so bounces and drops of welcome emails go unseen',
      HOW_TO,
    );
  return unknown(
    EVENTS,
    'SENDGRID_WEBHOOK_PUBLIC_KEY is not set: events are taken unsigned outside production',
    HOW_TO,
  );
}
