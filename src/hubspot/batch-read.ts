import type { HubSpotCall } from './call.ts';
import { HubSpotCallError } from './errors.ts';

/**
 * True for HubSpot's answer to a batch read in which no id exists. Integrators report a 404 for
 * that (OBJECT_NOT_FOUND) where the spec lists 207, so both mean "none found". A 404 of another
 * category still fails the call.
 */
export function isNoneFound(err: unknown): boolean {
  if (!(err instanceof HubSpotCallError) || err.failure.status !== 404 || err.failure.kind !== 'rejected') return false;
  return err.failure.category === undefined || err.failure.category === 'OBJECT_NOT_FOUND';
}

/** The records a batch read found: its `results`, or none when HubSpot answers 404 for "none of them exist". */
export async function readBatch<R>(
  call: HubSpotCall,
  operation: string,
  request: () => Promise<{ results: R[] }>,
): Promise<R[]> {
  try {
    return (await call(operation, request)).results;
  } catch (err) {
    if (isNoneFound(err)) return [];
    throw err;
  }
}
