import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { generateEventKeyPair, signedEventHeaders } from '../sendgrid-signature.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { localWebhookUrl, postAndReport, postJson } from './post-webhook.ts';

interface SendGridEmitOptions {
  url?: string;
  /** File holding the private key (PEM) whose public half the receiver has as SENDGRID_WEBHOOK_PUBLIC_KEY. */
  key?: string;
  /** Without a file: a sample batch (processed, delivered) for this enrollment id. */
  id?: string;
}

/** `emit sendgrid-keys`: a new key pair, the public half as SendGrid shows it, the private half to sign with. */
export function emitSendGridKeys(io: CliIO): number {
  const { publicKey, privateKey } = generateEventKeyPair();
  io.err(
    'A key pair for testing the Event Webhook endpoint. Give the receiver the public key, keep the private one in a file:',
  );
  io.out(`SENDGRID_WEBHOOK_PUBLIC_KEY=${publicKey}`);
  io.out(privateKey.trimEnd());
  io.err('Then: course-sync emit sendgrid-events <events.json> --key <file with the private key>');
  return EXIT.ok;
}

/** A batch as SendGrid posts it for one send of the welcome email of `enrollmentId`: processed, then delivered. */
function sampleBatch(enrollmentId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const messageId = randomBytes(16).toString('base64url');
  const event = (type: string, at: number) => ({
    email: 'student@example.com',
    timestamp: at,
    event: type,
    sg_event_id: randomBytes(12).toString('base64url'),
    sg_message_id: `${messageId}.filter0001.0.0`,
    enrollment_id: enrollmentId,
  });
  return `${JSON.stringify([event('processed', now), event('delivered', now + 1)])}\r\n`;
}

/**
 * `emit sendgrid-events <file>`: signs a batch (a JSON array of events, sent byte for byte) as
 * SendGrid's Signed Event Webhook does, with the private key in `--key`, and posts it to the
 * receiver's /webhooks/sendgrid.
 */
export async function emitSendGridEvents(
  io: CliIO,
  file: string | undefined,
  opts: SendGridEmitOptions,
  port: number,
): Promise<number> {
  const usage = (message: string) => {
    io.err(`course-sync emit sendgrid-events: ${message}`);
    return EXIT.usage;
  };
  if (!opts.key)
    return usage(
      '--key <file> is required: the private key whose public half the receiver has (make a pair with `course-sync emit sendgrid-keys`)',
    );
  if (!existsSync(opts.key)) return usage(`no key file ${opts.key}`);
  if (!file && !opts.id)
    return usage('give a file with a JSON array of events, or --id <enrollment id> for a sample batch');
  let body: string;
  if (file) {
    if (!existsSync(file)) return usage(`no file ${file}`);
    body = readFileSync(file, 'utf8');
    try {
      if (!Array.isArray(JSON.parse(body)))
        return usage(`${file} must hold a JSON array of events, as SendGrid posts them`);
    } catch {
      return usage(`${file} is not valid JSON`);
    }
  } else body = sampleBatch(opts.id!);
  let headers: Record<string, string>;
  try {
    headers = signedEventHeaders(readFileSync(opts.key, 'utf8'), body);
  } catch {
    return usage(`${opts.key} does not hold a private key (PEM)`);
  }
  const url = opts.url ?? localWebhookUrl(port, '/webhooks/sendgrid');
  return postAndReport(io, url, `${file ?? `sample batch for ${opts.id}`}, signed`, () => postJson(url, body, headers));
}
