import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { enrollmentKey } from '../events/idempotency-key.ts';
import { dayOf, DayIndex, shortEmailHash } from './day-index.ts';
import { TraceKeys } from './keys.ts';
import type { IndexTerm, TraceHeader } from './model.ts';
import { resolvePiiHasher, type PiiHasher } from '../privacy/pii-hash.ts';
import { StepLog } from './step-log.ts';
import { eventHeader, indexTerms, subjectFields, subjectOf } from './subject.ts';
import type { AcceptedEvent, IntakeObserver, QuarantinedDelivery, RecordWrite } from '../queues/intake.ts';
import { applyRecordWrites } from '../queues/record-write.ts';

/**
 * The writing side of the trace store for the intake: the index entries of each accepted event
 * (written by the intake's own script with the event's jobs) and its header (written with them, or
 * for an enrollment when its last job is done: until then the header is read from its pending
 * record), duplicate deliveries and quarantined ones. Retention is TRACE_RETENTION_DAYS, refreshed
 * by every write to a trace.
 */
export class TraceWriter implements IntakeObserver {
  readonly keys: TraceKeys;
  readonly steps: StepLog;
  private readonly retentionSeconds: number;
  private readonly days: DayIndex;
  private hasher?: PiiHasher;
  private resolving?: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly config: Pick<Config, 'redis' | 'trace'>,
  ) {
    this.keys = new TraceKeys(config.redis.prefix);
    this.retentionSeconds = config.trace.retentionDays * 86_400;
    this.steps = new StepLog(redis, this.keys, this.retentionSeconds);
    this.days = new DayIndex(config.redis.prefix, config.trace.retentionDays);
  }

  /** Resolves the e-mail hash key (once; later calls return at once). */
  ready(): Promise<void> {
    if (this.hasher) return Promise.resolve();
    return (this.resolving ??= resolvePiiHasher(
      this.redis,
      this.config.redis.prefix,
      this.config.trace.piiHashKey,
    ).then(
      (h) => void (this.hasher = h),
      (err) => {
        this.resolving = undefined;
        throw err;
      },
    ));
  }

  /** The index entries of an accepted event; call after `ready()`. */
  accepted(event: AcceptedEvent): RecordWrite[] {
    if (!this.hasher) throw new Error('TraceWriter.accepted before ready()');
    return this.indexes(
      event.key,
      indexTerms(subjectOf(event.type, event.data), this.hasher),
      Date.parse(event.receivedAt),
    );
  }

  /** The header of an accepted event's trace. */
  finalRecord(event: AcceptedEvent): RecordWrite {
    return this.header(eventHeader(event));
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
    const header: TraceHeader = {
      key,
      eventType: entry.eventType,
      receivedAt: new Date(now).toISOString(),
      queues: [],
      quarantineId: entry.id,
      ...subjectFields(subject),
    };
    await applyRecordWrites(this.redis, [
      this.header(header),
      ...this.indexes(key, indexTerms(subject, this.hasher!), now),
    ]);
    await this.steps.appendNow(key, { kind: 'quarantined', error: `${entry.status}: ${entry.reason}` });
  }

  /** The trace hash's header (unless one is there already: the first delivery's stays). */
  private header({ key, ...rest }: TraceHeader): RecordWrite {
    return {
      kind: 'hash',
      key: this.keys.trace(key),
      ttlSeconds: this.retentionSeconds,
      fields: [['h', JSON.stringify(rest)]],
    };
  }

  /**
   * One index entry per term, in the records of its day (day-index.ts), which expire whole. An
   * enrollment's own trace is found by its key, which its id gives: no enrollment index entry.
   */
  private indexes(key: string, terms: IndexTerm[], atMs: number): RecordWrite[] {
    const day = dayOf(atMs);
    const expireAt = this.days.expireAt(atMs);
    return terms
      .filter((term) => !(term.kind === 'enrollment' && enrollmentKey(term.value) === key))
      .map((term): RecordWrite =>
        term.kind === 'email'
          ? { kind: 'field', key: this.days.emailKey(day), expireAt, field: shortEmailHash(term.value), member: key }
          : { kind: 'list', key: this.days.listKey(term.kind, term.value, day), expireAt, member: key },
      );
  }
}
