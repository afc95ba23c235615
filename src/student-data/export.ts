import { EmailEventLog, type EmailStatusRecord } from '../sendgrid/email-status.ts';
import type { AuditEntry } from '../admin/audit.ts';
import { TraceKeys } from '../trace/keys.ts';
import { headerOf, sortSteps, type TraceHeader, type TraceStep } from '../trace/model.ts';
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
  /** What happened to each of their events, step by step. */
  traces: { header: TraceHeader; steps: TraceStep[] }[];
  /** Whether their address is on the suppression list. */
  suppressed: boolean;
  /** Every record naming them, where it is and what it holds. */
  records: { kind: string; where: string; content: unknown }[];
}

function traceOf(record: StudentRecord, prefix: string): StudentExport['traces'][number] | undefined {
  if (record.kind !== 'traces') return undefined;
  const hash = record.content as Record<string, string>;
  const header = headerOf(record.where.slice(new TraceKeys(prefix).trace('').length), hash);
  return header ? { header, steps: sortSteps(Object.entries(hash).filter(([f]) => f.startsWith('s:'))) } : undefined;
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
    traces: records.map((r) => traceOf(r, deps.prefix)).filter((t) => !!t),
    suppressed: emails.length > 0 && (await deps.suppression.has(emails)).some(Boolean),
    records: records.map(({ kind, where, content }) => ({ kind, where, content })),
  };
}

/** The audit entry of an export: how many records, never the address. */
export function exportAudit(doc: StudentExport): Pick<AuditEntry, 'action' | 'count' | 'detail'> {
  return { action: 'export student', count: doc.records.length, detail: `${doc.student.enrollments.length} enrollment(s)` };
}
