import type { ChainableCommander, Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { TraceKeys } from './keys.ts';
import type { IndexTerm, TraceHeader } from './model.ts';
import { resolvePiiHasher, type PiiHasher } from '../privacy/pii-hash.ts';
import { StepLog } from './step-log.ts';
import { indexTerms, subjectFields, subjectOf } from './subject.ts';
import type { AcceptedEvent, IntakeObserver, QuarantinedDelivery } from '../queues/intake.ts';

/** One write in this many also trims the index entries that are past retention. */
const TRIM_EVERY = 32;

/**
 * The receiver's side of the trace store: the record of each accepted event (header and index
 * entries, added to the intake's own final round trip), duplicate deliveries and quarantined ones.
 * Retention is TRACE_RETENTION_DAYS, refreshed by every write to a trace.
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

  /** Queues the writes recording an accepted event on `batch`; call after `ready()`. */
  accepted(batch: ChainableCommander, event: AcceptedEvent): void {
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
    this.addRecord(batch, header, indexTerms(subject, this.hasher), Date.parse(event.receivedAt));
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
    this.addRecord(batch, header, indexTerms(subject, this.hasher!), now);
    await batch.exec();
    await this.steps.appendNow(key, { kind: 'quarantined', error: `${entry.status}: ${entry.reason}` });
  }

  private addRecord(batch: ChainableCommander, header: TraceHeader, terms: IndexTerm[], atMs: number): void {
    const ttl = this.retentionSeconds;
    const traceKey = this.keys.trace(header.key);
    // HSETNX: a concurrent duplicate delivery keeps the first header.
    batch.hsetnx(traceKey, 'h', JSON.stringify(header)).expire(traceKey, ttl);
    // Entries past retention are trimmed on about one write in TRIM_EVERY (and on every search), not on
    // each write: it keeps a busy course's index bounded while saving the receiver's hot path a command per term.
    const trim = Math.random() * TRIM_EVERY < 1;
    for (const term of terms) {
      const index = this.keys.index(term.kind, term.value);
      batch.zadd(index, 'NX', atMs, header.key).expire(index, ttl);
      if (trim) batch.zremrangebyscore(index, '-inf', atMs - ttl * 1000);
    }
  }
}
