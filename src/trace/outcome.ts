import { QUEUES, type WorkQueueName } from '../queues/names.ts';
import type { ContactJobResult } from '../workers/contacts-batch.ts';
import type { ProductsJobResult } from '../workers/products-job.ts';
import type { WelcomeEmailResult } from '../workers/welcome-email-job.ts';
import type { TraceStep } from './model.ts';

/** What a completed job's return value says, as trace step fields. */
export type JobOutcome = Pick<
  TraceStep,
  'kind' | 'reason' | 'hubspotContactId' | 'hubspotProductIds' | 'sendgridMessageId'
>;

/** What each work queue's worker returns for a completed job. */
interface ResultOf {
  'crm-contacts': ContactJobResult;
  'email-welcome': WelcomeEmailResult;
  'crm-products': ProductsJobResult;
}

/**
 * Reads the ids a worker reports in its job's return value — the HubSpot contact id, the HubSpot
 * product ids, the SendGrid X-Message-Id — and whether the job was skipped (an email sent before, a
 * stale or repeated course version). A value of another shape (a job from an older version) gives a
 * plain `completed`.
 */
export function outcomeOf(queue: WorkQueueName, returnvalue: unknown): JobOutcome {
  if (returnvalue === null || typeof returnvalue !== 'object') return { kind: 'completed' };
  switch (queue) {
    case QUEUES.contacts: {
      const r = returnvalue as { contactId?: string; skipped?: string };
      if (r.skipped) return { kind: 'skipped', reason: r.skipped };
      return { kind: 'completed', hubspotContactId: r.contactId };
    }
    case QUEUES.email: {
      const r = returnvalue as Partial<ResultOf[typeof queue]>;
      if (r.status === 'skipped')
        return { kind: 'skipped', reason: `already sent by job ${r.jobId}`, sendgridMessageId: r.messageId };
      if (r.status === 'suppressed' || r.status === 'personal data removed')
        return { kind: 'skipped', reason: r.status };
      return { kind: 'completed', sendgridMessageId: r.messageId };
    }
    case QUEUES.products: {
      const r = returnvalue as Partial<ResultOf[typeof queue]>;
      if (r.status === 'skipped') return { kind: 'skipped', reason: r.skipped };
      const ids = r.status === 'written' ? r.products?.map((p) => p.productId) : undefined;
      return { kind: 'completed', hubspotProductIds: ids?.length ? ids : undefined };
    }
    default:
      return { kind: 'completed' };
  }
}
