import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { resolvePiiHasher, type PiiHasher } from './pii-hash.ts';

/**
 * Students who asked not to be processed any more (`course-sync forget --suppress`): only a keyed
 * hash of each address is kept (HMAC with the PII hash key, as the trace index), in one Redis set
 * without expiry — it must outlive the student's data — until `forget --unsuppress`.
 */
export class SuppressionList {
  private readonly key: string;
  private hasher?: Promise<PiiHasher>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly piiHashKey?: string,
  ) {
    this.key = recordKey(prefix, 'suppressed');
  }

  private async hash(email: string): Promise<string> {
    this.hasher ??= resolvePiiHasher(this.redis, this.prefix, this.piiHashKey);
    return (await this.hasher).hash(email);
  }

  /** Suppresses an address; true when it was not suppressed before. */
  async add(email: string): Promise<boolean> {
    return (await this.redis.sadd(this.key, await this.hash(email))) === 1;
  }

  /** Lifts the suppression of an address; true when it was suppressed. */
  async remove(email: string): Promise<boolean> {
    return (await this.redis.srem(this.key, await this.hash(email))) === 1;
  }

  /** Whether each address is suppressed (one round trip). */
  async has(emails: string[]): Promise<boolean[]> {
    if (!emails.length) return [];
    const hashes = await Promise.all(emails.map((e) => this.hash(e)));
    const found = await this.redis.smismember(this.key, ...hashes);
    return found.map((n) => n === 1);
  }
}
