import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Context, Middleware, Next } from 'koa';
import type { QueueSet } from '../queues/registry.ts';
import type { AuditTrail } from '../audit/trail.ts';
import type { AdminUser } from './auth.ts';
import { DASHBOARD_PATH } from '../console-links.ts';

const DLQ_HINT = 'Dead letters: replay with `course-sync dlq replay` or POST /admin/api/dlq/<queue>/replay';
/** bull-board's pages get a "trace" link beside each job (assets/bull-board-links.js). */
const TRACE_LINKS = '<script defer src="/admin/assets/bull-board-links.js"></script>';
const API_ACTION = /^\/admin\/queues\/api\/queues\/(?:(pause|resume)|([^/]+)\/(.+))$/;

/** One bull-board on every work queue and dead-letter queue; `readOnly` hides and refuses every action. */
function board(queues: QueueSet, readOnly: boolean): Middleware {
  const deadLetterNames = new Set(Object.values(queues.deadLetter).map((q) => q.name));
  const serverAdapter = new KoaAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: queues.all().map(
      (queue) =>
        new BullMQAdapter(queue, {
          readOnlyMode: readOnly,
          ...(deadLetterNames.has(queue.name) ? { description: DLQ_HINT } : {}),
        }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: readOnly ? 'course-sync (read-only)' : 'course-sync' } },
  });
  return serverAdapter.registerPlugin() as Middleware;
}

/** What a bull-board API call did, for the audit trail: "pause" (all queues), or "<action>" on a queue. */
function describeAction(path: string): { action: string; queue?: string; count?: number } | undefined {
  const m = API_ACTION.exec(path);
  if (!m) return undefined;
  if (m[1]) return { action: `${m[1]} all queues` };
  const queue = decodeURIComponent(m[2]!);
  const rest = m[3]!.split('/').map(decodeURIComponent);
  // "<jobId>/retry" is one job; "retry/failed", "clean/completed", "pause", "empty" act on the queue.
  const known = [
    'retry',
    'clean',
    'promote',
    'pause',
    'resume',
    'empty',
    'obliterate',
    'add',
    'concurrency',
    'rate-limit',
    'job-schedulers',
  ];
  return known.includes(rest[0]!)
    ? { action: rest.join(' '), queue }
    : { action: `${rest.slice(1).join(' ')} job ${rest[0]}`, queue, count: 1 };
}

/**
 * bull-board at DASHBOARD_PATH, behind the admin gate: operators get the full board, viewers the
 * same board in bull-board's read-only mode (no action buttons, every action refused). Every
 * action an operator takes through it goes to the audit trail.
 */
export function dashboardMiddleware(queues: QueueSet, audit?: AuditTrail): Middleware {
  const full = board(queues, false);
  const readOnly = board(queues, true);
  return async function bullBoard(ctx: Context, next: Next): Promise<void> {
    const user = (ctx.state as { admin?: AdminUser }).admin;
    await (user?.role === 'operator' ? full : readOnly)(ctx, next);
    if (typeof ctx.body === 'string' && ctx.response.is('html'))
      ctx.body = ctx.body.replace('</body>', `${TRACE_LINKS}</body>`);
    if (user?.role !== 'operator') return;
    const action = ctx.method === 'GET' || ctx.status >= 400 ? undefined : describeAction(ctx.path);
    if (action) await audit?.record({ who: user.name, via: 'bull-board', ...action });
  };
}
