import type { JobsOptions } from 'bullmq';
import type { Config } from '../config.ts';
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

export interface EnrollmentJob extends JobMeta {
  eventType: 'course.student_enroll';
  enrollment: Enrollment;
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
 * Options every work job gets: bounded retries with exponential backoff and jitter, completed
 * jobs trimmed so Redis does not grow without bound, failed ones kept (their dead letter is the record).
 */
export function defaultJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.jobs.attempts,
    backoff: { type: 'exponential', delay: config.jobs.backoffMs, jitter: 0.5 },
    removeOnComplete: { count: config.jobs.completedKeep },
    removeOnFail: { count: 10_000 },
  };
}
