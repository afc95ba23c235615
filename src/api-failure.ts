/**
 * One vocabulary for what a failed HubSpot or SendGrid call means, used by the error classifiers,
 * the workers, the `outcome` label of `course_sync_job_duration_seconds` and docs/hubspot.md:
 * - `rate_limited`: 429. The queue waits as long as the API asked; no attempt is used.
 * - `auth`: 401/403 from HubSpot. The queue pauses until someone fixes the token; no attempt is used.
 * - `rejected`: the request as sent is refused (4xx). Retrying cannot help: the job is dead-lettered.
 * - `transient`: 5xx, timeouts, network errors. Retried with backoff (no status: no answer at all).
 */
export type FailureKind = 'rate_limited' | 'auth' | 'rejected' | 'transient';

/**
 * How a job (or a contacts batch) ended, as the `outcome` label of the job-duration metric:
 * `completed` (written or sent), `skipped` (nothing to do: sent before, stale or repeated version),
 * `deferred` (given back to wait for a lock, a claim or a shutdown; no attempt used), `partial`
 * (a batch whose records ended differently), or the FailureKind of the failure.
 */
export type JobOutcome = 'completed' | 'skipped' | 'deferred' | 'partial' | FailureKind;

/**
 * The least delay before the next attempt that an API asked for (its Retry-After), carried by the
 * error as `retryAfterMs`; the jobs' backoff never retries sooner (queues/jobs.ts).
 */
export function retryAfterOf(err: unknown): number {
  const ms = (err as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : 0;
}
