import type { JobsOptions, KeepJobs, WorkerOptions } from 'bullmq';
import type { Config } from '../config.ts';
import { retryAfterOf } from '../api-failure.ts';
import type { Course, Enrollment, EventType } from '../events/types.ts';
import type { EmailEvent } from '../sendgrid/events.ts';

/** What every job carries besides its event data: where it came from and how to follow it. */
export interface JobMeta {
  /** Idempotency key of the delivery; also the job id. */
  key: string;
  eventType: EventType;
  /** ISO time the receiver accepted the webhook. */
  receivedAt: string;
  /** Follows the event through logs, from receiver to HubSpot and SendGrid. */
  correlationId: string;
}

/**
 * The data of an enrollment's `crm-contacts` and `email-welcome` jobs: the request it came with and
 * the enrollment as validated (extra fields kept). The intake's jobs leave the enrollment in the
 * event's pending record, shared by both (`PendingEvents.resolve` fills it in for the worker);
 * replayed dead letters and jobs queued by earlier versions carry it themselves. The job's id is its
 * idempotency key, its name the event type and its timestamp when it was received (earlier versions
 * also kept `key`, `eventType` and `receivedAt`).
 */
export interface EnrollmentJob extends Partial<Omit<JobMeta, 'correlationId'>> {
  correlationId: string;
  eventType?: 'course.student_enroll';
  enrollment?: Enrollment;
}

/** A batch of SendGrid events as received (one job per batch; each event deduplicated by the worker). */
export interface EmailEventsJob {
  /** Hash of the raw body: a batch SendGrid posts again is the same job. */
  key: string;
  receivedAt: string;
  correlationId: string;
  events: EmailEvent[];
}

/** A welcome email status to write to the student's HubSpot contact, through the contacts batches. */
export interface EmailStatusJob {
  kind: 'email-status';
  enrollmentId: string;
  email: string;
}

export interface CourseJob extends JobMeta {
  eventType: 'course.created' | 'course.updated';
  course: Course;
}

/**
 * The backoff of course-sync's jobs: BullMQ's exponential one with a jitter of half the delay,
 * computed by the workers (`WORKER_SETTINGS`) so that a job's options stay short (at most 64 bytes,
 * which keeps a waiting job in Redis' compact hash encoding: about half the memory).
 */
const JITTERED = 'jittered';
const JITTER = 0.5;

/** What each job keeps in its own options: bounded retries with exponential backoff and jitter. */
export function jobAttemptOptions(config: Config): Pick<JobsOptions, 'attempts' | 'backoff'> {
  return { attempts: config.jobs.attempts, backoff: { type: JITTERED, delay: config.jobs.backoffMs } };
}

/** Delay before attempt `attemptsMade + 1`: `delay` doubled per attempt made, less up to half of it at random (as BullMQ's exponential backoff with jitter 0.5). */
export function jitteredDelay(attemptsMade: number, delay: number, random = Math.random()): number {
  const max = Math.round(2 ** (attemptsMade - 1) * delay);
  return Math.floor(random * max * JITTER + max * (1 - JITTER));
}

/**
 * Settings every worker of a work queue runs with: the `jittered` backoff of the jobs' options,
 * never shorter than the wait the API asked for (Retry-After, carried by the error).
 */
export const WORKER_SETTINGS: NonNullable<WorkerOptions['settings']> = {
  backoffStrategy: (attemptsMade, type, err, job) => {
    if (type !== JITTERED) throw new Error(`Unknown backoff strategy ${type}`);
    const backoff = job?.opts.backoff;
    return Math.max(
      jitteredDelay(attemptsMade, typeof backoff === 'object' ? (backoff.delay ?? 0) : 0),
      retryAfterOf(err),
    );
  },
};

/**
 * How many finished jobs a queue keeps: the last COMPLETED_JOBS_KEEP completed ones (so Redis does
 * not grow without bound) and the last 10,000 failed ones (their dead letter is the record). Every
 * worker applies it to jobs whose own options say nothing (the intake's jobs).
 */
export function jobRetention(config: Config): { removeOnComplete: KeepJobs; removeOnFail: KeepJobs } {
  return { removeOnComplete: { count: config.jobs.completedKeep }, removeOnFail: { count: 10_000 } };
}
