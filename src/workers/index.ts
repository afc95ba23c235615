import type { RunningWorker, WorkerDeps } from './deps.ts';
import { startContactsWorker } from './contacts-worker.ts';
import { startEmailEventsWorker } from './email-events-worker.ts';
import { startEmailWorker } from './email-worker.ts';
import { startProductsWorker } from './products-worker.ts';

/**
 * Starts every queue worker of this process. Should one refuse to start (HUBSPOT_COURSES_OBJECT=on
 * with the object not active), those already running are closed before its error is thrown, so
 * nothing keeps taking jobs for a service that did not start.
 */
export async function startWorkers(deps: WorkerDeps): Promise<RunningWorker[]> {
  const starters: ((deps: WorkerDeps) => Promise<RunningWorker> | RunningWorker)[] = [
    (d) => startContactsWorker(d),
    startEmailWorker,
    startProductsWorker,
    startEmailEventsWorker,
  ];
  const started = await Promise.allSettled(starters.map(async (start) => start(deps)));
  const refused = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (!refused) return running;
  await Promise.allSettled(running.map((w) => w.close()));
  throw refused.reason;
}
