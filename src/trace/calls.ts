import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { maskPersonalData } from '../privacy/mask.ts';
import { QUEUES } from '../queues/names.ts';
import type { CallObserver, JobCalls, RecordCall } from '../workers/deps.ts';
import { TraceKeys } from './keys.ts';
import type { TraceRecord, TraceStep } from './model.ts';

/** The calls of one attempt of one queue's job, as kept with the event's trace. */
export interface AttemptCalls {
  queue: string;
  attempt: number;
  calls: RecordCall[];
}

/** Field of one attempt's calls in the calls hash (one copy per record per attempt). */
const callsField = (queue: string, attempt: number) => `${queue}:${attempt}`;

/** Where earlier versions kept each attempt's calls: in the trace hash itself, fields `c:<queue>:<attempt>`. */
export const OLD_CALLS_FIELD = 'c:';

/** Calls with every address and phone number in what was asked and answered masked (an API's error quotes them). */
export function maskCalls(calls: RecordCall[]): RecordCall[] {
  return maskPersonalData(calls) as RecordCall[];
}

/**
 * Keeps the HubSpot and SendGrid calls each event's jobs took part in, beside its trace: one hash
 * per event (TraceKeys.calls), one field per queue and attempt (a later write of the same attempt
 * replaces it), kept CALL_DETAIL_RETENTION_DAYS after the last call — shorter than the journey,
 * which keeps its steps TRACE_RETENTION_DAYS. The callers mask what they pass; what is stored is
 * masked again here, so no API's words land raw.
 */
export class TraceCallLog implements CallObserver {
  private readonly keys: TraceKeys;
  private readonly retentionSeconds: number;

  constructor(
    private readonly redis: Redis,
    config: Pick<Config, 'redis' | 'trace'>,
    /** Packs the calls of trace `key` again later (its jobs were done: nothing else will). */
    private readonly packLater: (key: string) => void = () => undefined,
  ) {
    this.keys = new TraceKeys(config.redis.prefix);
    this.retentionSeconds = config.trace.callRetentionDays * 86_400;
  }

  async recorded(entries: JobCalls[]): Promise<void> {
    if (!entries.length) return;
    const batch = this.redis.pipeline();
    for (const e of entries) {
      const key = this.keys.calls(e.jobId);
      batch
        .hset(key, callsField(e.queue, e.attempt), JSON.stringify(maskCalls(e.calls)))
        .expire(key, this.retentionSeconds);
    }
    await batch.exec();
    for (const e of entries) if (e.late) this.packLater(e.jobId);
  }
}

/**
 * Reads call fields back, by queue then attempt: those of a calls hash (`<queue>:<attempt>`), or,
 * with `prefix` `c:`, those an earlier version kept in the trace hash.
 */
export function readCalls(fields: [string, string][], prefix = ''): AttemptCalls[] {
  return fields
    .filter(([f]) => f.startsWith(prefix) && /:\d+$/.test(f))
    .map(([f, json]) => {
      const cut = f.lastIndexOf(':');
      return {
        queue: f.slice(prefix.length, cut),
        attempt: Number(f.slice(cut + 1)),
        calls: JSON.parse(json) as RecordCall[],
      };
    })
    .sort((a, b) => (a.queue === b.queue ? a.attempt - b.attempt : a.queue < b.queue ? -1 : 1));
}

/** Both sets of calls, one per queue and attempt (`newer` wins), in order. */
export function mergeCalls(older: AttemptCalls[], newer: AttemptCalls[]): AttemptCalls[] {
  const seen = new Set(newer.map((a) => callsField(a.queue, a.attempt)));
  return [...older.filter((a) => !seen.has(callsField(a.queue, a.attempt))), ...newer].sort((a, b) =>
    a.queue === b.queue ? a.attempt - b.attempt : a.queue < b.queue ? -1 : 1,
  );
}

/** Queues whose attempts call HubSpot or SendGrid, and the steps that say an attempt was made. */
const CALLING_QUEUES = new Set<string>([QUEUES.contacts, QUEUES.email, QUEUES.products]);
const ATTEMPT_KINDS = new Set<TraceStep['kind']>(['completed', 'failed', 'retrying', 'dead-lettered']);

/**
 * The call details shown with a journey: those of its calls hash, and those an earlier version kept
 * in the trace itself while younger than CALL_DETAIL_RETENTION_DAYS (`retentionDays`). When the
 * journey's jobs made calls longer ago than that and none are left, says so (they expired; the
 * journey stays TRACE_RETENTION_DAYS). The journey's age is the larger of the clock's (`now` minus
 * its last attempt) and its trace's (`sinceLastStepMs`: TRACE_RETENTION_DAYS minus its TTL).
 */
export function journeyCalls(
  steps: TraceStep[],
  kept: { newer: AttemptCalls[]; older: AttemptCalls[] },
  retentionDays: number,
  now: number,
  sinceLastStepMs: number,
): Pick<TraceRecord, 'calls' | 'callsExpiredAfterDays'> {
  const attempts = steps.filter((s) => s.queue && CALLING_QUEUES.has(s.queue) && ATTEMPT_KINDS.has(s.kind));
  if (!attempts.length) return { calls: mergeCalls(kept.older, kept.newer) };
  const age = Math.max(now - Math.max(...attempts.map((s) => Date.parse(s.at))), sinceLastStepMs);
  const expired = age >= retentionDays * 86_400_000;
  const calls = mergeCalls(expired ? [] : kept.older, kept.newer);
  return calls.length || !expired ? { calls } : { calls, callsExpiredAfterDays: retentionDays };
}
