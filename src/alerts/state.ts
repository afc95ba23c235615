import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { luaScript } from '../redis/scripts.ts';

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

// A condition's state moved (1 changed, 0 no change, -1 deferred), or moved back (scripts/*.lua name each argument).
const TRANSITION = luaScript<
  [
    alertKey: string,
    activeKey: string,
    id: string,
    wanted: '1' | '0',
    nowMs: number,
    minIntervalMs: number,
    text: string,
  ],
  1 | 0 | -1
>(import.meta.url, 'scripts/transition-alert.lua', 2);
const REVERT = luaScript<[alertKey: string, activeKey: string, id: string], 1>(
  import.meta.url,
  'scripts/revert-alert.lua',
  2,
);

const toTransition = (r: number, active: boolean): Transition =>
  r === 1 ? (active ? 'fire' : 'resolve') : r === -1 ? 'deferred' : 'none';

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
    const r = await TRANSITION.run(
      this.redis,
      this.key(id),
      this.activeKey(),
      id,
      active ? '1' : '0',
      now,
      minIntervalMs,
      text,
    );
    return toTransition(Number(r), active);
  }

  async revert(id: string): Promise<void> {
    await REVERT.run(this.redis, this.key(id), this.activeKey(), id);
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

  async transition(
    id: string,
    active: boolean,
    _text: string,
    now: number,
    minIntervalMs: number,
  ): Promise<Transition> {
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
