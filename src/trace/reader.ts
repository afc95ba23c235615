import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { journeyCalls, OLD_CALLS_FIELD, readCalls } from './calls.ts';
import { traceFields } from './packing.ts';
import { DayIndex } from './day-index.ts';
import { TraceKeys } from './keys.ts';
import { enrollmentKey, isEnrollmentKey } from '../events/idempotency-key.ts';
import { pendingEvent, pendingKey } from '../queues/pending-events.ts';
import { headerOf, sortSteps, type IndexKind, type TraceHeader, type TraceRecord } from './model.ts';
import { eventHeader } from './subject.ts';
import { isEmail } from '../privacy/email.ts';
import { resolvePiiHasher, type PiiHasher } from '../privacy/pii-hash.ts';

/** The most traces one search returns (newest first). */
export const SEARCH_LIMIT = 50;

/** Kinds of id a query may be (an enrollment's id indexes only traces not its own, such as a quarantined delivery's). */
const ID_KINDS: IndexKind[] = ['enrollment', 'course', 'plan'];

/**
 * Finds and reads traces: by enrollment id, course id, plan id, student e-mail (through its keyed
 * hash) or the idempotency key itself.
 */
export class TraceReader {
  readonly keys: TraceKeys;
  private readonly days: DayIndex;
  private hasher?: Promise<PiiHasher>;

  constructor(
    private readonly redis: Redis,
    private readonly config: Pick<Config, 'redis' | 'trace'>,
  ) {
    this.keys = new TraceKeys(config.redis.prefix);
    this.days = new DayIndex(config.redis.prefix, config.trace.retentionDays);
  }

  /**
   * Trace keys matching `query`, newest first, at most `limit`: from the index of its kind (by day,
   * and the sorted sets of earlier versions), the trace
   * whose key it is, and the trace of the enrollment it is the id of (found by its key, not indexed;
   * while the enrollment's jobs are not done, by its pending record).
   */
  async findKeys(query: string, limit = SEARCH_LIMIT): Promise<string[]> {
    const q = query.trim();
    if (!q) return [];
    const indexes: string[] = [];
    let emailHash: string | undefined;
    if (isEmail(q)) {
      this.hasher ??= resolvePiiHasher(this.redis, this.config.redis.prefix, this.config.trace.piiHashKey);
      emailHash = (await this.hasher).hash(q);
      indexes.push(this.keys.index('email', emailHash));
    } else {
      indexes.push(...ID_KINDS.map((kind) => this.keys.index(kind, q)));
    }
    const batch = this.redis.pipeline();
    const cutoff = Date.now() - this.config.trace.retentionDays * 86_400_000;
    for (const index of indexes)
      batch.zremrangebyscore(index, '-inf', cutoff).zrevrange(index, 0, limit - 1, 'WITHSCORES');
    // The trace whose key the query is, and the trace of the enrollment whose id it is (an enrollment's
    // trace is not indexed by its id); while its jobs are not done, its pending record stands for it.
    const own = isEmail(q) ? [] : [...new Set([q, enrollmentKey(q)])];
    for (const key of own)
      batch
        .hgetallBuffer(this.keys.trace(key))
        .exists(this.keys.trace(key))
        .hmget(pendingKey(this.config.redis.prefix, key), 'at', 'c');
    const [results, byDay] = await Promise.all([
      batch.exec().then((r) => r ?? []),
      // The index by day; the sorted sets above are what earlier versions wrote (read while they live).
      emailHash
        ? this.days.byEmail(this.redis, [emailHash]).then(([found]) => found!)
        : this.days.byId(this.redis, ID_KINDS, q, limit),
    ]);
    const scored = new Map<string, number>();
    const score = (key: string, at: number) => scored.set(key, Math.max(scored.get(key) ?? 0, at));
    results
      .slice(0, indexes.length * 2)
      .filter((_, i) => i % 2 === 1)
      .forEach(([err, flat]) => {
        if (err) throw err;
        const list = flat as string[];
        for (let i = 0; i < list.length; i += 2) score(list[i]!, Number(list[i + 1]));
      });
    for (const { key, score: at } of byDay) score(key, at);
    own.forEach((key, n) => {
      const [header, exists, pending] = results.slice(indexes.length * 2 + n * 3, indexes.length * 2 + n * 3 + 3);
      // A dedupe marker left by an earlier version is a plain string: the error says no data waits there.
      const [pendingAt, holds] = pending?.[0] ? [] : ((pending?.[1] ?? []) as (string | null)[]);
      const received = headerOf(key, traceFields((header?.[1] ?? {}) as Record<string, Buffer>))?.receivedAt;
      const at = received ? Date.parse(received) : holds ? Number(pendingAt) : undefined;
      // A query that names a trace itself puts that trace first.
      if (key === q && (exists?.[1] === 1 || holds)) scored.set(key, Number.MAX_SAFE_INTEGER);
      else if (at !== undefined && !scored.has(key)) scored.set(key, at);
    });
    return [...scored.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key]) => key);
  }

  /**
   * Reads traces by key; expired ones are left out. An enrollment whose jobs are not all done has
   * its header written only then: until then it is read from the enrollment's pending record.
   */
  async load(keys: string[]): Promise<TraceRecord[]> {
    if (!keys.length) return [];
    const batch = this.redis.pipeline();
    // Each trace, its TTL (how long ago its last step was) and its call details, kept apart.
    for (const key of keys)
      batch.hgetallBuffer(this.keys.trace(key)).pttl(this.keys.trace(key)).hgetallBuffer(this.keys.calls(key));
    const read = ((await batch.exec()) ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    const hashes = keys.map((_, i) => traceFields(read[3 * i] as Record<string, Buffer>));
    const ttls = keys.map((_, i) => Number(read[3 * i + 1]));
    const callFields = keys.map((_, i) => Object.entries(traceFields(read[3 * i + 2] as Record<string, Buffer>, true)));
    const headless = keys.filter((key, i) => !hashes[i]!.h && isEnrollmentKey(key));
    const pending = new Map<string, TraceHeader>();
    if (headless.length) {
      const reads = this.redis.pipeline();
      for (const key of headless) reads.hgetall(pendingKey(this.config.redis.prefix, key));
      ((await reads.exec()) ?? []).forEach(([err, hash], i) => {
        const event = err ? undefined : pendingEvent(headless[i]!, hash as Record<string, string>);
        if (event) pending.set(headless[i]!, eventHeader(event));
      });
    }
    const records: TraceRecord[] = [];
    const retentionMs = this.config.trace.retentionDays * 86_400_000;
    keys.forEach((key, i) => {
      const fields = Object.entries(hashes[i]!);
      if (!fields.length && !pending.has(key) && !callFields[i]!.length) return;
      const steps = sortSteps(fields.filter(([f]) => f.startsWith('s:')));
      const kept = { newer: readCalls(callFields[i]!), older: readCalls(fields, OLD_CALLS_FIELD) };
      const sinceLastStep = ttls[i]! > 0 ? retentionMs - ttls[i]! : 0;
      records.push({
        key,
        header: headerOf(key, hashes[i]!) ?? pending.get(key),
        steps,
        ...journeyCalls(steps, kept, this.config.trace.callRetentionDays, Date.now(), sinceLastStep),
      });
    });
    return records;
  }

  /** Traces matching `query`, newest first. */
  async search(query: string, limit = SEARCH_LIMIT): Promise<TraceRecord[]> {
    return this.load(await this.findKeys(query, limit));
  }
}
