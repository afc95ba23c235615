import type { Context, Middleware, Next } from 'koa';
import type { DeadLetters } from '../queues/dead-letter.ts';
import { groupDeadLetters } from '../queues/dead-letter-groups.ts';
import { resolveWorkQueue } from '../queues/dead-letter-view.ts';
import { WORK_QUEUES, deadLetterQueueName } from '../queues/names.ts';
import type { Quarantine } from '../quarantine/store.ts';
import { deadLetterBody, deadLettersBody, type QueueDeadLetters } from './dead-letters-page.ts';
import { adminUser } from './gate.ts';
import { renderPage } from './layout.ts';
import { quarantineBody } from './quarantine-page.ts';

export interface RepairRoutesDeps {
  deadLetters: DeadLetters;
  quarantine: Quarantine;
  sandbox: boolean;
}

/** Quarantine entries the page shows (newest first). */
const QUARANTINE_SHOWN = 200;

/**
 * The pages that repair: /admin/dead-letters (grouped by cause), /admin/dead-letters/:queue/:id (one
 * letter) and /admin/quarantine. They only read; their buttons call the JSON API (assets/actions.js).
 */
export function repairRoutes({ deadLetters, quarantine, sandbox }: RepairRoutesDeps): Middleware {
  const page = (ctx: Context, title: string, body: string) => {
    ctx.type = 'html';
    ctx.body = renderPage({ title, user: adminUser(ctx), sandbox, body, scripts: ['actions.js'] });
  };
  return async function repairPages(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'GET') return next();
    const path = ctx.path.replace(/\/+$/, '');
    if (path === '/admin/dead-letters') {
      const queues: QueueDeadLetters[] = await Promise.all(
        WORK_QUEUES.map(async (queue) => {
          const letters = await deadLetters.list(queue);
          const byId = new Map(letters.map((l) => [l.id, l]));
          const groups = groupDeadLetters(letters).map((group) => ({ group, example: byId.get(group.ids.at(-1)) }));
          return { queue, dlqName: deadLetterQueueName(queue), groups };
        }),
      );
      return page(ctx, 'course-sync dead letters', deadLettersBody(adminUser(ctx), queues));
    }
    const one = /^\/admin\/dead-letters\/([^/]+)\/([^/]+)$/.exec(path);
    if (one) {
      const queue = resolveWorkQueue(decodeURIComponent(one[1]!));
      const letter = queue ? await deadLetters.get(queue, decodeURIComponent(one[2]!)) : undefined;
      if (!queue || !letter) {
        ctx.status = 404;
        return page(
          ctx,
          'course-sync dead letter',
          '<p>No such dead letter (replayed or purged?). <a href="/admin/dead-letters">All dead letters</a></p>',
        );
      }
      return page(ctx, `course-sync dead letter ${letter.id}`, deadLetterBody(adminUser(ctx), queue, letter));
    }
    if (path === '/admin/quarantine') {
      return page(
        ctx,
        'course-sync quarantine',
        quarantineBody(adminUser(ctx), await quarantine.list(QUARANTINE_SHOWN), await quarantine.size()),
      );
    }
    await next();
  };
}
