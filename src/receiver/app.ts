import Router from '@koa/router';
import type { Redis } from 'ioredis';
import Koa from 'koa';
import type { Config } from '../config.ts';
import { sameSecret } from '../constant-time.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { EventIntake } from '../queues/intake.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Quarantine } from '../quarantine/store.ts';
import { sendgridWebhookHandler } from './sendgrid-webhook.ts';
import { webhookHandler } from './webhook.ts';

export interface AppDeps {
  config: Config;
  log: Logger;
  /** Producer connection: fails fast while Redis is away. */
  redis: Redis;
  intake: EventIntake;
  quarantine: Quarantine;
  queues: QueueSet;
  metrics: Metrics;
  /** Extra routes (the admin area) mounted by the service beside the ops endpoints. */
  mount?: (app: Koa) => void;
}

/**
 * What one HTTP server answers: the webhook intake (the public side Loopwise reaches), the ops side
 * (/healthz, /readyz, /metrics and the admin mount), or both — both on PORT unless ADMIN_PORT
 * moves the ops side to a second, internal server.
 */
export interface Surface {
  webhooks: boolean;
  ops: boolean;
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** The HTTP side: one line of log per request, the webhook intake and/or the ops endpoints. */
export function createApp(deps: AppDeps, surface: Surface = { webhooks: true, ops: true }): Koa {
  const { config, log } = deps;
  const app = new Koa({ proxy: config.webhook.trustProxy });
  const router = new Router();

  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } catch (err) {
      ctx.status = 500;
      ctx.body = { error: 'Internal error' };
      log.error({ err: (err as Error).message, path: ctx.path }, 'request failed');
    } finally {
      // One line per request, with the correlation id the webhook handler set (or the caller sent);
      // probes are frequent and only logged at debug level.
      const correlationId = (ctx.response.get('x-request-id') || ctx.get('x-request-id')).slice(0, 64) || undefined;
      const ms = Math.round(performance.now() - started);
      log[PROBES.has(ctx.path) ? 'debug' : 'info'](
        { method: ctx.method, path: ctx.path, status: ctx.status, ms, correlationId, ...ctx.state.log },
        'request',
      );
    }
  });

  if (surface.webhooks) {
    router.post('/webhooks/loopwise', webhookHandler(deps));
    router.post('/webhooks/sendgrid', sendgridWebhookHandler(deps));
  }
  if (surface.ops) {
    opsRoutes(router, deps);
    deps.mount?.(app);
  }
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

/** /healthz (alive), /readyz (Redis reachable) and /metrics (behind METRICS_TOKEN when set). */
function opsRoutes(router: Router, deps: AppDeps): void {
  const { redis, metrics } = deps;
  const token = deps.config.admin.metricsToken;
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    try {
      await redis.ping();
      ctx.body = { status: 'ready', redis: 'ok' };
    } catch (err) {
      ctx.status = 503;
      ctx.body = { status: 'not ready', redis: (err as Error).message };
    }
  });
  router.get('/metrics', async (ctx) => {
    const given = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1] ?? '';
    if (token && !sameSecret(given, token)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer realm="course-sync metrics"');
      ctx.body = { error: 'Give METRICS_TOKEN as "Authorization: Bearer <token>"' };
      return;
    }
    await refreshQueueGauges(deps).catch(() => undefined);
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
}

async function refreshQueueGauges({ queues, quarantine, metrics }: AppDeps): Promise<void> {
  for (const queue of queues.all()) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
    for (const [state, n] of Object.entries(counts)) metrics.queueJobs.set({ queue: queue.name, state }, n);
  }
  metrics.quarantineSize.set(await quarantine.size());
}
