import { EmailEventLog, type EmailStatusRecord } from '../sendgrid/email-status.ts';
import type { AuditEntry } from '../audit/trail.ts';
import { enrollmentKey } from '../events/idempotency-key.ts';
import type { TraceRecord } from '../trace/model.ts';
import type { PrivacyDeps } from './forget.ts';
import { Student, type StudentDetails, type StudentQuery } from './student.ts';
import { findStudentRecords, type StudentRecord } from './student-records.ts';

/** Everything course-sync holds about one student, as one document (a subject access request). */
export interface StudentExport {
  exportedAt: string;
  /** Their addresses, user ids, names and phone numbers, and each enrollment, as the records hold them. */
  student: StudentDetails;
  /** The welcome email of each enrollment: its status, when, why, opens and clicks. */
  welcomeEmails: ({ enrollmentId: string } & EmailStatusRecord)[];
  /** What happened to each of their events, step by step, with each call's part (also while their jobs still run). */
  traces: TraceRecord[];
  /** Whether their address is on the suppression list. */
  suppressed: boolean;
  /** Every record naming them, where it is and what it holds. */
  records: { kind: string; where: string; content: unknown }[];
}

/** The keys of their traces: those found among the records, and each enrollment's (whose header waits in its pending record while its jobs run). */
function traceKeys(deps: PrivacyDeps, records: StudentRecord[], enrollmentIds: string[]): string[] {
  const ofTrace = deps.traces.keys.trace('');
  const found = records
    .filter((r) => r.kind === 'traces' && r.where.startsWith(ofTrace))
    .map((r) => r.where.slice(ofTrace.length));
  return [...new Set([...found, ...enrollmentIds.map(enrollmentKey)])];
}

/** Gathers every record of the student (read only: nothing changes). */
export async function exportStudent(deps: PrivacyDeps, query: StudentQuery): Promise<StudentExport> {
  const student = new Student(query, deps.hasher);
  const records = await findStudentRecords(deps, student);
  const enrollmentIds = [...student.enrollmentIds].sort();
  const statuses = await new EmailEventLog(deps.redis, deps.prefix, 0).read(enrollmentIds);
  const emails = [...student.emails];
  return {
    exportedAt: new Date().toISOString(),
    student: student.details(),
    welcomeEmails: enrollmentIds.map((enrollmentId, i) => ({ enrollmentId, ...statuses[i]! })).filter((s) => s.status),
    traces: (await deps.traces.load(traceKeys(deps, records, enrollmentIds))).filter((t) => t.header),
    suppressed: emails.length > 0 && (await deps.suppression.has(emails)).some(Boolean),
    records: records.map(({ kind, where, content }) => ({ kind, where, content })),
  };
}

/** The audit entry of an export: how many records, never the address. */
export function exportAudit(doc: StudentExport): Pick<AuditEntry, 'action' | 'count' | 'detail'> {
  return {
    action: 'export student',
    count: doc.records.length,
    detail: `${doc.student.enrollments.length} enrollment(s)`,
  };
}
