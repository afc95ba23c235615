import Router from '@koa/router';
import type { Redis } from 'ioredis';
import Koa from 'koa';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { EventIntake } from '../queues/intake.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Quarantine } from './quarantine.ts';
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
  /** Extra routes (the admin area) mounted by the service. */
  mount?: (app: Koa) => void;
}

/** The HTTP side: webhook intake, health, readiness and metrics; admin is mounted by `deps.mount`. */
export function createApp(deps: AppDeps): Koa {
  const { config, log, redis, metrics } = deps;
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
      const probe = ctx.path === '/healthz' || ctx.path === '/readyz' || ctx.path === '/metrics';
      const correlationId = (ctx.response.get('x-request-id') || ctx.get('x-request-id')).slice(0, 64) || undefined;
      const ms = Math.round(performance.now() - started);
      log[probe ? 'debug' : 'info']({ method: ctx.method, path: ctx.path, status: ctx.status, ms, correlationId, ...ctx.state.log }, 'request');
    }
  });

  router.post('/webhooks/loopwise', webhookHandler(deps));
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
    await refreshQueueGauges(deps).catch(() => undefined);
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  deps.mount?.(app);
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

async function refreshQueueGauges({ queues, quarantine, metrics }: AppDeps): Promise<void> {
  for (const queue of queues.all()) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'paused', 'prioritized');
    for (const [state, n] of Object.entries(counts)) metrics.queueJobs.set({ queue: queue.name, state }, n);
  }
  metrics.quarantineSize.set(await quarantine.size());
}
