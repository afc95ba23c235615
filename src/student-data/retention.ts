import { WORK_QUEUES } from '../queues/names.ts';
import type { DeadLetters } from '../queues/dead-letter.ts';
import type { Quarantine } from '../quarantine/store.ts';

/** How often the retention purge runs (each process that leads the tracer runs it). */
export const RETENTION_PURGE_INTERVAL_MS = 3_600_000;

export interface RetentionPurge {
  deadLetters: number;
  quarantined: number;
}

/**
 * Removes what holds a student's data longest: dead letters and quarantined deliveries older than
 * PII_RETENTION_DAYS (both are kept whole, for a replay; past that age nobody replays them).
 */
export async function purgePastRetention(
  deps: { deadLetters: DeadLetters; quarantine: Quarantine },
  retentionDays: number,
  now = Date.now(),
): Promise<RetentionPurge> {
  const ageMs = retentionDays * 86_400_000;
  let deadLetters = 0;
  for (const queue of WORK_QUEUES) deadLetters += (await deps.deadLetters.purge(queue, ageMs, now)).length;
  const quarantined = await deps.quarantine.removeOlderThan(now - ageMs);
  return { deadLetters, quarantined };
}
