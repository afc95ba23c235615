import type { TraceStep } from './model.ts';

/** Where an event's job is now, in ops words. */
export type Whereabouts =
  'waiting' | 'running' | 'retrying' | 'delayed' | 'done' | 'failed' | 'dead letter' | 'quarantine' | 'gone';

/** What BullMQ says about one job right now. */
export interface LiveJob {
  /** BullMQ state (`waiting`, `active`, `delayed`, `completed`, `failed`, ...); undefined when the job no longer exists. */
  state?: string;
  attemptsMade?: number;
  /** A copy sits in the queue's dead-letter queue. */
  inDeadLetter: boolean;
}

/**
 * Names where a job is from its live state, falling back on the steps recorded for its queue when
 * the job itself is gone (completed jobs are trimmed by COMPLETED_JOBS_KEEP).
 */
export function whereabouts(live: LiveJob, steps: TraceStep[]): { state: Whereabouts; detail?: string } {
  const last = steps.at(-1);
  if (live.inDeadLetter) return { state: 'dead letter', detail: 'replay with `course-sync dlq replay`' };
  switch (live.state) {
    case 'completed':
      return last?.kind === 'skipped'
        ? { state: 'done', detail: `skipped: ${last.reason ?? 'nothing to do'}` }
        : { state: 'done' };
    case 'active':
      return { state: 'running' };
    case 'waiting':
    case 'wait':
    case 'prioritized':
    case 'paused':
    case 'waiting-children':
      return { state: 'waiting' };
    case 'delayed':
      return (live.attemptsMade ?? 0) > 0
        ? { state: 'retrying', detail: `after ${live.attemptsMade} failed attempt(s)` }
        : { state: 'delayed' };
    case 'failed':
      return { state: 'failed', detail: 'failed for good; not (or no longer) in the dead-letter queue' };
  }
  if (last?.kind === 'completed' || last?.kind === 'skipped')
    return { state: 'done', detail: 'job record trimmed by retention' };
  if (last?.kind === 'dead-lettered') return { state: 'gone', detail: 'dead letter purged' };
  return { state: 'gone', detail: 'job no longer in Redis' };
}
