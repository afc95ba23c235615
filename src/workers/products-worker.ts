import type { Client } from '@hubspot/api-client';
import { Worker } from 'bullmq';
import { createHubSpotCall } from '../hubspot/call.ts';
import { createHubSpotClient } from '../hubspot/client.ts';
import { CourseVersions } from '../hubspot/course-versions.ts';
import { RequestBudget } from '../hubspot/request-budget.ts';
import { setupOnce } from '../hubspot/setup.ts';
import type { CourseJob } from '../queues/jobs.ts';
import { QUEUES } from '../queues/names.ts';
import { attachDeadLetters } from './dead-letter-hook.ts';
import type { RunningWorker, WorkerDeps } from './deps.ts';
import { productsProcessor, type ProductsJobResult } from './products-job.ts';

/** Overrides for tests and the sandbox: an injected HubSpot client, a concurrency. */
export interface ProductsWorkerOptions {
  /** The HubSpot client; default one built from `config.hubspot` (token and base URL). */
  client?: Client;
  /** Jobs processed at once per process (different courses run in parallel; one course never does). */
  concurrency?: number;
}

/** Course events are rare: a few at a time is plenty, and every call shares the HubSpot budget. */
const DEFAULT_CONCURRENCY = 4;
/** A ceiling far above any real rate; BullMQ only honours `queue.rateLimit()` (on a 429) when a limiter is set. */
const LIMITER = { max: 10_000, duration: 1000 };

/** Starts the `crm-products` worker: course.created/updated → one HubSpot product per plan. */
export async function startProductsWorker(deps: WorkerDeps, opts: ProductsWorkerOptions = {}): Promise<RunningWorker> {
  const { config, log } = deps;
  const name = QUEUES.products;
  if (!opts.client && !config.hubspot.accessToken) {
    log.error({ queue: name }, 'crm-products worker NOT started: HUBSPOT_ACCESS_TOKEN is not set and no HubSpot emulator was given; course events wait in the queue');
    return { name: `${name} (not started)`, close: async () => undefined };
  }
  const client = opts.client ?? createHubSpotClient(config.hubspot);
  const abort = new AbortController();
  const budget = new RequestBudget(deps.redis, config.redis.prefix, { max: config.hubspot.requestsPer10s });
  const call = createHubSpotCall({ budget, metrics: deps.metrics, signal: abort.signal });

  const processor = productsProcessor({
    client,
    call,
    versions: new CourseVersions(deps.redis, config.redis.prefix),
    setup: setupOnce(client, call),
    mapping: { multiCurrency: config.hubspot.multiCurrency, currencyDigits: config.hubspot.currencyDigits },
    redis: deps.redis,
    prefix: config.redis.prefix,
    queue: deps.queues.work[name],
    metrics: deps.metrics,
    log,
  });
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const worker = new Worker<CourseJob, ProductsJobResult>(name, processor, {
    connection: deps.connect(),
    prefix: config.redis.prefix,
    concurrency,
    limiter: LIMITER,
  });
  const deadLetters = attachDeadLetters(worker, name, deps);
  await worker.waitUntilReady();
  log.info({ queue: name, concurrency, multiCurrency: config.hubspot.multiCurrency }, 'crm-products worker started');

  return {
    name,
    close: async () => {
      await worker.close();
      abort.abort();
      await deadLetters.settled();
    },
  };
}
