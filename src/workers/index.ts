import type { RunningWorker, WorkerDeps } from './deps.ts';

/** Starts every queue worker of this process. */
export async function startWorkers(deps: WorkerDeps): Promise<RunningWorker[]> {
  const starters: ((deps: WorkerDeps) => Promise<RunningWorker> | RunningWorker)[] = [];
  return Promise.all(starters.map((start) => start(deps)));
}
