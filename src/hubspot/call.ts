import type { Metrics } from '../metrics.ts';
import type { DailyLimitPause } from './daily-limit.ts';
import { accountWait, classifyHubSpotError, HubSpotCallError } from './errors.ts';
import { BudgetBlockedError, type RequestBudget } from './request-budget.ts';

/**
 * Runs one HubSpot request under the shared budget. `operation` names it for metrics
 * ("contacts.upsert", "products.read", ...). Same shape as `HubSpotCall` in products-api.ts.
 */
export type HubSpotCall = <T>(operation: string, request: () => Promise<T>) => Promise<T>;

export interface HubSpotCallDeps {
  /** The shared budget; only one-off tools (the setup command) may go without. */
  budget?: RequestBudget;
  metrics?: Pick<Metrics, 'apiCalls'>;
  /** Aborts waiting for the budget (worker shutting down). */
  signal?: AbortSignal;
  /** The daily-limit pause shared by every process (workers); without it a DAILY 429 is an ordinary rate limit. */
  daily?: Pick<DailyLimitPause, 'reached' | 'current' | 'failure'>;
}

/** A budget wait longer than this is a block: the caller asks whether it is the daily limit's. */
const LONG_WAIT_MS = 60_000;

function successStatus(result: unknown): string {
  const r = result as { httpStatusCode?: number; errors?: unknown[]; numErrors?: number } | undefined;
  if (typeof r?.httpStatusCode === 'number') return String(r.httpStatusCode);
  if ((r?.numErrors ?? 0) > 0 || (Array.isArray(r?.errors) && r.errors.length > 0)) return '207';
  return '2xx';
}

/**
 * Wraps every HubSpot request of a worker: waits for the shared request budget, sends, counts
 * the call in `course_sync_api_calls_total{api="hubspot",operation,status}`, and on failure throws
 * a HubSpotCallError whose `failure` says what to do. A 429 or a 477 (account migrating) also
 * blocks the budget for the time HubSpot asked, so every process (contacts and products) backs off
 * together; a DAILY 429 pauses HubSpot work until the portal's daily reset (daily-limit.ts), and
 * while that pause lasts a call fails at once, unsent, as rate limited — the job goes back without
 * using an attempt.
 */
export function createHubSpotCall({ budget, metrics, signal, daily }: HubSpotCallDeps): HubSpotCall {
  const acquire = async (operation: string) => {
    if (!budget || !daily) return budget?.acquire(signal);
    try {
      await budget.acquire(signal, LONG_WAIT_MS);
    } catch (err) {
      if (!(err instanceof BudgetBlockedError)) throw err;
      const pause = await daily.current();
      if (pause) throw new HubSpotCallError(daily.failure(pause), operation);
      await budget.acquire(signal);
    }
  };

  return async <T>(operation: string, request: () => Promise<T>): Promise<T> => {
    await acquire(operation);
    try {
      const result = await request();
      metrics?.apiCalls.inc({ api: 'hubspot', operation, status: successStatus(result) });
      return result;
    } catch (err) {
      let failure = classifyHubSpotError(err);
      metrics?.apiCalls.inc({
        api: 'hubspot',
        operation,
        status: failure.status === undefined ? 'network' : String(failure.status),
      });
      // The daily limit pauses every process until the reset; should recording that fail (Redis away), the plain block stands in.
      const pause =
        failure.kind === 'rate_limited' && failure.policy === 'DAILY'
          ? await daily?.reached().catch(() => undefined)
          : undefined;
      const wait = accountWait(failure);
      if (pause) failure = daily!.failure(pause, failure.message);
      else if (wait !== undefined) await budget?.block(wait);
      throw Object.assign(new HubSpotCallError(failure, operation), { cause: err });
    }
  };
}
