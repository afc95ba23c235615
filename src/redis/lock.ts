import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { luaScript } from './scripts.ts';

/** A held lock: its key and the random token that proves who holds it. */
export interface Lease {
  key: string;
  token: string;
}

/** A lease being renewed in the background; `lost` turns true once a renewal finds it taken. */
export interface KeptLease {
  readonly lost: boolean;
  stop(): void;
}

/** The lock stayed taken for longer than the caller would wait. */
export class LockTimeoutError extends Error {
  constructor(key: string, waitedMs: number) {
    super(`could not take the lock ${key} within ${waitedMs} ms`);
    this.name = 'LockTimeoutError';
  }
}

type LeaseArgs = [lockKey: string, token: string];
const RELEASE = luaScript<LeaseArgs, number>(import.meta.url, 'scripts/release-lock.lua', 1);
const EXTEND = luaScript<[...LeaseArgs, ttlMs: number], number>(import.meta.url, 'scripts/extend-lock.lua', 1);
const HOLD = luaScript<[...LeaseArgs, ttlMs: number], number>(import.meta.url, 'scripts/hold-lock.lua', 1);

/** A fresh random token for a lease. */
export function leaseToken(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The one Redis lock of course-sync: SET NX PX with a random token, renewed and released only by
 * its holder (compare-and-delete in Lua), so a holder that stalled past its TTL can never release
 * or renew a lock someone else took since. Works on a single node and on a Cluster (one key).
 */
export class RedisLock {
  constructor(private readonly redis: Redis) {}

  /** Takes `key` for `ttlMs` if it is free; undefined when someone else holds it. */
  async tryAcquire(key: string, ttlMs: number, token = leaseToken()): Promise<Lease | undefined> {
    return (await this.redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK' ? { key, token } : undefined;
  }

  /** Takes `key`, asking again every 25–50 ms, for at most `waitMs`; throws LockTimeoutError after that. */
  async acquire(key: string, ttlMs: number, waitMs: number, signal?: AbortSignal): Promise<Lease> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lease = await this.tryAcquire(key, ttlMs);
      if (lease) return lease;
      if (Date.now() > deadline) throw new LockTimeoutError(key, waitMs);
      await sleep(25 + Math.floor(Math.random() * 25), undefined, { signal });
    }
  }

  /** Runs `fn` while holding `key` (waiting at most `waitMs` for it), then releases it. */
  async withLock<T>(key: string, ttlMs: number, waitMs: number, fn: () => Promise<T>): Promise<T> {
    const lease = await this.acquire(key, ttlMs, waitMs);
    try {
      return await fn();
    } finally {
      await this.release(lease);
    }
  }

  /** Renews the lease for `ttlMs`; false when it was lost (expired and maybe taken by another). */
  async extend(lease: Lease, ttlMs: number): Promise<boolean> {
    return (await EXTEND.run(this.redis, lease.key, lease.token, ttlMs)) === 1;
  }

  /** Renews the lease if held, takes it if free: true while `lease.token` holds it (leader election). */
  async hold(lease: Lease, ttlMs: number): Promise<boolean> {
    return (await HOLD.run(this.redis, lease.key, lease.token, ttlMs)) === 1;
  }

  /** Releases the lease if still held; true when it was. */
  async release(lease: Lease): Promise<boolean> {
    return (await RELEASE.run(this.redis, lease.key, lease.token)) === 1;
  }

  /**
   * Renews the lease every third of `ttlMs` until `stop()`, so a long wait (for the HubSpot budget
   * after a 429) never lets the lock lapse while its holder still means to write. A renewal that
   * finds the lock taken sets `lost`; one that fails (Redis away) is tried again next time.
   */
  keepAlive(lease: Lease, ttlMs: number): KeptLease {
    const state = { lost: false, stop: () => clearInterval(timer) };
    const timer = setInterval(
      () => {
        this.extend(lease, ttlMs).then(
          (held) => {
            if (!held) state.lost = true;
          },
          () => undefined,
        );
      },
      Math.max(10, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    return state;
  }
}
