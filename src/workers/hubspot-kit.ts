import type { Client } from '@hubspot/api-client';
import { createHubSpotCall, type HubSpotCall } from '../hubspot/call.ts';
import { createHubSpotClient } from '../hubspot/client.ts';
import { DailyLimitPause, type DailyLimitObserver } from '../hubspot/daily-limit.ts';
import { DailyLimitStore } from '../hubspot/daily-limit-store.ts';
import { DailyUsageMeter, followDailyUsage } from '../hubspot/daily-usage.ts';
import { RequestBudget, type BudgetClock } from '../hubspot/request-budget.ts';
import { QUEUES } from '../queues/names.ts';
import type { WorkerDeps } from './deps.ts';

/** What a HubSpot worker may be given instead of its defaults (tests, the sandbox). */
export interface HubSpotWorkerOptions {
  /** The HubSpot client; default one built from `config.hubspot`. */
  client?: Client;
  /** The time of the request budget and the daily-limit pause; default Redis' and Date.now (tests pass one clock to both and the emulator). */
  clock?: BudgetClock;
  /** How often this process checks the daily-limit pause (default 30 s; the queues are held for two checks at a time). */
  dailyCheckIntervalMs?: number;
}

/** A HubSpot worker's tools: its client, the call wrapper (budget, metrics, daily limit), and a stop for the pause's checks. */
export interface HubSpotKit {
  client: Client;
  call: HubSpotCall;
  /** Aborted by `stop()`: the worker is stopping. */
  signal: AbortSignal;
  /** Aborts budget waits and stops the daily-limit checks. */
  stop(): Promise<void>;
}

/**
 * Holds both HubSpot queues while the daily limit lasts: `queue.rateLimit` for a slice at a time
 * (a BullMQ limiter key with that TTL: workers look again when it lapses, and at least every
 * `maximumRateLimitDelay`, 30 s, or 1 s for the micro-batches), and lifts it the moment the pause ends. crm-contacts also carries the welcome
 * email status writes, HubSpot work as well; email-welcome (SendGrid) goes on.
 */
export function hubSpotQueuesHold(deps: Pick<WorkerDeps, 'queues'>): DailyLimitObserver {
  const queues = [deps.queues.work[QUEUES.contacts], deps.queues.work[QUEUES.products]];
  return {
    paused: async (ms) => void (await Promise.all(queues.map((q) => q.rateLimit(Math.ceil(ms))))),
    resumed: async () => void (await Promise.all(queues.map((q) => q.removeRateLimitKey()))),
  };
}

/**
 * Builds what every HubSpot worker (contacts, products) calls HubSpot with: the client, the shared
 * request budget, the daily-limit pause (checked every `dailyCheckIntervalMs`, probing with
 * `probe`) and the call wrapper that ties them together.
 */
export function hubSpotKit(
  deps: WorkerDeps,
  opts: HubSpotWorkerOptions,
  probe: (client: Client) => Promise<unknown>,
): HubSpotKit {
  const { config, log } = deps;
  const clock = opts.clock;
  const now = clock ? () => clock.now() : Date.now;
  const store = new DailyLimitStore(deps.redis, config.redis.prefix);
  const client = opts.client ?? createHubSpotClient(config.hubspot);
  const meter = new DailyUsageMeter(store, now, (err) =>
    log.debug({ err: err.message }, 'HubSpot daily usage not recorded'),
  );
  const unfollow = followDailyUsage(config.hubspot.baseUrl, meter);
  const budget = new RequestBudget(deps.redis, config.redis.prefix, {
    max: config.hubspot.requestsPer10s,
    clock: opts.clock,
  });
  const daily = new DailyLimitPause({
    client,
    store,
    budget,
    probe: () => probe(client),
    observer: hubSpotQueuesHold(deps),
    metrics: deps.metrics,
    log,
    now,
    checkIntervalMs: opts.dailyCheckIntervalMs,
  });
  daily.start();
  const abort = new AbortController();
  return {
    client,
    call: createHubSpotCall({ budget, metrics: deps.metrics, signal: abort.signal, daily }),
    signal: abort.signal,
    stop: async () => {
      abort.abort();
      unfollow();
      await daily.stop();
    },
  };
}
