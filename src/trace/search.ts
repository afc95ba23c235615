import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Quarantine } from '../receiver/quarantine.ts';
import { locate, type Journey, type JourneyLinks } from './journey.ts';
import { SEARCH_LIMIT, TraceReader } from './reader.ts';

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

  /** Journeys of the events matching an enrollment id, course id, plan id, e-mail or idempotency key. */
  async find(query: string, limit = SEARCH_LIMIT): Promise<Journey[]> {
    const records = await this.reader.search(query, limit);
    return Promise.all(records.map((r) => locate(r, this.deps.queues, this.deps.quarantine, this.deps.links)));
  }
}
