import type Router from '@koa/router';
import type { Context } from 'koa';
import { HubSpotCallError } from '../hubspot/errors.ts';
import { HttpError } from '../http-error.ts';
import { maskEmail } from '../privacy/email.ts';
import { maskText } from '../privacy/text.ts';
import { exportAudit, exportStudent } from '../student-data/export.ts';
import { erasureAudit, forgetStudent, type PrivacyDeps } from '../student-data/forget.ts';
import { parseStudentQuery, type StudentQuery } from '../student-data/student.ts';
import type { AuditEntry } from '../audit/trail.ts';
import { jsonBody } from './json-body.ts';

/** Opens the privacy deps on first use (the PII hash key is read from Redis then). */
export type PrivacyProvider = () => Promise<PrivacyDeps>;

function studentOf(value: unknown): StudentQuery {
  if (typeof value !== 'string')
    throw new HttpError(400, 'Give {"student": "<e-mail address, enrollment id or user id>"}');
  try {
    return parseStudentQuery(value);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}

function flag(body: Record<string, unknown>, name: string): boolean {
  const v = body[name];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new HttpError(400, `"${name}" must be true or false`);
  return v;
}

/**
 * The privacy routes of the admin API (POST only, so operators only — the role guard refuses
 * viewers): forget a student, export what is held about them, lift a suppression. Each is recorded
 * in the audit trail with kinds and counts, never the address.
 */
export function privacyRoutes(
  router: Router,
  deps: {
    privacy: PrivacyProvider;
    record(ctx: Context, entry: Omit<AuditEntry, 'at' | 'who' | 'via'>): Promise<void>;
  },
): void {
  router.post('/privacy/forget', async (ctx) => {
    const body = await jsonBody(ctx);
    const query = studentOf(body.student);
    const opts = { dryRun: flag(body, 'dryRun'), hubspot: flag(body, 'hubspot'), suppress: flag(body, 'suppress') };
    const privacy = await deps.privacy();
    if (opts.hubspot && !privacy.gdprDelete)
      throw new HttpError(400, 'HUBSPOT_ACCESS_TOKEN is not set: HubSpot cannot be asked to delete the contact');
    let report;
    try {
      report = await forgetStudent(privacy, query, opts);
    } catch (err) {
      if (err instanceof HubSpotCallError)
        throw new HttpError(
          502,
          `HubSpot did not delete the contact, so nothing was removed: ${maskText(err.message)}`,
        );
      throw err;
    }
    if (!opts.dryRun) await deps.record(ctx, erasureAudit(report));
    ctx.body = report;
  });
  router.post('/privacy/export', async (ctx) => {
    const query = studentOf((await jsonBody(ctx)).student);
    const doc = await exportStudent(await deps.privacy(), query);
    await deps.record(ctx, exportAudit(doc));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = doc;
  });
  router.post('/privacy/unsuppress', async (ctx) => {
    const query = studentOf((await jsonBody(ctx)).email);
    if (!('email' in query)) throw new HttpError(400, 'Give {"email": "<the address to process again>"}');
    const lifted = await (await deps.privacy()).suppression.remove(query.email);
    await deps.record(ctx, { action: 'unsuppress student', count: lifted ? 1 : 0 });
    ctx.body = { email: maskEmail(query.email), unsuppressed: lifted };
  });
}
