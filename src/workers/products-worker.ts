import { CourseOptions } from '../hubspot/course-options.ts';
import { CourseVersions } from '../hubspot/course-versions.ts';
import { setupOnce } from '../hubspot/setup.ts';
import type { CourseJob } from '../queues/jobs.ts';
import { startCoursesKit } from './courses-kit.ts';
import { QUEUES } from '../queues/names.ts';
import type { RunningWorker, WorkerDeps } from './deps.ts';
import { hubSpotKit, type HubSpotWorkerOptions } from './hubspot-kit.ts';
import { productsProcessor, type ProductsJobResult } from './products-job.ts';
import { notStarted, startQueueWorker } from './start.ts';

/** Overrides for tests and the sandbox: an injected HubSpot client, a clock, a concurrency. */
export interface ProductsWorkerOptions extends HubSpotWorkerOptions {
  /** Jobs processed at once per process (different courses run in parallel; one course never does). */
  concurrency?: number;
}

/** Course events are rare: a few at a time is plenty, and every call shares the HubSpot budget. */
const DEFAULT_CONCURRENCY = 4;

/** Starts the `crm-products` worker: course.created/updated → one HubSpot product per plan. */
export async function startProductsWorker(deps: WorkerDeps, opts: ProductsWorkerOptions = {}): Promise<RunningWorker> {
  const { config, log } = deps;
  const queue = QUEUES.products;
  if (!opts.client && !config.hubspot.accessToken) {
    return notStarted(
      deps,
      queue,
      'HUBSPOT_ACCESS_TOKEN is not set and no HubSpot emulator was given; course events wait in the queue',
    );
  }
  // The probe of a daily-limit pause: the smallest read of what this worker writes.
  const kit = hubSpotKit(deps, opts, (c) => c.crm.products.basicApi.getPage(1));
  const { client, call } = kit;
  const courses = await startCoursesKit(deps, kit, opts);
  const processor = productsProcessor({
    sync: {
      client,
      call,
      versions: new CourseVersions(deps.redis, config.redis.prefix),
      options: new CourseOptions(client, call, deps.redis, config.redis.prefix),
      setup: setupOnce(client, call),
      mapping: { multiCurrency: config.hubspot.multiCurrency, currencyDigits: config.hubspot.currencyDigits },
      courseRecords: courses.records,
    },
    queue: deps.queues.work[queue],
    metrics: deps.metrics,
    log,
    calls: deps.calls,
  });
  return startQueueWorker<CourseJob, ProductsJobResult>(deps, {
    queue,
    processor,
    concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
    details: { multiCurrency: config.hubspot.multiCurrency },
    afterClose: () => void kit.stop(),
  });
}
