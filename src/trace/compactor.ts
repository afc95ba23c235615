import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { TraceKeys } from './keys.ts';
import { headerOf, type TraceStep } from './model.ts';
import { isPackable, packFields, PACKED_FIELD, traceFields } from './packing.ts';

/** Packs at most this many traces a round; the next round goes on where it stopped. */
const ROUND = 200;
/** Traces waiting to be packed, at most: past it the newest are left as they are (they still expire). */
const MAX_WAITING = 200_000;

// KEYS: trace. ARGV: packed value, the packed field read (or ''), then the fields packed.
// Replaces those fields by the packed one only if none changed since they were read (the packed
// field as read, the others still there): a forget, an expiry or another packer in between leaves
// the trace alone. The hash is written anew: Redis does not shrink a hash's encoding on HDEL.
const PACK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local was = redis.call('HGET', KEYS[1], '${PACKED_FIELD}')
if (was or '') ~= ARGV[2] then return 0 end
for i = 3, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then return 0 end
end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('HDEL', KEYS[1], '${PACKED_FIELD}', unpack(ARGV, 3))
local rest = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '${PACKED_FIELD}', ARGV[1], unpack(rest))
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

/** True when every queue of the trace's event has a completed (or skipped) step: nothing more is coming from its jobs. */
function finished(key: string, fields: Record<string, string>): boolean {
  const header = headerOf(key, fields);
  if (!header?.queues.length) return false;
  const done = new Set<string>();
  for (const [name, json] of Object.entries(fields)) {
    if (!name.startsWith('s:')) continue;
    const step = JSON.parse(json) as TraceStep;
    if ((step.kind === 'completed' || step.kind === 'skipped') && step.queue) done.add(step.queue);
  }
  return header.queues.every((q) => done.has(q));
}

/**
 * Packs finished traces (TRACE_COMPACT_AFTER_SECONDS after their last job completed): the header,
 * steps and calls become one deflated field, about a quarter of the memory, read back unchanged by
 * `traceFields`. Steps written later (a SendGrid event, a duplicate delivery) stay beside it. The
 * waiting list is this process's memory: after a crash the traces it held stay unpacked until
 * they expire, as before.
 */
export class TraceCompactor {
  /** Trace key → when it is due (ms); in the order they became due. */
  private readonly waiting = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: TraceKeys,
    private readonly afterMs: number,
    private readonly log: Logger,
    /** Run before each round (the tracer saves its stream cursors, so no packed step is read again). */
    private readonly beforeRound: () => Promise<void> = async () => undefined,
  ) {}

  /** Packs `key` once it has been left alone for the delay (a later call moves it back). */
  schedule(key: string): void {
    if (this.afterMs <= 0 || (this.waiting.size >= MAX_WAITING && !this.waiting.has(key))) return;
    this.waiting.delete(key);
    this.waiting.set(key, Date.now() + this.afterMs);
    this.timer ??= setInterval(() => this.round(), Math.min(this.afterMs, 1_000));
    this.timer.unref();
  }

  /** Stops; the traces still waiting are left as they are. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.waiting.clear();
    await this.running;
  }

  /** Packs the traces that are due, unless a round is still running. */
  private round(): void {
    if (this.running) return;
    const now = Date.now();
    const due: string[] = [];
    for (const [key, at] of this.waiting) {
      if (at > now || due.length >= ROUND) break;
      due.push(key);
    }
    if (!due.length) return;
    // Taken off now: one scheduled again while this round runs waits for its own turn.
    for (const key of due) this.waiting.delete(key);
    this.running = (async () => {
      await this.beforeRound();
      await Promise.all(due.map((key) => this.pack(key)));
    })()
      .catch((err) => this.log.warn({ err: (err as Error).message }, 'trace: could not pack finished traces'))
      .finally(() => (this.running = undefined));
  }

  /** Packs trace `key` if its event is finished; true when it did. */
  async pack(key: string): Promise<boolean> {
    const redisKey = this.keys.trace(key);
    const hash = await this.redis.hgetallBuffer(redisKey);
    const fields = traceFields(hash);
    if (!finished(key, fields)) return false;
    const packable = Object.entries(fields).filter(([name]) => isPackable(name));
    const live = Object.keys(hash).filter((name) => name !== PACKED_FIELD && isPackable(name));
    if (!live.length) return false;
    const packed = packFields(packable);
    const done = await this.redis.eval(PACK, 1, redisKey, packed, hash[PACKED_FIELD] ?? '', ...live);
    return done === 1;
  }
}
