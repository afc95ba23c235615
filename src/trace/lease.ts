import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

// Keep the lease if we hold it, else take it if free. → 1 held, 0 someone else holds it.
const HOLD = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A time-limited lease in Redis, so that one of several processes does a job (the tracer) and
 * another takes over within `ttlMs` when the holder stops renewing.
 */
export class Lease {
  readonly holder: string;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlMs: number,
    holder?: string,
  ) {
    this.holder = holder ?? randomBytes(8).toString('hex');
  }

  /** Renews the lease if held, takes it if free; resolves true while this holder has it. */
  async hold(): Promise<boolean> {
    return Number(await this.redis.eval(HOLD, 1, this.key, this.holder, this.ttlMs)) === 1;
  }

  /** Gives the lease up, if held, so another process can take it at once. */
  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.holder);
  }
}
