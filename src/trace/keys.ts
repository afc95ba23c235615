import type { IndexKind } from './model.ts';
import { recordKey } from '../redis/keys.ts';

/** Redis keys of the trace store, all under the queue prefix (one {hash-tag} slot on a cluster). */
export class TraceKeys {
  constructor(readonly prefix: string) {}

  /** The hash holding one event's header (field `h`) and steps (fields `s:<order>`); earlier versions kept its calls there too (`c:<queue>:<attempt>`). */
  trace(key: string): string {
    return recordKey(this.prefix, 'trace', key);
  }

  /**
   * The hash holding the HubSpot and SendGrid call details of trace `key` (fields `<queue>:<attempt>`,
   * packed like the trace once it is finished): kept CALL_DETAIL_RETENTION_DAYS, apart from the journey.
   */
  calls(key: string): string {
    return recordKey(this.prefix, 'calls', key);
  }

  /** Sorted set of trace keys found by one value (score: received at, ms). */
  index(kind: IndexKind, value: string): string {
    return recordKey(this.prefix, 'trace-idx', kind, encodeURIComponent(value.slice(0, 200)));
  }

  /** Where the tracer resumes reading a queue's event stream. */
  cursor(queue: string): string {
    return recordKey(this.prefix, 'trace-cursor', queue);
  }
}
