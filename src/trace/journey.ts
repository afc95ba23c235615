import { EVENT_QUEUES, type WorkQueueName } from '../queues/names.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Quarantine } from '../quarantine/store.ts';
import type { TraceRecord } from './model.ts';
import { whereabouts, type Whereabouts } from './whereabouts.ts';

/** Where one of an event's jobs is now, with the page that shows it. */
export interface Position {
  queue: string;
  state: Whereabouts;
  detail?: string;
  /** The job's page in bull-board (or the quarantine entry in the admin API). */
  url?: string;
}

/** A trace with where its jobs are now. */
export interface Journey extends TraceRecord {
  now: Position[];
}

/** Where ops open a job or a quarantine entry; the console and the CLI supply them (see console-links.ts). */
export interface JourneyLinks {
  /** The page of job `jobId` of queue `queueName` (a work or dead-letter queue). */
  job(queueName: string, jobId: string): string;
  /** The page of a quarantine entry. */
  quarantine(id: string): string;
}

function isWorkQueue(name: string): name is WorkQueueName {
  return (EVENT_QUEUES as string[]).includes(name);
}

/** The queues a trace touched: those it was sent to, plus any its steps name. */
function queuesOf(record: TraceRecord): WorkQueueName[] {
  const names = new Set([...(record.header?.queues ?? []), ...record.steps.map((s) => s.queue ?? '')]);
  return [...names].filter(isWorkQueue);
}

/** Adds where each job of `record` is now, read from the live queues (and quarantine). */
export async function locate(
  record: TraceRecord,
  queues: QueueSet,
  quarantine?: Quarantine,
  links?: JourneyLinks,
): Promise<Journey> {
  const now: Position[] = [];
  const quarantineId = record.header?.quarantineId;
  if (quarantineId) {
    const kept = await quarantine?.get(quarantineId);
    now.push(
      kept
        ? { queue: 'quarantine', state: 'quarantine', detail: kept.reason, url: links?.quarantine(quarantineId) }
        : { queue: 'quarantine', state: 'gone', detail: 'left quarantine (replayed or dropped)' },
    );
  }
  for (const queue of queuesOf(record)) {
    const [job, letter] = await Promise.all([
      queues.work[queue].getJob(record.key),
      queues.deadLetter[queue].getJob(record.key),
    ]);
    const state = job ? await job.getState() : undefined;
    const where = whereabouts(
      { state: state === 'unknown' ? undefined : state, attemptsMade: job?.attemptsMade, inDeadLetter: !!letter },
      record.steps.filter((s) => s.queue === queue),
    );
    const url = !links
      ? undefined
      : letter
        ? links.job(queues.deadLetter[queue].name, record.key)
        : job
          ? links.job(queue, record.key)
          : undefined;
    now.push({ queue, ...where, url });
  }
  return { ...record, now };
}
