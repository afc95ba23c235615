import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from '../log.ts';
import type { DeadLetters } from '../queues/dead-letter.ts';
import type { EventIntake } from '../queues/intake.ts';
import { WORK_QUEUES, type WorkQueueName } from '../queues/names.ts';
import type { Quarantine, QuarantineEntry } from '../receiver/quarantine.ts';
import { readRawBody } from '../receiver/raw-body.ts';
import { resolveWorkQueue, summarizeDeadLetter } from '../queues/dead-letter-view.ts';
import { DurationError, parseDuration } from '../cli/duration.ts';
import { isQuarantineId, replayQuarantined } from '../receiver/quarantine-replay.ts';
import { HttpError } from '../http-error.ts';
import type { AuditEntry, AuditTrail } from './audit.ts';
import { adminUser } from './gate.ts';

export interface AdminApiDeps {
  deadLetters: DeadLetters;
  quarantine: Quarantine;
  intake: EventIntake;
  /** Where every action is recorded, with who took it. */
  audit: AuditTrail;
  log: Logger;
}

const MAX_BODY = 64 * 1024;

async function jsonBody(ctx: Context): Promise<Record<string, unknown>> {
  const raw = (await readRawBody(ctx.req, MAX_BODY).catch(() => {
    throw new HttpError(413, `Body larger than ${MAX_BODY} bytes`);
  })).toString('utf8');
  if (raw.trim() === '') return {};
  try {
    const parsed = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    /* answered below */
  }
  throw new HttpError(400, 'Body must be a JSON object');
}

function workQueue(name: string): WorkQueueName {
  const queue = resolveWorkQueue(name);
  if (!queue) throw new HttpError(404, `Unknown queue "${name}"`, { queues: WORK_QUEUES });
  return queue;
}

/** A quarantine entry without its body, for lists. */
function brief({ body, ...rest }: QuarantineEntry) {
  return { ...rest, bytes: Buffer.byteLength(body) };
}

/**
 * The authenticated JSON API under /admin/api: dead letters (list, replay, purge) and quarantined
 * webhooks (list, show, replay). Authentication is the admin gate's job, in front of these routes.
 */
export function adminApiRouter(deps: AdminApiDeps): Router {
  const { deadLetters, quarantine, intake, audit, log } = deps;
  const record = (ctx: Context, entry: Omit<AuditEntry, 'at' | 'who' | 'via'>) => audit.record({ who: adminUser(ctx).name, via: 'admin-api', ...entry });
  const router = new Router({ prefix: '/admin/api' });

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      ctx.status = err.status;
      ctx.body = err.body();
    }
  });

  const listQueue = async (queue: WorkQueueName) => ({
    queue,
    size: await deadLetters.size(queue),
    letters: (await deadLetters.list(queue)).map(summarizeDeadLetter),
  });

  router.get('/dlq', async (ctx) => {
    ctx.body = { queues: await Promise.all(WORK_QUEUES.map(listQueue)) };
  });
  router.get('/dlq/:queue', async (ctx) => {
    ctx.body = await listQueue(workQueue(ctx.params.queue!));
  });
  router.get('/dlq/:queue/:id', async (ctx) => {
    const letter = await deadLetters.get(workQueue(ctx.params.queue!), ctx.params.id!);
    if (!letter) throw new HttpError(404, `No dead letter "${ctx.params.id}" in ${ctx.params.queue}`);
    ctx.body = { ...summarizeDeadLetter(letter), letter: letter.data };
  });
  router.post('/dlq/:queue/replay', async (ctx) => {
    const queue = workQueue(ctx.params.queue!);
    const body = await jsonBody(ctx);
    const ids = body.ids;
    const all = body.all === true;
    const validIds = Array.isArray(ids) && ids.length > 0 && ids.every((id) => typeof id === 'string' && id !== '');
    if (all === validIds) throw new HttpError(400, 'Give either {"all": true} or {"ids": ["<job id>", ...]}');
    const wanted = all ? 'all' : (ids as string[]);
    const replayed = await deadLetters.replay(queue, wanted);
    const notReplayed = all ? [] : (ids as string[]).filter((id) => !replayed.includes(id));
    await record(ctx, { action: 'replay', queue, count: replayed.length, detail: all ? 'all' : `${(ids as string[]).length} id(s) asked` });
    ctx.status = notReplayed.length && !replayed.length ? 404 : 200;
    ctx.body = { queue, replayed, notReplayed };
  });
  router.post('/dlq/:queue/purge', async (ctx) => {
    const queue = workQueue(ctx.params.queue!);
    const { olderThan } = await jsonBody(ctx);
    if (typeof olderThan !== 'string') throw new HttpError(400, 'Give {"olderThan": "<duration>"}, e.g. "7d", "12h" or "30m"');
    let ms: number;
    try {
      ms = parseDuration(olderThan);
    } catch (err) {
      if (err instanceof DurationError) throw new HttpError(400, err.message);
      throw err;
    }
    const purged = await deadLetters.purge(queue, ms);
    await record(ctx, { action: 'purge', queue, count: purged.length, detail: `older than ${olderThan}` });
    ctx.body = { queue, olderThan, purged };
  });

  router.get('/quarantine', async (ctx) => {
    const limit = Math.min(Math.max(Number(ctx.query.limit) || 100, 1), 1000);
    ctx.body = { size: await quarantine.size(), entries: (await quarantine.list(limit)).map(brief) };
  });
  router.get('/quarantine/:id', async (ctx) => {
    const id = ctx.params.id!;
    const entry = isQuarantineId(id) ? await quarantine.get(id) : undefined;
    if (!entry) throw new HttpError(404, `No quarantined webhook "${ctx.params.id}"`);
    ctx.body = entry;
  });
  router.post('/quarantine/:id/replay', async (ctx) => {
    const result = await replayQuarantined({ quarantine, intake, log }, ctx.params.id!);
    if (result.status === 'replayed') await record(ctx, { action: 'quarantine replay', count: 1, detail: `entry ${result.id} → ${result.outcome}` });
    const status = { replayed: 200, 'not-found': 404, 'not-replayable': 409, invalid: 422 }[result.status];
    ctx.status = status;
    ctx.body = result;
  });

  return router;
}
