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
import { tracing } from '../telemetry/spans.ts';
import { sendgridWebhookHandler } from './sendgrid-webhook.ts';
import { serverSpan } from './server-span.ts';
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
/** Static files (bull-board's, the console's, the icon): about 20 per page view, logged at debug level like the probes. */
const STATIC = /^\/(?:admin\/queues\/static\/|admin\/assets\/|favicon\.ico$)/i;

/** The browser tab's icon: a queue of three blocks, as SVG (no request of a page ends in a 404). */
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#243b53"/><rect x="3" y="4" width="10" height="2" fill="#d9e2ec"/><rect x="3" y="7" width="10" height="2" fill="#d9e2ec"/><rect x="3" y="10" width="6" height="2" fill="#c6f7e2"/></svg>';

/** The HTTP side: one line of log per request, the webhook intake and/or the ops endpoints. */
export function createApp(deps: AppDeps, surface: Surface = { webhooks: true, ops: true }): Koa {
  const app = new Koa({ proxy: deps.config.webhook.trustProxy });
  const router = new Router();
  // OpenTelemetry on: a server span around everything below (the request log line included, so it carries trace_id).
  if (tracing()) app.use(serverSpan);
  app.use(requestLog(deps.log));

  if (surface.webhooks) {
    router.post('/webhooks/loopwise', webhookHandler(deps));
    router.post('/webhooks/sendgrid', sendgridWebhookHandler(deps));
  }
  if (surface.ops) {
    opsRoutes(router, deps, () => refreshQueueGauges(deps));
    deps.mount?.(app);
  }
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

/**
 * The ops side of a worker process (`--role worker` with ADMIN_PORT): /healthz, /readyz and the
 * process's own /metrics (its HubSpot/SendGrid calls, job times, SendGrid events). No admin and no
 * queue gauges: those read shared state from Redis and come from the receivers, counted once.
 */
export function createWorkerOpsApp(deps: Pick<AppDeps, 'config' | 'log' | 'redis' | 'metrics'>): Koa {
  const app = new Koa();
  const router = new Router();
  app.use(requestLog(deps.log));
  opsRoutes(router, deps);
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

/** One line of log per request, with the correlation id the webhook handler set (or the caller sent); probes only at debug level. */
function requestLog(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } catch (err) {
      ctx.status = 500;
      ctx.body = { error: 'Internal error' };
      log.error({ err: (err as Error).message, path: ctx.path }, 'request failed');
    } finally {
      // One line per request, with the correlation id the webhook handler set (or the caller sent);
      // probes and static files are frequent and only logged at debug level.
      const correlationId = (ctx.response.get('x-request-id') || ctx.get('x-request-id')).slice(0, 64) || undefined;
      const ms = Math.round(performance.now() - started);
      log[PROBES.has(ctx.path) || STATIC.test(ctx.path) ? 'debug' : 'info'](
        { method: ctx.method, path: ctx.path, status: ctx.status, ms, correlationId, ...ctx.state.log },
        'request',
      );
    }
  };
}

/** /healthz (alive), /readyz (Redis reachable), /metrics (behind METRICS_TOKEN when set; `refresh` first) and the tab's icon. */
function opsRoutes(
  router: Router,
  deps: Pick<AppDeps, 'config' | 'redis' | 'metrics'>,
  refresh?: () => Promise<void>,
): void {
  const { redis, metrics } = deps;
  const token = deps.config.admin.metricsToken;
  router.get('/favicon.ico', (ctx) => {
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = FAVICON;
  });
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
    await refresh?.().catch(() => undefined);
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
