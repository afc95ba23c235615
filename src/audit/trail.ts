import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { recordKey } from '../redis/keys.ts';

/** One operator action: who did what, where, to how many, through which door. */
export interface AuditEntry {
  at: string;
  /** The operator: the admin user, the proxy's user, or `<os user>@<host>` for the CLI. */
  who: string;
  via: 'admin-api' | 'bull-board' | 'cli';
  /** What was done: "replay", "purge", "quarantine replay", "retry failed", "pause", ... */
  action: string;
  queue?: string;
  /** How many jobs or entries it touched, when known. */
  count?: number;
  /** The selection (ids, a cause, an age), short; never a student's address. */
  detail?: string;
}

/** Entries kept in Redis (newest first); older ones are only in the logs. */
export const AUDIT_KEEP = 50;
/** The list expires this long after its last entry. */
const AUDIT_TTL_SECONDS = 90 * 86_400;

/**
 * The audit trail of operator actions: each is logged, and the last AUDIT_KEEP are kept in Redis
 * (one capped list) for the overview page, whichever process or command did them. A room of its
 * own below the faces: the console and the CLI write it, student-data records what forget and
 * export did in its terms (README "Layout").
 */
export class AuditTrail {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly log?: Logger,
  ) {
    this.key = recordKey(prefix, 'audit');
  }

  /** Records an action; a failure to keep it in Redis is logged, never thrown (the action is done). */
  async record(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    const full: AuditEntry = { at: new Date().toISOString(), ...entry };
    this.log?.info({ audit: full }, 'operator action');
    try {
      await this.redis
        .multi()
        .lpush(this.key, JSON.stringify(full))
        .ltrim(this.key, 0, AUDIT_KEEP - 1)
        .expire(this.key, AUDIT_TTL_SECONDS)
        .exec();
    } catch (err) {
      this.log?.error(
        { err: (err as Error).message, action: entry.action },
        'operator action not kept in the audit trail',
      );
    }
  }

  /** The newest entries first, at most `limit`. */
  async list(limit = AUDIT_KEEP): Promise<AuditEntry[]> {
    return (await this.redis.lrange(this.key, 0, limit - 1)).map((s) => JSON.parse(s) as AuditEntry);
  }
}
