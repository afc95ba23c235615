import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { EVENT_SIGNATURE_HEADER, EVENT_TIMESTAMP_HEADER, generateEventKeyPair, signEventBatch } from '../receiver/sendgrid-signature.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { postJson, ReceiverUnreachableError } from './post-webhook.ts';

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
  io.err('A key pair for testing the Event Webhook endpoint. Give the receiver the public key, keep the private one in a file:');
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
export async function emitSendGridEvents(io: CliIO, file: string | undefined, opts: SendGridEmitOptions, port: number): Promise<number> {
  const usage = (message: string) => {
    io.err(`course-sync emit sendgrid-events: ${message}`);
    return EXIT.usage;
  };
  if (!opts.key) return usage('--key <file> is required: the private key whose public half the receiver has (make a pair with `course-sync emit sendgrid-keys`)');
  if (!existsSync(opts.key)) return usage(`no key file ${opts.key}`);
  if (!file && !opts.id) return usage('give a file with a JSON array of events, or --id <enrollment id> for a sample batch');
  let body: string;
  if (file) {
    if (!existsSync(file)) return usage(`no file ${file}`);
    body = readFileSync(file, 'utf8');
    try {
      if (!Array.isArray(JSON.parse(body))) return usage(`${file} must hold a JSON array of events, as SendGrid posts them`);
    } catch {
      return usage(`${file} is not valid JSON`);
    }
  } else body = sampleBatch(opts.id!);
  const timestamp = String(Math.floor(Date.now() / 1000));
  let signature: string;
  try {
    signature = signEventBatch(readFileSync(opts.key, 'utf8'), timestamp, body);
  } catch {
    return usage(`${opts.key} does not hold a private key (PEM)`);
  }
  const url = opts.url ?? `http://localhost:${port}/webhooks/sendgrid`;
  io.out(`POST ${url}  (${file ?? `sample batch for ${opts.id}`}, signed)`);
  try {
    const reply = await postJson(url, body, { [EVENT_SIGNATURE_HEADER]: signature, [EVENT_TIMESTAMP_HEADER]: timestamp });
    io.out(`HTTP ${reply.status} ${reply.statusText}`);
    if (reply.body) io.out(reply.body);
    return reply.status >= 200 && reply.status < 300 ? EXIT.ok : EXIT.problem;
  } catch (err) {
    if (!(err instanceof ReceiverUnreachableError)) throw err;
    io.err(`course-sync emit: ${err.message}`);
    return EXIT.unavailable;
  }
}
