/**
 * Batch writes that HubSpot can answer record by record. Its error-handling guide ("Multi-status
 * errors") gives a 207 with per-record errors only when each input carries an `objectWriteTraceId`
 * unique in the request, and echoes it on results; without one a single bad record may fail the
 * whole batch with 400. Every batch write of course-sync sends one, and reads the answer by it.
 */

/** An input as sent: the caller's input and its trace id (its place in the request). */
export type Traced<I> = I & { objectWriteTraceId: string };

/** The inputs with a trace id each, unique in the request. */
export function withTraceIds<I extends object>(inputs: I[]): Traced<I>[] {
  return inputs.map((input, i) => ({ ...input, objectWriteTraceId: String(i) }));
}

/** A per-record error as the client hands it over (HubSpot's StandardError). */
export interface RecordError {
  category: string;
  message: string;
  context?: Record<string, string[]>;
}

/**
 * The inputs one per-record error is about: those whose trace id it names; else those whose id
 * (`idOf`) its context names (HubSpot answers that shape for some errors, and older portals may not
 * echo trace ids); else none (the caller decides what an error naming nothing means).
 */
export function inputsNamed<I extends { objectWriteTraceId: string }>(
  e: RecordError,
  inputs: I[],
  idOf: (input: I) => string,
): I[] {
  const values = Object.values(e.context ?? {})
    .flat()
    .map(String);
  const byTrace = inputs.filter((i) => (e.context?.objectWriteTraceId ?? []).includes(i.objectWriteTraceId));
  if (byTrace.length) return byTrace;
  const named = new Set(values.map((v) => v.toLowerCase()));
  return inputs.filter((i) => named.has(idOf(i).toLowerCase()));
}

/** The input a result is for: by its echoed trace id, else by its id (`idOf` of the result). */
export function inputOfResult<I extends { objectWriteTraceId: string }, R extends { objectWriteTraceId?: string }>(
  r: R,
  inputs: I[],
  idOf: (input: I) => string,
  resultId: string | undefined,
): I | undefined {
  if (r.objectWriteTraceId !== undefined) {
    const traced = inputs.find((i) => i.objectWriteTraceId === r.objectWriteTraceId);
    if (traced) return traced;
  }
  const id = resultId?.toLowerCase();
  return id === undefined ? undefined : inputs.find((i) => idOf(i).toLowerCase() === id);
}

/**
 * The inputs a whole-batch refusal names by id (e.g. "Email address x@y is invalid" names the
 * address): those are sent alone next, the rest together, so one bad record costs two more
 * requests instead of halving the batch (2·log2 n). Only ids that appear as whole words count.
 */
export function inputsInMessage<I>(message: string, inputs: I[], idOf: (input: I) => string): I[] {
  const text = message.toLowerCase();
  return inputs.filter((i) => {
    const id = idOf(i).toLowerCase();
    let at = text.indexOf(id);
    while (at >= 0) {
      const before = text[at - 1];
      const after = text[at + id.length];
      if (!isIdChar(before) && !isIdChar(after)) return true;
      at = text.indexOf(id, at + 1);
    }
    return false;
  });
}

function isIdChar(c: string | undefined): boolean {
  return c !== undefined && /[\w.@+-]/.test(c) && c !== '.';
}
