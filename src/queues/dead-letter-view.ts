import type { Job } from 'bullmq';
import { maskText } from '../privacy/text.ts';
import type { DeadLetter } from './dead-letter.ts';
import { WORK_QUEUES, deadLetterQueueName, type WorkQueueName } from './names.ts';

/** One dead letter as ops see it in a list: which event, why it died and when. */
export interface DeadLetterSummary {
  queue: WorkQueueName;
  id: string;
  /** The enrollment id or course id the job came from (the job id when neither is known). */
  eventId: string;
  eventType: string;
  lastError: string;
  lastErrorAt: string;
  attempts: number;
  deadAt: string;
  unrecoverable: boolean;
}

/** The work queue named `name`, also accepting its dead-letter name (`crm-contacts-dlq`). */
export function resolveWorkQueue(name: string): WorkQueueName | undefined {
  return WORK_QUEUES.find((q) => q === name || deadLetterQueueName(q) === name);
}

/** The enrollment id or course id carried by a job's data, or undefined. */
export function eventIdOf(data: unknown): string | undefined {
  const d = (data ?? {}) as { enrollment?: { id?: unknown }; course?: { id?: unknown } };
  const id = d.enrollment?.id ?? d.course?.id;
  return id === undefined || id === null ? undefined : String(id);
}

/**
 * A dead letter as shown (console, admin API, CLI): every attempt's error with addresses and phone
 * numbers masked, whatever an older version stored. The job data stays whole (a replay needs it).
 */
export function shownLetter(letter: DeadLetter): DeadLetter {
  return { ...letter, errors: letter.errors.map((e) => ({ ...e, message: maskText(e.message) })) };
}

/** Condenses a dead-letter job to its list line (its error masked). */
export function summarizeDeadLetter(job: Job<DeadLetter>): DeadLetterSummary {
  const letter = job.data;
  const last = letter.errors.at(-1);
  const original = (letter.data ?? {}) as { eventType?: string };
  return {
    queue: letter.queue,
    id: job.id ?? letter.jobId,
    eventId: eventIdOf(letter.data) ?? letter.jobId,
    eventType: original.eventType ?? letter.name,
    lastError: last ? maskText(last.message) : '(no error recorded)',
    lastErrorAt: last?.at ?? letter.deadAt,
    attempts: letter.attemptsMade,
    deadAt: letter.deadAt,
    unrecoverable: letter.unrecoverable,
  };
}
