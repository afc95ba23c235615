// SendGrid's Signed Event Webhook, both halves side by side: config checks the verification key at
// start-up, the receiver verifies each batch, the SendGrid emulator and `course-sync emit
// sendgrid-events` sign. On the ground, so that each reaches it without importing another's room.
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/** The headers of SendGrid's Signed Event Webhook. */
export const EVENT_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const EVENT_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/** Why an event batch's signature was refused; the message says exactly what failed. */
export class EventSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventSignatureError';
  }
}

/** Reads SendGrid's verification key (base64 DER SPKI, as its settings show it). */
function publicKeyOf(base64: string): KeyObject {
  return createPublicKey({ key: Buffer.from(base64.trim(), 'base64'), format: 'der', type: 'spki' });
}

/** What is wrong with a configured verification key, or undefined when it is an ECDSA P-256 public key. */
export function eventKeyProblem(base64: string): string | undefined {
  let key: KeyObject;
  try {
    key = publicKeyOf(base64);
  } catch {
    return 'is not a public key: paste the "Verification Key" of the Signed Event Webhook (base64) as SendGrid shows it';
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return key.asymmetricKeyType === 'ec' && curve === 'prime256v1'
    ? undefined
    : `must be an ECDSA P-256 key, got ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''}`;
}

/** A key pair for signing test batches (the emulator, `course-sync emit sendgrid-events`): the public half as SendGrid shows it. */
export function generateEventKeyPair(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/** Signs a batch as SendGrid does: base64 DER ECDSA-SHA256 over the timestamp's bytes followed by the raw body. */
export function signEventBatch(privateKeyPem: string, timestamp: string, body: Buffer | string): string {
  return sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), privateKeyPem).toString('base64');
}

/** The headers SendGrid sends with a signed batch (timestamp: Unix seconds, now by default). */
export function signedEventHeaders(
  privateKeyPem: string,
  body: Buffer | string,
  timestamp = String(Math.floor(Date.now() / 1000)),
): Record<string, string> {
  return {
    [EVENT_TIMESTAMP_HEADER]: timestamp,
    [EVENT_SIGNATURE_HEADER]: signEventBatch(privateKeyPem, timestamp, body),
  };
}

/**
 * Verifies SendGrid's Signed Event Webhook: ECDSA P-256 with SHA-256 over the bytes of the
 * timestamp header followed by the raw body (trailing CRLF included), with the verification key
 * from SendGrid's settings. Optionally refuses timestamps older than `maxAgeSeconds`.
 */
export class EventWebhookSignature {
  private readonly keys: KeyObject[];

  constructor(
    /** The verification key, or several while a key is being changed: a batch signed by any of them is taken. */
    publicKeysBase64: string | string[],
    private readonly maxAgeSeconds?: number,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = [publicKeysBase64].flat().map(publicKeyOf);
  }

  /** Throws EventSignatureError when a header is missing, the signature does not match, or the batch is too old. */
  verify(body: Buffer, headers: Record<string, string | string[] | undefined>): void {
    const one = (name: string) => {
      const v = headers[name];
      return (Array.isArray(v) ? v[0] : v)?.trim() ?? '';
    };
    const signature = one(EVENT_SIGNATURE_HEADER);
    const timestamp = one(EVENT_TIMESTAMP_HEADER);
    if (!signature || !timestamp)
      throw new EventSignatureError(
        `Missing signature headers (${EVENT_SIGNATURE_HEADER} and ${EVENT_TIMESTAMP_HEADER})`,
      );
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature))
      throw new EventSignatureError('Malformed signature: expected base64 DER ECDSA');
    const signed = Buffer.concat([Buffer.from(timestamp), body]);
    const ok = this.keys.some((key) => {
      try {
        return verify('sha256', signed, key, Buffer.from(signature, 'base64'));
      } catch {
        return false;
      }
    });
    if (!ok) throw new EventSignatureError('No matching signature found');
    if (this.maxAgeSeconds !== undefined) {
      const at = Number(timestamp);
      if (!Number.isFinite(at)) throw new EventSignatureError('Timestamp is not a number of seconds');
      const age = this.now() / 1000 - at;
      if (age > this.maxAgeSeconds)
        throw new EventSignatureError(
          `Timestamp is ${Math.round(age)} s old, more than SENDGRID_WEBHOOK_MAX_AGE_SECONDS (${this.maxAgeSeconds})`,
        );
    }
  }
}
