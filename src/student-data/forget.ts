import type { AuditEntry } from '../audit/trail.ts';
import type { GdprDeleteResult } from '../hubspot/gdpr-delete.ts';
import { maskEmail } from '../privacy/email.ts';
import type { PiiHasher } from '../privacy/pii-hash.ts';
import { Student, type StudentQuery } from './student.ts';
import { countByKind, findStudentRecords, type StudentStores } from './student-records.ts';
import type { SuppressionList } from '../privacy/suppression.ts';
import type { TraceReader } from '../trace/reader.ts';

export interface PrivacyDeps extends StudentStores {
  hasher: PiiHasher;
  suppression: SuppressionList;
  /** Their traces as search reads them (export). */
  traces: TraceReader;
  /** Asks HubSpot to delete a contact for good (GDPR delete); needed for `hubspot: true`. */
  gdprDelete?: (email: string) => Promise<GdprDeleteResult>;
}

export interface ForgetOptions {
  /** Lists what would be removed; removes nothing. */
  dryRun?: boolean;
  /** Also asks HubSpot to delete the student's contact permanently. */
  hubspot?: boolean;
  /** Keeps a keyed hash of the student's addresses so later events for them are not processed. */
  suppress?: boolean;
}

export interface ForgetReport {
  dryRun: boolean;
  /** Records removed (or, dry run, to remove) per kind. */
  removed: Record<string, number>;
  total: number;
  /** Where each was (Redis key or queue/job id; never an address). */
  records: { kind: string; where: string }[];
  /** Records still naming the student after the erasure: 0 proves it (always 0 on a dry run). */
  remaining: number;
  /** How many addresses and enrollments of the student were found. */
  addresses: number;
  enrollments: number;
  /** What HubSpot did with the GDPR deletes: contacts deleted, addresses without one (blocklisted), and per address. */
  hubspot?: HubSpotErasure;
  /** Addresses newly suppressed. */
  suppressed?: number;
}

/** What HubSpot did with the GDPR delete of each of the student's addresses. */
export interface HubSpotErasure {
  /** Contacts deleted for good. */
  deleted: number;
  /** Addresses HubSpot held no contact under: it blocklisted them. */
  'not found': number;
  /** Per address (masked): the contact deleted, or none, and that in words. */
  addresses: { email: string; contactId?: string; said: string }[];
}

/** One address's outcome in words: "HubSpot contact 101 deleted", or that there was none and HubSpot blocklisted the address. */
export function describeGdprDelete(result: GdprDeleteResult): string {
  return result.contactId
    ? `HubSpot contact ${result.contactId} deleted`
    : 'no HubSpot contact; HubSpot blocklisted the address';
}

/**
 * Removes every copy of a student's personal data from Redis (see findStudentRecords), and with
 * the options asks HubSpot to delete their contact and suppresses their addresses. In that order:
 * suppression first (nothing new is processed meanwhile), HubSpot before Redis (should HubSpot
 * fail, nothing is erased yet and a second run still knows every address). Then looks again: what
 * is still found is reported as `remaining`. Running it twice removes nothing more.
 */
export async function forgetStudent(
  deps: PrivacyDeps,
  query: StudentQuery,
  opts: ForgetOptions = {},
): Promise<ForgetReport> {
  const student = new Student(query, deps.hasher);
  const records = await findStudentRecords(deps, student);
  const emails = [...student.emails];
  const report: ForgetReport = {
    dryRun: !!opts.dryRun,
    removed: countByKind(records),
    total: records.length,
    records: records.map((r) => ({ kind: r.kind, where: r.where })),
    remaining: 0,
    addresses: emails.length,
    enrollments: student.enrollmentIds.size,
  };
  if (opts.dryRun) return report;
  if (opts.suppress) {
    report.suppressed = 0;
    for (const email of emails) if (await deps.suppression.add(email)) report.suppressed++;
  }
  if (opts.hubspot) {
    if (!deps.gdprDelete) throw new Error('asking HubSpot to delete a contact needs HUBSPOT_ACCESS_TOKEN');
    report.hubspot = { deleted: 0, 'not found': 0, addresses: [] };
    for (const email of emails) {
      const result = await deps.gdprDelete(email);
      report.hubspot[result.contactId ? 'deleted' : 'not found']++;
      report.hubspot.addresses.push({
        email: maskEmail(email),
        ...(result.contactId && { contactId: result.contactId }),
        said: describeGdprDelete(result),
      });
    }
  }
  for (const record of records) await record.erase();
  report.remaining = (await findStudentRecords(deps, student)).length;
  return report;
}

/** The audit entry of an erasure: kinds and counts, never the address. */
export function erasureAudit(report: ForgetReport): Pick<AuditEntry, 'action' | 'count' | 'detail'> {
  const parts = Object.entries(report.removed).map(([kind, n]) => `${kind} ${n}`);
  if (report.hubspot) {
    const ids = report.hubspot.addresses.flatMap((a) => (a.contactId ? [a.contactId] : []));
    parts.push(
      `HubSpot contacts deleted ${report.hubspot.deleted}${ids.length ? ` (${ids.join(', ')})` : ''}, addresses without a contact blocklisted by HubSpot ${report.hubspot['not found']}`,
    );
  }
  if (report.suppressed !== undefined) parts.push(`addresses suppressed ${report.suppressed}`);
  parts.push(`left ${report.remaining}`);
  return { action: 'forget student', count: report.total, detail: parts.join(', ') };
}
