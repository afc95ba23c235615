import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { PendingEvents } from '../queues/pending-events.ts';
import type { DeadLetters } from '../queues/dead-letter.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { SendsByAddress } from '../sendgrid/event-match.ts';

/**
 * One HubSpot or SendGrid call as far as one record took part in it: the record's own part of the
 * request (the properties written, the template and recipient) and of the answer (status, id,
 * per-record error), with e-mail and phone already masked — never the neighbours in its batch.
 */
export interface RecordCall {
  api: 'hubspot' | 'sendgrid';
  operation: string;
  request: Record<string, unknown>;
  response: Record<string, unknown>;
}

/** The calls of one job's attempt. */
export interface JobCalls {
  queue: string;
  jobId: string;
  /** The attempt (1 = first) these calls belong to. */
  attempt: number;
  calls: RecordCall[];
  /** Made after the event's own jobs were done (a welcome email status write): its trace may be packed already. */
  late?: boolean;
}

/** Who keeps the calls each job took part in (the trace store); told after each attempt, never changes an outcome. */
export interface CallObserver {
  recorded(entries: JobCalls[]): Promise<void>;
}

/** A SendGrid event applied to an enrollment's welcome email. */
export interface ObservedEmailEvent {
  /** SendGrid's sg_event_id. */
  id: string;
  enrollmentId: string;
  /** SendGrid's event type (processed, delivered, bounce, ...). */
  event: string;
  /** When it happened (ms). */
  at: number;
  /** The status it moved the welcome email to, if it did. */
  status?: string;
  /** Why, for bounces and drops. */
  reason?: string;
}

/** Who shows the events (the trace and the overview's counters); told after each batch, never changes an outcome. */
export interface EmailEventsObserver {
  observed(events: ObservedEmailEvent[]): Promise<void>;
}

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
  /** Enrollments' data, kept once for both their jobs until both are done. */
  pending: PendingEvents;
  metrics: Metrics;
  /** Keeps each job's calls with its trace ("why isn't this student in HubSpot?"); none: not kept. */
  calls?: CallObserver;
  /** Shows SendGrid's events in the traces and the overview; none: they are only applied. */
  emailEvents?: EmailEventsObserver;
  /** Finds the enrollments made with an address, for SendGrid events that carry neither message id nor custom_args (asynchronous bounces). */
  sendsByAddress?: SendsByAddress;
}

/** A running worker: closing it finishes the jobs in hand and stops taking new ones. */
export interface RunningWorker {
  name: string;
  close(): Promise<void>;
}
