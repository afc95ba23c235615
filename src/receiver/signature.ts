import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header Loopwise signs with, and the one older (Teachify) deployments still send. */
const SIGNATURE_HEADERS = ['loopwise-webhook-signature', 'teachify-webhook-signature'] as const;

/** Why a delivery's signature was refused; the message says exactly what failed. */
export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

/**
 * Signs and verifies Loopwise webhooks: lowercase hex HMAC-SHA256 of the raw body.
 * Several secrets are accepted at once so a key can be rotated without dropping deliveries.
 */
export class WebhookSignature {
  private readonly secrets: Buffer[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('At least one signing secret must be provided');
    this.secrets = secrets.map((s) => Buffer.from(s, 'utf8'));
  }

  /** The signature of `body` under the first (current) secret. */
  sign(body: Buffer | string): string {
    return hmac(this.secrets[0]!, body);
  }

  /**
   * Verifies the signature header among `headers` (lower-case names) against `body`.
   * Throws SignatureError when the header is missing, malformed or matches no secret.
   */
  verify(body: Buffer, headers: Record<string, string | string[] | undefined>): void {
    const given = SIGNATURE_HEADERS.map((h) => headers[h]).find((v) => v !== undefined);
    if (given === undefined) throw new SignatureError(`Missing signature header (${SIGNATURE_HEADERS.join(' or ')})`);
    const value = (Array.isArray(given) ? (given[0] ?? '') : given).trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(value))
      throw new SignatureError('Malformed signature: expected 64 hex characters of HMAC-SHA256');
    const expected = Buffer.from(value, 'hex');
    let matched = false;
    // Every secret is compared, in constant time, whether or not an earlier one matched.
    for (const secret of this.secrets) {
      matched = timingSafeEqual(Buffer.from(hmac(secret, body), 'hex'), expected) || matched;
    }
    if (!matched) throw new SignatureError('No matching signature found');
  }
}

function hmac(secret: Buffer, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
