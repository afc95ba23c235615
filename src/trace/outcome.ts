import type { TraceStep } from './model.ts';

/** What a completed job's return value says, as trace step fields. */
export type JobOutcome = Pick<TraceStep, 'kind' | 'reason' | 'hubspotContactId' | 'hubspotProductIds' | 'sendgridMessageId'>;

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

function ids(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out = v
    .map((item) => {
      const o = (item ?? {}) as { productId?: unknown; hubspotId?: unknown; id?: unknown };
      return text(item) ?? text(o.productId ?? o.hubspotId ?? o.id);
    })
    .filter((id): id is string => !!id);
  return out.length ? out : undefined;
}

/**
 * Reads the ids a worker reports in its job's return value — HubSpot contact id, HubSpot product
 * ids, SendGrid X-Message-Id — and whether the job was skipped (`{skipped: 'stale'}`, or
 * `{status: 'skipped'}` for an email sent before). Unknown shapes give a plain `completed`.
 */
export function outcomeOf(returnvalue: unknown): JobOutcome {
  const rv = (returnvalue !== null && typeof returnvalue === 'object' ? returnvalue : {}) as Record<string, unknown>;
  const contact = rv.contact as { id?: unknown } | undefined;
  const hubspot = rv.hubspot as { contactId?: unknown; productIds?: unknown } | undefined;
  const out: JobOutcome = {
    kind: 'completed',
    hubspotContactId: text(rv.contactId) ?? text(rv.hubspotContactId) ?? text(hubspot?.contactId) ?? text(contact?.id),
    hubspotProductIds: ids(rv.productIds) ?? ids(rv.hubspotProductIds) ?? ids(hubspot?.productIds) ?? ids(rv.products),
    sendgridMessageId: text(rv.messageId) ?? text(rv.sendgridMessageId) ?? text(rv['x-message-id']),
  };
  const skipped = rv.skipped === true ? 'not needed' : text(rv.skipped);
  if (skipped) return { ...out, kind: 'skipped', reason: skipped };
  if (rv.status === 'skipped') {
    const reason = text(rv.reason) ?? (out.sendgridMessageId ? `already sent${text(rv.jobId) ? ` by job ${rv.jobId}` : ''}` : 'not needed');
    return { ...out, kind: 'skipped', reason };
  }
  return out;
}
