import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { enrollmentKey } from '../events/idempotency-key.ts';
import { TraceKeys } from './keys.ts';
import { headerFields, type IndexTerm, type TraceHeader } from './model.ts';
import { resolvePiiHasher, type PiiHasher } from '../privacy/pii-hash.ts';
import { StepLog } from './step-log.ts';
import { indexTerms, subjectFields, subjectOf } from './subject.ts';
import type { AcceptedEvent, IntakeObserver, QuarantinedDelivery, RecordWrite } from '../queues/intake.ts';

/** One write in this many also trims the index entries that are past retention. */
const TRIM_EVERY = 32;

/**
 * The receiver's side of the trace store: the record of each accepted event (header and index
 * entries, written by the intake's own script with the event's jobs), duplicate deliveries and
 * quarantined ones. Retention is TRACE_RETENTION_DAYS, refreshed by every write to a trace.
 */
export class TraceWriter implements IntakeObserver {
  readonly keys: TraceKeys;
  readonly steps: StepLog;
  private readonly retentionSeconds: number;
  private hasher?: PiiHasher;
  private resolving?: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly config: Pick<Config, 'redis' | 'trace'>,
  ) {
    this.keys = new TraceKeys(config.redis.prefix);
    this.retentionSeconds = config.trace.retentionDays * 86_400;
    this.steps = new StepLog(redis, this.keys, this.retentionSeconds);
  }

  /** Resolves the e-mail hash key (once; later calls return at once). */
  ready(): Promise<void> {
    if (this.hasher) return Promise.resolve();
    return (this.resolving ??= resolvePiiHasher(this.redis, this.config.redis.prefix, this.config.trace.piiHashKey).then(
      (h) => void (this.hasher = h),
      (err) => {
        this.resolving = undefined;
        throw err;
      },
    ));
  }

  /** The records of an accepted event: its header and index entries; call after `ready()`. */
  accepted(event: AcceptedEvent): RecordWrite[] {
    if (!this.hasher) throw new Error('TraceWriter.accepted before ready()');
    const subject = subjectOf(event.type, event.data);
    const header: TraceHeader = {
      key: event.key,
      eventType: event.type,
      receivedAt: event.receivedAt,
      correlationId: event.correlationId,
      queues: event.queues,
      ...subjectFields(subject),
    };
    return this.records(header, indexTerms(subject, this.hasher), Date.parse(event.receivedAt));
  }

  /** Notes that the receiver answered a redelivery of `key` with 200 duplicate. */
  async duplicate(key: string, correlationId: string): Promise<void> {
    await this.steps.appendNow(key, { kind: 'duplicate', correlationId });
  }

  /** Records a quarantined delivery as its own trace (`quarantine-<id>`), indexed by what its body names. */
  async quarantined(entry: QuarantinedDelivery): Promise<void> {
    await this.ready();
    let data: unknown;
    try {
      data = (JSON.parse(entry.body) as { data?: unknown })?.data;
    } catch {
      data = undefined;
    }
    const subject = subjectOf(entry.eventType, data);
    const key = `quarantine-${entry.id}`;
    const now = Date.now();
    const header: TraceHeader = { key, eventType: entry.eventType, receivedAt: new Date(now).toISOString(), queues: [], quarantineId: entry.id, ...subjectFields(subject) };
    const batch = this.redis.multi();
    for (const w of this.records(header, indexTerms(subject, this.hasher!), now)) {
      if (w.kind === 'hash') batch.hset(w.key, ...w.fields.flat()).expire(w.key, w.ttlSeconds);
      else {
        batch.zadd(w.key, 'NX', w.score, w.member).expire(w.key, w.ttlSeconds);
        if (w.trimAt !== undefined) batch.zremrangebyscore(w.key, '-inf', w.trimAt);
      }
    }
    await batch.exec();
    await this.steps.appendNow(key, { kind: 'quarantined', error: `${entry.status}: ${entry.reason}` });
  }

  /**
   * The trace hash (its header, unless a header is there already) and one index entry per term. An
   * enrollment's own trace is found by its key, which its id gives: no enrollment index entry.
   */
  private records(header: TraceHeader, terms: IndexTerm[], atMs: number): RecordWrite[] {
    const ttlSeconds = this.retentionSeconds;
    const writes: RecordWrite[] = [{ kind: 'hash', key: this.keys.trace(header.key), ttlSeconds, fields: headerFields(header) }];
    // Entries past retention are trimmed on about one write in TRIM_EVERY (and on every search), not on
    // each write: it keeps a busy course's index bounded while saving the hot path a command per term.
    const trimAt = Math.random() * TRIM_EVERY < 1 ? atMs - ttlSeconds * 1000 : undefined;
    for (const term of terms) {
      if (term.kind === 'enrollment' && enrollmentKey(term.value) === header.key) continue;
      writes.push({ kind: 'index', key: this.keys.index(term.kind, term.value), ttlSeconds, score: atMs, member: header.key, trimAt });
    }
    return writes;
  }
}
