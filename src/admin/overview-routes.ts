import type { Redis } from 'ioredis';
import type { Context, Middleware } from 'koa';
import type { Config } from '../config.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Quarantine } from '../quarantine/store.ts';
import { readRawBody } from '../raw-body.ts';
import { RedisAlertState } from '../alerts/state.ts';
import { isEmail } from '../privacy/email.ts';
import { SEARCH_LIMIT } from '../trace/reader.ts';
import { TraceSearch } from '../trace/search.ts';
import { overviewCells } from './overview-cells.ts';
import { readPictures } from './pictures.ts';
import { searchResultsHtml } from './journey-html.ts';
import { seriesReader } from '../stats/counters.ts';
import { StatsKeys } from '../stats/keys.ts';
import { readOverview } from '../stats/overview.ts';
import { renderAdminPage } from './overview-page.ts';
import { maskEmail } from '../privacy/email.ts';
import { adminLinks } from '../console-links.ts';
import type { AuditTrail } from '../audit/trail.ts';
import { adminUser } from './gate.ts';

export interface OverviewRoutesDeps {
  config: Config;
  /** Connection for course-sync's own records. */
  redis: Redis;
  queues: QueueSet;
  quarantine: Quarantine;
  audit: AuditTrail;
  /** How often the page refreshes its figures; default 10 s. */
  refreshSeconds?: number;
}

const MAX_FORM_BYTES = 4096;

/** The query as it may be shown back: an e-mail masked, anything else as typed. */
function shown(query: string): string {
  return isEmail(query) ? maskEmail(query.trim()) : query.trim();
}

async function formQuery(ctx: Context): Promise<string> {
  const raw = await readRawBody(ctx.req, MAX_FORM_BYTES).catch(() => Buffer.alloc(0));
  return new URLSearchParams(raw.toString('utf8')).get('q') ?? '';
}

/**
 * The overview page at /admin (GET; POST runs the search box, so a searched e-mail never lands in
 * a URL), its figures as JSON at /admin/api/overview, and the trace search at
 * /admin/api/events?q=. Mount behind the admin gate, before anything else that answers /admin.
 */
export function overviewRoutes(deps: OverviewRoutesDeps): Middleware {
  const { config, redis, queues, quarantine } = deps;
  const search = new TraceSearch({ redis, config, queues, quarantine, links: adminLinks });
  const alerts = new RedisAlertState(redis, config.redis.prefix);
  const refreshSeconds = deps.refreshSeconds ?? 10;
  const figures = async () => {
    // The figures and the pictures share the counters' series: each is read once.
    const now = Date.now();
    const series = seriesReader(redis, new StatsKeys(config.redis.prefix), now);
    const [overview, active, charts] = await Promise.all([
      readOverview({ redis, prefix: config.redis.prefix, queues, quarantine, series }, now),
      alerts.active(),
      readPictures(redis, config.redis.prefix, config.hubspot.requestsPer10s, now, series),
    ]);
    return { overview, alerts: active, cells: overviewCells(overview, active), charts };
  };

  return async function overviewRoute(ctx, next) {
    const path = ctx.path.replace(/\/+$/, '') || '/';
    if (path === '/admin/api/overview' && ctx.method === 'GET') {
      const { overview, alerts: active, cells, charts } = await figures();
      ctx.body = { ...overview, alerts: active, cells, charts };
      return;
    }
    if (path === '/admin/api/events' && ctx.method === 'GET') {
      const q = typeof ctx.query.q === 'string' ? ctx.query.q.trim() : '';
      if (!q) {
        ctx.status = 400;
        ctx.body = { error: 'Give ?q=<enrollment id | course id | plan id | student e-mail | idempotency key>' };
        return;
      }
      const limit = Math.min(Math.max(Number(ctx.query.limit) || SEARCH_LIMIT, 1), SEARCH_LIMIT);
      const journeys = await search.find(q, limit);
      ctx.body = { query: shown(q), count: journeys.length, journeys };
      return;
    }
    if (path !== '/admin' || (ctx.method !== 'GET' && ctx.method !== 'POST')) return next();

    const q = (
      ctx.method === 'POST' ? await formQuery(ctx) : typeof ctx.query.q === 'string' ? ctx.query.q : ''
    ).trim();
    const results = q ? searchResultsHtml(shown(q), await search.find(q, 20)) : undefined;
    ctx.type = 'html';
    ctx.body = renderAdminPage({
      ...(await figures()),
      results,
      query: isEmail(q) ? '' : q,
      sandbox: config.sandbox,
      user: adminUser(ctx),
      audit: await deps.audit.list(),
      refreshSeconds,
    });
  };
}
