import { defaultConfig } from '../config.ts';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { TraceKeys } from './keys.ts';
import { headerOf, type TraceStep } from './model.ts';
import { OLD_CALLS_FIELD } from './calls.ts';
import { isPackable, isPackedField, packedPieces, packedValue, packFields, traceFields } from './packing.ts';
import { luaScript } from '../redis/scripts.ts';

/** Traces packed at a time (each a read and a script call, sent together). */
const ROUND = 200;
/** Traces waiting to be packed, at most: past it the newest are left as they are (they still expire). */
const MAX_WAITING = 200_000;
/**
 * How many times a trace without its header yet is looked at again, the delay apart: 5, and as many
 * as a minute takes at short delays (a busy worker writes an enrollment's header seconds late).
 */
const headlessTries = (afterMs: number) => Math.max(5, Math.ceil(60_000 / Math.max(afterMs, 1)));

// Packs a hash's fields into its packed field unless they changed since they were read: its key, the
// number n of the new packed value's pieces, its n pieces, the packed value read (or ''), the fields packed.
const PACK = luaScript<[hashKey: string, pieceCount: string, ...rest: (string | Buffer)[]], 0 | 1>(
  import.meta.url,
  'scripts/pack-trace.lua',
  1,
);
// Moves call details an earlier version kept in a trace beside it: the calls hash, its TTL (ms) when new, field/value pairs.
const MOVE_CALLS = luaScript<[callsKey: string, ttlMs: number, ...fieldsAndValues: string[]], 1>(
  import.meta.url,
  'scripts/move-calls.lua',
  1,
);

/** The last time a trace's steps name (ms), or undefined without steps. */
function lastStepAt(fields: Record<string, string>): number | undefined {
  const times = Object.entries(fields)
    .filter(([name]) => name.startsWith('s:'))
    .map(([, json]) => Date.parse((JSON.parse(json) as TraceStep).at));
  return times.length ? Math.max(...times) : undefined;
}

/**
 * Whether every queue of the trace's event has a completed (or skipped) step: nothing more is coming
 * from its jobs. An enrollment's header is written by its last job's worker just after the job, so
 * a trace can be complete before it has one: `headless`, to look at again.
 */
function state(key: string, fields: Record<string, string>): 'finished' | 'running' | 'headless' {
  const header = headerOf(key, fields);
  if (!header) return 'headless';
  const done = new Set<string>();
  for (const [name, json] of Object.entries(fields)) {
    if (!name.startsWith('s:')) continue;
    const step = JSON.parse(json) as TraceStep;
    if ((step.kind === 'completed' || step.kind === 'skipped') && step.queue) done.add(step.queue);
  }
  return header.queues.length && header.queues.every((q) => done.has(q)) ? 'finished' : 'running';
}

/**
 * Packs finished traces (TRACE_COMPACT_AFTER_SECONDS after their last job completed): the header,
 * steps and calls become one deflated field, about a quarter of the memory, read back unchanged by
 * `traceFields`. Steps written later (a SendGrid event, a duplicate delivery) stay beside it. The
 * waiting list is this process's memory: after a crash the traces it held stay unpacked until
 * they expire, as before.
 */
export class TraceCompactor {
  /** Trace key → when it is due (ms) and how many times it was found without its header; in the order they became due. */
  private readonly waiting = new Map<string, { at: number; headless: number }>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  private readonly beforeRound: () => Promise<void>;
  private readonly callRetentionMs: number;
  private readonly traceRetentionMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: TraceKeys,
    private readonly afterMs: number,
    private readonly log: Logger,
    opts: {
      /** Run before each round (the tracer saves its stream cursors, so no packed step is read again). */
      beforeRound?: () => Promise<void>;
      /** CALL_DETAIL_RETENTION_DAYS in ms: call details an earlier version kept in a trace move out for what is left of it. */
      callRetentionMs?: number;
      /** TRACE_RETENTION_DAYS in ms: how long ago a trace's last step was is also told by its TTL. */
      traceRetentionMs?: number;
    } = {},
  ) {
    this.beforeRound = opts.beforeRound ?? (async () => undefined);
    this.callRetentionMs = opts.callRetentionMs ?? defaultConfig().trace.callRetentionDays * 86_400_000;
    this.traceRetentionMs = opts.traceRetentionMs ?? defaultConfig().trace.retentionDays * 86_400_000;
  }

  /** Packs `key` once it has been left alone for the delay (a later call moves it back). */
  schedule(key: string, headless = 0): void {
    if (this.afterMs <= 0 || (this.waiting.size >= MAX_WAITING && !this.waiting.has(key))) return;
    this.waiting.delete(key);
    this.waiting.set(key, { at: Date.now() + this.afterMs, headless });
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

  /** The next traces due, at most ROUND, taken off the waiting list (one scheduled again meanwhile waits its own turn). */
  private takeDue(): [string, number][] {
    const now = Date.now();
    const due: [string, number][] = [];
    for (const [key, { at, headless }] of this.waiting) {
      if (at > now || due.length >= ROUND) break;
      due.push([key, headless]);
    }
    for (const [key] of due) this.waiting.delete(key);
    return due;
  }

  /** Packs the traces that are due, ROUND at a time until none is, unless a round is still running. */
  private round(): void {
    if (this.running) return;
    let due = this.takeDue();
    if (!due.length) return;
    this.running = (async () => {
      for (; due.length && this.timer; due = this.takeDue()) {
        await this.beforeRound();
        const results = await Promise.allSettled(due.map(([key]) => this.pack(key)));
        results.forEach((r, i) => {
          const [key, headless] = due[i]!;
          if (r.status === 'fulfilled' && r.value === 'headless' && headless < headlessTries(this.afterMs))
            this.schedule(key, headless + 1);
        });
        const failed = results.filter((r) => r.status === 'rejected');
        if (failed.length)
          this.log.warn(
            { traces: failed.length, err: String(failed[0]!.reason) },
            'trace: could not pack finished traces (left as they are)',
          );
      }
    })()
      .catch((err) => this.log.warn({ err: (err as Error).message }, 'trace: could not pack finished traces'))
      .finally(() => (this.running = undefined));
  }

  /**
   * Packs trace `key` if its event is finished, and its call details beside it: `packed`, or why
   * not — `running` (a job not done), `headless` (no header yet), `unchanged` (nothing new since
   * they were packed, or changed meanwhile).
   */
  async pack(key: string): Promise<'packed' | 'running' | 'headless' | 'unchanged'> {
    const redisKey = this.keys.trace(key);
    const hash = await this.read(redisKey);
    const fields = traceFields(hash);
    const now = state(key, fields);
    if (now !== 'finished') return now;
    const trace = await this.packTrace(key, hash, fields);
    const calls = await this.packHash(
      this.keys.calls(key),
      await this.read(this.keys.calls(key)),
      () => true,
      undefined,
      true,
    );
    return trace || calls ? 'packed' : 'unchanged';
  }

  /** A hash as text (less work for the client than bytes); again as bytes when it holds a packed value. */
  private async read(redisKey: string): Promise<Record<string, string | Buffer>> {
    const hash: Record<string, string | Buffer> = await this.redis.hgetall(redisKey);
    return Object.keys(hash).some(isPackedField) ? this.redis.hgetallBuffer(redisKey) : hash;
  }

  /**
   * Packs the trace's header and steps. Call details an earlier version kept in it (`c:` fields)
   * leave it: moved to its calls hash while younger than CALL_DETAIL_RETENTION_DAYS, else dropped.
   */
  private async packTrace(
    key: string,
    hash: Record<string, string | Buffer>,
    fields: Record<string, string>,
  ): Promise<boolean> {
    const old = Object.entries(fields).filter(([name]) => name.startsWith(OLD_CALLS_FIELD));
    // How long ago the journey's last step was: by the clock, or by its TTL (each step sets TRACE_RETENTION_DAYS).
    const ttl = old.length ? await this.redis.pttl(this.keys.trace(key)) : 0;
    const age = Math.max(Date.now() - (lastStepAt(fields) ?? 0), ttl > 0 ? this.traceRetentionMs - ttl : 0);
    const left = this.callRetentionMs - age;
    if (old.length && left > 0)
      await MOVE_CALLS.run(
        this.redis,
        this.keys.calls(key),
        Math.round(left),
        ...old.flatMap(([name, json]) => [name.slice(OLD_CALLS_FIELD.length), json]),
      );
    return this.packHash(this.keys.trace(key), hash, (name) => name === 'h' || name.startsWith('s:'), isPackable);
  }

  /**
   * Packs the fields of `redisKey` that `keep` says (with those already packed) into its packed
   * field, removing every live field `drop` says (by default the same): false when there is none.
   * `laterWins`: a live field replaces a packed one of the same name (see `traceFields`).
   */
  private async packHash(
    redisKey: string,
    hash: Record<string, string | Buffer>,
    keep: (name: string) => boolean,
    drop = keep,
    laterWins = false,
  ): Promise<boolean> {
    const live = Object.keys(hash).filter((name) => !isPackedField(name) && drop(name));
    if (!live.length) return false;
    const packable = Object.entries(traceFields(hash, laterWins)).filter(([name]) => keep(name));
    const pieces = packedPieces(packFields(packable)).map(([, piece]) => piece);
    return (
      (await PACK.run(this.redis, redisKey, String(pieces.length), ...pieces, packedValue(hash) ?? '', ...live)) === 1
    );
  }
}
