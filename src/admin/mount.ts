import type { Redis } from 'ioredis';
import type Koa from 'koa';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { DeadLetters } from '../queues/dead-letter.ts';
import type { EventIntake } from '../queues/intake.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Quarantine } from '../receiver/quarantine.ts';
import { adminApiRouter } from './api.ts';
import { adminGate, resolveAdminCredentials } from './auth.ts';
import { overviewRoutes } from './overview-routes.ts';
import { dashboardMiddleware } from './bull-board.ts';
import { sandboxMiddleware, type SandboxProvider } from './sandbox-page.ts';

export interface AdminDeps {
  config: Config;
  log: Logger;
  /** Connection for course-sync's own records (attempt logs, quarantine). */
  redis: Redis;
  queues: QueueSet;
  quarantine: Quarantine;
  intake: EventIntake;
  /** In sandbox mode: reads what the emulators received, for /admin/sandbox. */
  sandbox?: SandboxProvider;
  /** Where a generated admin password is printed (stderr by default). */
  announce?: (line: string) => void;
}

/**
 * Builds the admin area for `createApp`'s `mount` hook: the basic-auth gate over every /admin
 * path, bull-board at /admin/queues, the JSON API under /admin/api and, in sandbox mode, the
 * sandbox page. Credentials are settled here, once, at start-up.
 */
export function mountAdmin(deps: AdminDeps): (app: Koa) => void {
  const { config, log, redis, queues, quarantine, intake } = deps;
  const creds = resolveAdminCredentials(config, log, deps.announce);
  return (app) => {
    app.use(adminGate(creds));
    if (!creds) return;
    app.use(overviewRoutes({ config, redis, queues, quarantine })); // /admin overview + search, /admin/api/events, /admin/api/overview
    const deadLetters = new DeadLetters(redis, queues, config.redis.prefix);
    const api = adminApiRouter({ deadLetters, quarantine, intake, log });
    app.use(api.routes()).use(api.allowedMethods());
    app.use(sandboxMiddleware(config.sandbox ? deps.sandbox : undefined));
    app.use(dashboardMiddleware(queues));
  };
}
