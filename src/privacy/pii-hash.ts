import { createHmac, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { normalizeEmail } from './email.ts';

/**
 * Keyed hash (HMAC-SHA256) of student e-mails: the trace index stores only these, so the store
 * never holds an address in clear, and without the key a hash cannot be checked against a guess.
 */
export class PiiHasher {
  constructor(private readonly key: string) {
    if (!key) throw new Error('PiiHasher needs a key');
  }

  /** Hex HMAC of the normalized address. */
  hash(email: string): string {
    return createHmac('sha256', this.key).update(normalizeEmail(email)).digest('hex');
  }
}

/**
 * The HMAC key: PII_HASH_KEY when set; otherwise a random key generated once and kept in Redis
 * (SET NX, no expiry), so every receiver, worker and CLI process hashes the same way.
 */
export async function resolvePiiHasher(redis: Redis, prefix: string, configured?: string): Promise<PiiHasher> {
  if (configured) return new PiiHasher(configured);
  const stored = recordKey(prefix, 'pii-hash-key');
  await redis.set(stored, randomBytes(32).toString('base64url'), 'NX');
  const key = await redis.get(stored);
  if (!key) throw new Error('could not read the generated PII hash key from Redis');
  return new PiiHasher(key);
}
