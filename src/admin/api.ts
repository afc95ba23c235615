import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from '../log.ts';
import type { DeadLetters } from '../queues/dead-letter.ts';
import { groupDeadLetters } from '../queues/dead-letter-groups.ts';
import type { EventIntake } from '../queues/intake.ts';
import { WORK_QUEUES, type WorkQueueName } from '../queues/names.ts';
import { canReplay, type Quarantine, type QuarantineEntry } from '../quarantine/store.ts';
import { resolveWorkQueue, shownLetter, summarizeDeadLetter } from '../queues/dead-letter-view.ts';
import { DurationError, parseDuration } from '../duration.ts';
import { isQuarantineId, replayQuarantined } from '../receiver/quarantine-replay.ts';
import { HttpError } from '../http-error.ts';
import type { AuditEntry, AuditTrail } from '../audit/trail.ts';
import { adminUser } from './gate.ts';
import { jsonBody } from './json-body.ts';
import { privacyRoutes, type PrivacyProvider } from './privacy-api.ts';

export interface AdminApiDeps {
  deadLetters: DeadLetters;
  quarantine: Quarantine;
  intake: EventIntake;
  /** Where every action is recorded, with who took it. */
  audit: AuditTrail;
  log: Logger;
  /** forget/export/unsuppress (opened on first use). */
  privacy: PrivacyProvider;
}

/** How many quarantine entries a replay by reason looks through (newest first). */
const QUARANTINE_SCAN = 10_000;

function workQueue(name: string): WorkQueueName {
  const queue = resolveWorkQueue(name);
  if (!queue) throw new HttpError(404, `Unknown queue "${name}"`, { queues: WORK_QUEUES });
  return queue;
}

const SELECTION_HELP = 'Give {"all": true}, {"ids": ["<job id>", ...]} or {"cause": "<cause from /groups>"}';

/** Which dead letters a replay or purge is about: all, these ids, one cause's group, or (purge) those older than a duration. */
async function selectLetters(
  deadLetters: DeadLetters,
  queue: WorkQueueName,
  body: Record<string, unknown>,
  withAge: boolean,
): Promise<{ ids: string[] | 'all'; detail: string; olderThan?: string }> {
  const { ids, all, cause, olderThan } = body;
  const given = [all === true, ids !== undefined, cause !== undefined, withAge && olderThan !== undefined].filter(
    Boolean,
  ).length;
  if (given !== 1) throw new HttpError(400, withAge ? `${SELECTION_HELP} or {"olderThan": "7d"}` : SELECTION_HELP);
  if (all === true) return { ids: 'all', detail: 'all' };
  if (ids !== undefined) {
    if (!Array.isArray(ids) || !ids.length || !ids.every((id) => typeof id === 'string' && id !== ''))
      throw new HttpError(400, '"ids" must be a list of job ids');
    return { ids: ids as string[], detail: `${ids.length} id(s) asked` };
  }
  if (cause !== undefined) {
    if (typeof cause !== 'string' || !cause) throw new HttpError(400, '"cause" must be a cause as /groups lists it');
    const ofCause = await deadLetters.idsOfCause(queue, cause);
    if (!ofCause) throw new HttpError(404, `No dead letters in ${queue} with the cause "${cause}"`);
    return { ids: ofCause, detail: `cause: ${cause.slice(0, 200)}` };
  }
  if (typeof olderThan !== 'string')
    throw new HttpError(400, '"olderThan" must be a duration such as "7d", "12h" or "30m"');
  let ms: number;
  try {
    ms = parseDuration(olderThan);
  } catch (err) {
    if (err instanceof DurationError) throw new HttpError(400, err.message);
    throw err;
  }
  return { ids: await deadLetters.idsOlderThan(queue, ms), detail: `older than ${olderThan}`, olderThan };
}

/** A quarantine entry without its body, for lists. */
function brief({ body: _body, ...rest }: QuarantineEntry) {
  return rest;
}

/**
 * The authenticated JSON API under /admin/api: dead letters (list, replay, purge) and quarantined
 * webhooks (list, show, replay). Authentication is the admin gate's job, in front of these routes.
 */
export function adminApiRouter(deps: AdminApiDeps): Router {
  const { deadLetters, quarantine, intake, audit, log } = deps;
  const record = (ctx: Context, entry: Omit<AuditEntry, 'at' | 'who' | 'via'>) =>
    audit.record({ who: adminUser(ctx).name, via: 'admin-api', ...entry });
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
  router.get('/dlq/:queue/groups', async (ctx) => {
    const queue = workQueue(ctx.params.queue!);
    ctx.body = { queue, groups: groupDeadLetters(await deadLetters.list(queue)) };
  });
  router.get('/dlq/:queue/:id', async (ctx) => {
    const letter = await deadLetters.get(workQueue(ctx.params.queue!), ctx.params.id!);
    if (!letter) throw new HttpError(404, `No dead letter "${ctx.params.id}" in ${ctx.params.queue}`);
    ctx.body = { ...summarizeDeadLetter(letter), letter: shownLetter(letter.data) };
  });
  router.post('/dlq/:queue/replay', async (ctx) => {
    const queue = workQueue(ctx.params.queue!);
    const selection = await selectLetters(deadLetters, queue, await jsonBody(ctx), false);
    const result = await deadLetters.replay(queue, selection.ids);
    await record(ctx, { action: 'replay', queue, count: result.replayed.length, detail: selection.detail });
    ctx.status = result.notReplayed.length && !result.replayed.length ? 404 : 200;
    ctx.body = { queue, ...result };
  });
  router.post('/dlq/:queue/purge', async (ctx) => {
    const queue = workQueue(ctx.params.queue!);
    const selection = await selectLetters(deadLetters, queue, await jsonBody(ctx), true);
    const purged = await deadLetters.remove(queue, selection.ids);
    await record(ctx, { action: 'purge', queue, count: purged.length, detail: selection.detail });
    ctx.body = { queue, purged, ...(selection.olderThan ? { olderThan: selection.olderThan } : {}) };
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
  router.post('/quarantine/replay', async (ctx) => {
    const { reason } = await jsonBody(ctx);
    if (typeof reason !== 'string' || !reason)
      throw new HttpError(400, 'Give {"reason": "<reason of the entries to replay>"}');
    const entries = (await quarantine.list(QUARANTINE_SCAN)).filter((e) => canReplay(e) && e.reason === reason);
    if (!entries.length) throw new HttpError(404, 'No replayable quarantined webhook has that reason');
    const results = [];
    for (const e of entries) results.push(await replayQuarantined({ quarantine, intake, log }, e.id));
    const replayed = results.filter((r) => r.status === 'replayed').length;
    await record(ctx, { action: 'quarantine replay', count: replayed, detail: `reason: ${reason.slice(0, 200)}` });
    ctx.body = { replayed, results };
  });
  router.post('/quarantine/:id/replay', async (ctx) => {
    const result = await replayQuarantined({ quarantine, intake, log }, ctx.params.id!);
    if (result.status === 'replayed')
      await record(ctx, { action: 'quarantine replay', count: 1, detail: `entry ${result.id} → ${result.outcome}` });
    const status = { replayed: 200, 'not-found': 404, 'not-replayable': 409, invalid: 422 }[result.status];
    ctx.status = status;
    ctx.body = result;
  });

  privacyRoutes(router, { privacy: deps.privacy, record });
  return router;
}
