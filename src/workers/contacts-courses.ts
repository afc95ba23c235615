import type { Job } from 'bullmq';
import type { ContactOutcome } from '../hubspot/contacts-sync.ts';
import type { CourseFacts } from '../hubspot/course-records.ts';
import type { CourseRecords, LinkOutcome } from '../hubspot/courses-sync.ts';
import { maskText } from '../privacy/text.ts';
import type { RecordCall } from './deps.ts';

/** One enrollment of a contacts batch, once its contact was written (or not). */
export interface EnrollmentLink {
  job: Job;
  course: CourseFacts;
  outcome: ContactOutcome;
}

/** What linking did for one job: an outcome that replaces its contact's (the association failed), and its calls for the trace. */
export interface JobLink {
  outcome?: ContactOutcome;
  calls: RecordCall[];
}

const hubspot = (
  operation: string,
  request: Record<string, unknown>,
  response: Record<string, unknown>,
): RecordCall => ({ api: 'hubspot', operation, request, response });

/** A job's calls and outcome for its link (a skipped link made no request: no call, no change). */
function jobLink(contactId: string, courseId: string, l: LinkOutcome): JobLink | undefined {
  if (l.status === 'skipped') return undefined;
  const calls: RecordCall[] = [];
  if (l.status === 'associated' && l.written)
    calls.push(
      hubspot(
        'courses.upsert',
        { courseId, properties: l.written.properties },
        { courseRecordId: l.written.recordId, created: l.written.created },
      ),
    );
  const recordId = l.status === 'associated' || l.status === 'retry' ? l.courseRecordId : undefined;
  const request = { contactId, courseId, ...(recordId ? { courseRecordId: recordId } : {}) };
  if (l.status === 'associated')
    return { calls: [...calls, hubspot('associations.create', request, { outcome: 'associated' })] };
  // Without a record id the course record was not written: that was the call that failed.
  calls.push(
    hubspot(recordId ? 'associations.create' : 'courses.upsert', request, {
      outcome: l.status,
      error: maskText(l.message),
    }),
  );
  return { outcome: { status: l.status, message: l.message }, calls };
}

/**
 * Associates the written contacts of a contacts batch with their course records (courses-sync.ts)
 * and says, per job, what changes: a failed association fails the job (retried, or dead-lettered
 * when HubSpot refused the course record), and the course record and association calls join its
 * trace. Whole-call failures are thrown, as from the contact upsert.
 */
export async function linkCourses(records: CourseRecords, links: EnrollmentLink[]): Promise<Map<string, JobLink>> {
  const written = links.flatMap((l) =>
    l.outcome.status === 'written' ? [{ key: l.job.id!, contactId: l.outcome.contactId, course: l.course }] : [],
  );
  const results = await records.link(written);
  const out = new Map<string, JobLink>();
  for (const w of written) {
    const j = jobLink(w.contactId, w.course.id, results.get(w.key)!);
    if (j) out.set(w.key, j);
  }
  return out;
}
