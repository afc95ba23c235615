import { Client } from '@sendgrid/client';
import { MailService } from '@sendgrid/mail';

/** What the welcome-email worker needs from SendGrid: `send` of the real `@sendgrid/mail`. */
export type SendGridMail = Pick<MailService, 'send'>;

export interface SendGridClientOptions {
  apiKey: string;
  /** `https://api.sendgrid.com`, or an emulator. */
  baseUrl: string;
  /** Per-request timeout; a timed-out send is retried like a 5xx. */
  timeoutMs?: number;
}

/** Default per-request timeout of a Mail Send call. */
export const SEND_TIMEOUT_MS = 15_000;

/**
 * Builds a fresh `@sendgrid/mail` MailService on its own `@sendgrid/client` Client (not the
 * module singletons, so several can coexist). Order matters: `setApiKey` resets the base URL to
 * SendGrid's, so the base URL is set after it.
 */
export function createSendGridMail(opts: SendGridClientOptions): MailService {
  const client = new Client();
  client.setApiKey(opts.apiKey);
  client.setDefaultRequest('baseUrl', opts.baseUrl);
  const mail = new MailService();
  mail.setClient(client);
  mail.setTimeout(opts.timeoutMs ?? SEND_TIMEOUT_MS);
  return mail;
}
