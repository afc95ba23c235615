import type { Client } from '@hubspot/api-client';
import type { HubSpotCall } from './call.ts';
import { COURSE_OBJECT } from './course-records.ts';
import { HubSpotCallError } from './errors.ts';
import { requestJson } from './raw-request.ts';

/**
 * Contact → course record associations, HubSpot's default (unlabeled) type, through the v4 API:
 * `POST /crm/v4/associations/0-1/0-410/batch/associate/default` `{"inputs":[{"from":{"id"},"to":{"id"}}]}`,
 * at most 100 inputs per request. Sent with `client.apiRequest` because the client's v4 model drops
 * `objectWriteTraceId`, which every input carries (HubSpot's error-handling guide) so that an error
 * is matched to its input; should HubSpot refuse the field, the inputs go without it from then on
 * and errors are matched by the ids they name.
 */
export const ASSOCIATE_PATH = `/crm/v4/associations/0-1/${COURSE_OBJECT}/batch/associate/default`;

/** A contact and the course record it is to be associated with. */
export interface AssociationPair {
  contactId: string;
  recordId: string;
}

/** What became of one pair: associated, a record HubSpot does not have (deleted by hand), or refused. */
export type PairResult = { ok: true } | { missing: 'course' | 'contact' } | { error: string };

interface AnswerError {
  category?: string;
  message?: string;
  context?: Record<string, string[]>;
}

const BATCH = 100;

/** "Course=123 is not valid" / "Contact=9 is not valid": which record of which pair is missing. */
function missingIn(message: string): { kind: 'course' | 'contact'; id: string }[] {
  return [...message.matchAll(/\b(Course|Contact)=(\d+) is not valid/gi)].map((m) => ({
    kind: m[1]!.toLowerCase() as 'course' | 'contact',
    id: m[2]!,
  }));
}

/** Sends contact → course record associations; remembers, per process, whether HubSpot takes trace ids on them. */
export class CourseAssociations {
  private traceIds = true;

  constructor(
    private readonly client: Client,
    private readonly call: HubSpotCall,
  ) {}

  /** Associates every pair (duplicates are harmless: HubSpot keeps one association); results in the pairs' order. */
  async associate(pairs: AssociationPair[]): Promise<PairResult[]> {
    const out: PairResult[] = [];
    for (let i = 0; i < pairs.length; i += BATCH) out.push(...(await this.batch(pairs.slice(i, i + BATCH))));
    return out;
  }

  private async batch(pairs: AssociationPair[]): Promise<PairResult[]> {
    const traced = this.traceIds;
    const inputs = pairs.map((p, i) => ({
      from: { id: p.contactId },
      to: { id: p.recordId },
      ...(traced ? { objectWriteTraceId: String(i) } : {}),
    }));
    let body: { errors?: AnswerError[] } | undefined;
    try {
      body = (
        await this.call('associations.create', () =>
          requestJson<{ errors?: AnswerError[] }>(this.client, 'POST', ASSOCIATE_PATH, { inputs }),
        )
      ).body;
    } catch (err) {
      return this.refused(pairs, err, traced);
    }
    const results: PairResult[] = pairs.map(() => ({ ok: true }));
    for (const e of body?.errors ?? []) {
      const message = `HubSpot 207 ${e.category ?? 'ERROR'}: ${e.message ?? ''}`;
      const byTrace = (e.context?.objectWriteTraceId ?? [])
        .map(Number)
        .filter((n) => Number.isInteger(n) && n < pairs.length);
      const named = missingIn(e.message ?? '');
      const toIds = new Set([
        ...(e.context?.toObjectId ?? []),
        ...named.filter((n) => n.kind === 'course').map((n) => n.id),
      ]);
      const fromIds = new Set([
        ...(e.context?.fromObjectId ?? []),
        ...named.filter((n) => n.kind === 'contact').map((n) => n.id),
      ]);
      const hit = byTrace.length
        ? byTrace
        : pairs.flatMap((p, i) => (toIds.has(p.recordId) || fromIds.has(p.contactId) ? [i] : []));
      for (const i of hit) {
        const p = pairs[i]!;
        results[i] = toIds.has(p.recordId)
          ? { missing: 'course' }
          : fromIds.has(p.contactId)
            ? { missing: 'contact' }
            : { error: message };
      }
    }
    return results;
  }

  /**
   * A whole-batch refusal: the trace ids refused (resent without), or a 400 naming missing records
   * (those pairs settled, the rest resent); anything else is thrown for the caller.
   */
  private async refused(pairs: AssociationPair[], err: unknown, traced: boolean): Promise<PairResult[]> {
    if (!(err instanceof HubSpotCallError) || err.failure.kind !== 'rejected' || err.failure.status !== 400) throw err;
    const message = err.failure.message;
    if (traced && /objectWriteTraceId/.test(message)) {
      this.traceIds = false;
      return this.batch(pairs);
    }
    const named = missingIn(message);
    const missing = (p: AssociationPair): PairResult | undefined => {
      const n = named.find((x) => (x.kind === 'course' ? x.id === p.recordId : x.id === p.contactId));
      return n ? { missing: n.kind } : undefined;
    };
    if (!named.length || pairs.every((p) => missing(p))) {
      if (pairs.length === 1 || !named.length) return pairs.map((p) => missing(p) ?? { error: message });
      return pairs.map((p) => missing(p)!);
    }
    const rest = pairs.filter((p) => !missing(p));
    const again = await this.batch(rest);
    return pairs.map((p) => missing(p) ?? again[rest.indexOf(p)]!);
  }
}
