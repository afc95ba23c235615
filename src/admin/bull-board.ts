import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Middleware } from 'koa';
import type { QueueSet } from '../queues/registry.ts';

/** Where bull-board is served; the admin gate in front of it owns authentication. */
export const DASHBOARD_PATH = '/admin/queues';

const DLQ_HINT = 'Dead letters: replay with `course-sync dlq replay` or POST /admin/api/dlq/<queue>/replay';

/**
 * bull-board at DASHBOARD_PATH with every work queue and every dead-letter queue
 * (`QueueSet.all()`), as one Koa middleware. It must be mounted behind `adminGate`.
 */
export function dashboardMiddleware(queues: QueueSet): Middleware {
  const deadLetterNames = new Set(Object.values(queues.deadLetter).map((q) => q.name));
  const serverAdapter = new KoaAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: queues.all().map(
      (queue) => new BullMQAdapter(queue, deadLetterNames.has(queue.name) ? { description: DLQ_HINT } : {}),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'course-sync' } },
  });
  return serverAdapter.registerPlugin() as Middleware;
}
