import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';

/** What a condition's new verdict means: tell ops it fires or resolved, nothing changed, or wait (rate limit). */
export type Transition = 'fire' | 'resolve' | 'none' | 'deferred';

/** Where alert states live: shared in Redis, or in this process only. */
export interface AlertState {
  /**
   * Moves condition `id` to `active` unless it is there already, or its last message went out less
   * than `minIntervalMs` ago (then the change waits for a later round). Only one caller gets a
   * fire/resolve for a change, however many processes evaluate at once.
   */
  transition(id: string, active: boolean, text: string, now: number, minIntervalMs: number): Promise<Transition>;
  /** Undoes the last transition of `id` (its message could not be delivered; a later round retries). */
  revert(id: string): Promise<void>;
}

/** One firing alert, as the overview page lists it. */
export interface ActiveAlert {
  id: string;
  text: string;
  since: string;
}

// KEYS: alert hash, set of active ids. ARGV: id, wanted '1'/'0', now ms, min interval ms, text.
const TRANSITION = `
local cur = redis.call('HGET', KEYS[1], 'active') or '0'
if cur == ARGV[2] then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'sentAt') or '0')
if last > 0 and tonumber(ARGV[3]) - last < tonumber(ARGV[4]) then return -1 end
redis.call('HSET', KEYS[1], 'active', ARGV[2], 'sentAt', ARGV[3], 'prevSentAt', tostring(last), 'text', ARGV[5])
if ARGV[2] == '1' then redis.call('SADD', KEYS[2], ARGV[1]) else redis.call('SREM', KEYS[2], ARGV[1]) end
return 1`;

const REVERT = `
local cur = redis.call('HGET', KEYS[1], 'active') or '0'
local back = cur == '1' and '0' or '1'
redis.call('HSET', KEYS[1], 'active', back, 'sentAt', redis.call('HGET', KEYS[1], 'prevSentAt') or '0')
if back == '1' then redis.call('SADD', KEYS[2], ARGV[1]) else redis.call('SREM', KEYS[2], ARGV[1]) end
return 1`;

const toTransition = (r: number, active: boolean): Transition => (r === 1 ? (active ? 'fire' : 'resolve') : r === -1 ? 'deferred' : 'none');

/** Alert states in Redis, shared by every worker process (atomic transitions in Lua). */
export class RedisAlertState implements AlertState {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return recordKey(this.prefix, 'alert', id);
  }

  private activeKey(): string {
    return recordKey(this.prefix, 'alerts-active');
  }

  async transition(id: string, active: boolean, text: string, now: number, minIntervalMs: number): Promise<Transition> {
    const r = await this.redis.eval(TRANSITION, 2, this.key(id), this.activeKey(), id, active ? '1' : '0', now, minIntervalMs, text);
    return toTransition(Number(r), active);
  }

  async revert(id: string): Promise<void> {
    await this.redis.eval(REVERT, 2, this.key(id), this.activeKey(), id);
  }

  /** The conditions firing now, with their message and since when. */
  async active(): Promise<ActiveAlert[]> {
    const ids = (await this.redis.smembers(this.activeKey())).sort();
    const batch = this.redis.pipeline();
    for (const id of ids) batch.hmget(this.key(id), 'text', 'sentAt');
    const rows = (await batch.exec()) ?? [];
    return ids.map((id, i) => {
      const [text, sentAt] = (rows[i]?.[1] as (string | null)[]) ?? [];
      return { id, text: text ?? id, since: new Date(Number(sentAt ?? 0)).toISOString() };
    });
  }
}

/** Alert states of this process only: for "Redis unreachable", which cannot be kept in Redis. */
export class MemoryAlertState implements AlertState {
  private readonly states = new Map<string, { active: boolean; sentAt: number; prevSentAt: number }>();

  async transition(id: string, active: boolean, _text: string, now: number, minIntervalMs: number): Promise<Transition> {
    const s = this.states.get(id) ?? { active: false, sentAt: 0, prevSentAt: 0 };
    if (s.active === active) return 'none';
    if (s.sentAt > 0 && now - s.sentAt < minIntervalMs) return 'deferred';
    this.states.set(id, { active, sentAt: now, prevSentAt: s.sentAt });
    return active ? 'fire' : 'resolve';
  }

  async revert(id: string): Promise<void> {
    const s = this.states.get(id);
    if (s) this.states.set(id, { active: !s.active, sentAt: s.prevSentAt, prevSentAt: 0 });
  }
}
