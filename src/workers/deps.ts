import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { DeadLetters } from '../queues/dead-letter.ts';
import type { QueueSet } from '../queues/registry.ts';

/** What every worker is given; clients to HubSpot and SendGrid are built from `config`. */
export interface WorkerDeps {
  config: Config;
  log: Logger;
  /** A fresh worker-role connection (BullMQ workers need their own blocking connection). */
  connect(): Redis;
  /** Shared worker-role connection for course-sync's own records (markers, attempt logs). */
  redis: Redis;
  queues: QueueSet;
  deadLetters: DeadLetters;
  metrics: Metrics;
}

/** A running worker: closing it finishes the jobs in hand and stops taking new ones. */
export interface RunningWorker {
  name: string;
  close(): Promise<void>;
}
