import type { Metrics } from '../metrics.ts';
import { accountWait, classifyHubSpotError, HubSpotCallError } from './errors.ts';
import type { RequestBudget } from './request-budget.ts';

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
}

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
 * blocks the budget for the time HubSpot asked, so every process (contacts and products) backs off together.
 */
export function createHubSpotCall({ budget, metrics, signal }: HubSpotCallDeps): HubSpotCall {
  return async <T>(operation: string, request: () => Promise<T>): Promise<T> => {
    await budget?.acquire(signal);
    try {
      const result = await request();
      metrics?.apiCalls.inc({ api: 'hubspot', operation, status: successStatus(result) });
      return result;
    } catch (err) {
      const failure = classifyHubSpotError(err);
      metrics?.apiCalls.inc({ api: 'hubspot', operation, status: failure.status === undefined ? 'network' : String(failure.status) });
      const wait = accountWait(failure);
      if (wait !== undefined) await budget?.block(wait);
      throw Object.assign(new HubSpotCallError(failure, operation), { cause: err });
    }
  };
}
