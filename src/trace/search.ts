import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Quarantine } from '../quarantine/store.ts';
import { maskText } from '../privacy/text.ts';
import { maskCalls } from './calls.ts';
import { locate, type Journey, type JourneyLinks } from './journey.ts';
import { maskStepTexts, type TraceRecord } from './model.ts';
import { SEARCH_LIMIT, TraceReader } from './reader.ts';

/** A trace as shown: addresses and phone numbers masked in its steps and calls, whatever an older version stored. */
function shown(record: TraceRecord): TraceRecord {
  return {
    ...record,
    steps: record.steps.map(maskStepTexts),
    calls: record.calls?.map((a) => ({ ...a, calls: maskCalls(a.calls) })),
  };
}

export interface TraceSearchDeps {
  redis: Redis;
  config: Pick<Config, 'redis' | 'trace'>;
  queues: QueueSet;
  quarantine?: Quarantine;
  /** Links of each job and quarantine entry (the admin pages); none: journeys carry no `url`. */
  links?: JourneyLinks;
}

/** The one search behind the CLI, the admin API and the admin page: matching journeys, newest first. */
export class TraceSearch {
  private readonly reader: TraceReader;

  constructor(private readonly deps: TraceSearchDeps) {
    this.reader = new TraceReader(deps.redis, deps.config);
  }

  /** Journeys of the events matching an enrollment id, course id, plan id, e-mail or idempotency key; their texts masked. */
  async find(query: string, limit = SEARCH_LIMIT): Promise<Journey[]> {
    const records = (await this.reader.search(query, limit)).map(shown);
    const journeys = await Promise.all(
      records.map((r) => locate(r, this.deps.queues, this.deps.quarantine, this.deps.links)),
    );
    // A quarantined delivery's position quotes the refusal's reason.
    return journeys.map((j) => ({
      ...j,
      now: j.now.map((p) => (p.detail ? { ...p, detail: maskText(p.detail) } : p)),
    }));
  }
}
