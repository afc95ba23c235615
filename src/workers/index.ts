import type { RunningWorker, WorkerDeps } from './deps.ts';
import { startContactsWorker } from './contacts-worker.ts';
import { startEmailEventsWorker } from './email-events-worker.ts';
import { startEmailWorker } from './email-worker.ts';
import { startProductsWorker } from './products-worker.ts';

/** Starts every queue worker of this process. */
export async function startWorkers(deps: WorkerDeps): Promise<RunningWorker[]> {
  const starters: ((deps: WorkerDeps) => Promise<RunningWorker> | RunningWorker)[] = [
    (d) => startContactsWorker(d),
    startEmailWorker,
    startProductsWorker,
    startEmailEventsWorker,
  ];
  return Promise.all(starters.map(async (start) => start(deps)));
}
