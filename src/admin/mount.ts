import type { Redis } from 'ioredis';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { DeadLetters } from '../queues/dead-letter.ts';
import type { EventIntake } from '../queues/intake.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Quarantine } from '../quarantine/store.ts';
import { adminApiRouter } from './api.ts';
import { openPrivacy } from '../student-data/deps.ts';
import { adminAssets } from './assets.ts';
import { contactMappingRoute, mappingView } from './contact-mapping-page.ts';
import { AuditTrail } from '../audit/trail.ts';
import { isAdminPath, resolveAdminAccess } from './auth.ts';
import { dashboardMiddleware } from './bull-board.ts';
import { adminGate } from './gate.ts';
import { crossSiteGuard, roleGuard, securityHeaders } from './guards.ts';
import { LoginThrottle } from './login-throttle.ts';
import { overviewRoutes } from './overview-routes.ts';
import { repairRoutes } from './repair-routes.ts';
import type { SandboxProvider } from '../emulators/snapshot.ts';
import { sandboxMiddleware } from './sandbox-page.ts';

export interface AdminDeps {
  config: Config;
  log: Logger;
  /** Connection for course-sync's own records (attempt logs, quarantine, login counts, audit). */
  redis: Redis;
  queues: QueueSet;
  quarantine: Quarantine;
  intake: EventIntake;
  metrics: Pick<Metrics, 'adminLoginFailures' | 'adminRefusals'>;
  /** In sandbox mode: reads what the emulators received, for /admin/sandbox. */
  sandbox?: SandboxProvider;
  /** Where a generated admin password is printed (stderr by default). */
  announce?: (line: string) => void;
}

/**
 * Builds the admin area for `createApp`'s `mount` hook. Every /admin request passes, in order:
 * the security headers; the cross-site guard (403 before anything else); the gate (off → 404,
 * throttled → 429, unknown → 401; says who it is); the role guard (viewers change nothing: 403;
 * the JSON API takes JSON only: 415); then the pages, the JSON API, the sandbox page and bull-board.
 * How users sign in is settled here, once, at start-up.
 */
export function mountAdmin(deps: AdminDeps): (app: Koa) => void {
  const { config, log, redis, queues, quarantine, intake, metrics } = deps;
  const access = resolveAdminAccess(config, log, deps.announce);
  const throttle = new LoginThrottle(redis, config.redis.prefix);
  return (app) => {
    const chain: Middleware[] = [
      securityHeaders(),
      crossSiteGuard({ publicUrl: config.admin.publicUrl, metrics }),
      adminGate({ access, throttle, metrics, log }),
    ];
    app.use(onAdminPaths(chain));
    if (!access) return;
    chain.push(roleGuard({ metrics }));
    const audit = new AuditTrail(redis, config.redis.prefix, log);
    chain.push(adminAssets());
    chain.push(overviewRoutes({ config, redis, queues, quarantine, audit })); // /admin overview + search, /admin/api/events, /admin/api/overview
    const deadLetters = new DeadLetters(redis, queues, config.redis.prefix);
    chain.push(repairRoutes({ deadLetters, quarantine, sandbox: config.sandbox })); // /admin/dead-letters, /admin/quarantine
    let privacy: ReturnType<typeof openPrivacy> | undefined;
    const api = adminApiRouter({
      deadLetters,
      quarantine,
      intake,
      audit,
      log,
      privacy: () =>
        (privacy ??= openPrivacy(config, redis, queues).catch((err) => {
          privacy = undefined;
          throw err;
        })),
    });
    chain.push(api.routes() as Middleware, api.allowedMethods() as Middleware);
    const mapping = mappingView(config.hubspot);
    chain.push(contactMappingRoute(mapping, config.sandbox)); // /admin/contact-mapping
    chain.push(sandboxMiddleware(config.sandbox ? deps.sandbox : undefined, mapping));
    chain.push(dashboardMiddleware(queues, audit));
  };
}

/**
 * Runs `chain` for /admin requests (as `isAdminPath` reads a path) and lets every other request —
 * a webhook — go past the whole admin area at the cost of one path check.
 */
function onAdminPaths(chain: Middleware[]): Middleware {
  return (ctx, next) => {
    if (!isAdminPath(ctx.path)) return next();
    const run = (i: number): Promise<unknown> =>
      i < chain.length ? Promise.resolve(chain[i]!(ctx, () => run(i + 1))) : next();
    return run(0);
  };
}
