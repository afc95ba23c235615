import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { maskPersonalData } from '../privacy/mask.ts';
import type { CallObserver, JobCalls, RecordCall } from '../workers/deps.ts';
import { TraceKeys } from './keys.ts';

/** The calls of one attempt of one queue's job, as kept in the event's trace. */
export interface AttemptCalls {
  queue: string;
  attempt: number;
  calls: RecordCall[];
}

/** Hash field of one attempt's calls in the trace (one copy per record per attempt). */
const callsField = (queue: string, attempt: number) => `c:${queue}:${attempt}`;

/** Calls with every address and phone number in what was asked and answered masked (an API's error quotes them). */
export function maskCalls(calls: RecordCall[]): RecordCall[] {
  return maskPersonalData(calls) as RecordCall[];
}

/**
 * Keeps, in each event's trace, the HubSpot and SendGrid calls its job took part in: one field per
 * queue and attempt (a later write of the same attempt replaces it), for as long as the trace. The
 * callers mask what they pass; what is stored is masked again here, so no API's words land raw.
 */
export class TraceCallLog implements CallObserver {
  private readonly keys: TraceKeys;
  private readonly retentionSeconds: number;

  constructor(
    private readonly redis: Redis,
    config: Pick<Config, 'redis' | 'trace'>,
  ) {
    this.keys = new TraceKeys(config.redis.prefix);
    this.retentionSeconds = config.trace.retentionDays * 86_400;
  }

  async recorded(entries: JobCalls[]): Promise<void> {
    if (!entries.length) return;
    const batch = this.redis.pipeline();
    for (const e of entries) {
      const key = this.keys.trace(e.jobId);
      batch.hset(key, callsField(e.queue, e.attempt), JSON.stringify(maskCalls(e.calls))).expire(key, this.retentionSeconds);
    }
    await batch.exec();
  }
}

/** Reads the call fields of a trace hash back, by queue then attempt. */
export function readCalls(fields: [string, string][]): AttemptCalls[] {
  return fields
    .filter(([f]) => f.startsWith('c:'))
    .map(([f, json]) => {
      const cut = f.lastIndexOf(':');
      return { queue: f.slice(2, cut), attempt: Number(f.slice(cut + 1)), calls: JSON.parse(json) as RecordCall[] };
    })
    .sort((a, b) => (a.queue === b.queue ? a.attempt - b.attempt : a.queue < b.queue ? -1 : 1));
}
