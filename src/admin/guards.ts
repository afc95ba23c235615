import type { Context, Middleware, Next } from 'koa';
import type { Metrics } from '../metrics.ts';
import { isJsonContentType } from '../raw-body.ts';
import { isAdminPath, normalizedPath } from './auth.ts';
import { DASHBOARD_PATH } from '../console-links.ts';
import { adminUser } from './gate.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** POSTs that change nothing: the overview's search form (POST so an address never lands in a URL). */
const READ_ONLY_POSTS = new Set(['/admin', '/admin/']);

/** Content-Security-Policy of our own pages: nothing inline, nothing from elsewhere, never framed. */
const STRICT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/** bull-board's UI: its own scripts only, but it sets a <base> and inline styles. */
const BULL_BOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'self'; frame-ancestors 'none'";
/** The sandbox page shows the e-mails as sent, inline styles included, in sandboxed frames that run no script. */
const SANDBOX_CSP =
  "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface GuardDeps {
  /** PUBLIC_URL: the service's own origin when the Host header cannot tell it. */
  publicUrl?: string;
  metrics: Pick<Metrics, 'adminRefusals'>;
}

function refuse(ctx: Context, status: 403 | 415, reason: string, metrics: GuardDeps['metrics'], label: string): void {
  metrics.adminRefusals.inc({ reason: label });
  ctx.status = status;
  ctx.body = { error: reason };
}

/** True for a request that may change something (any method but GET, HEAD and OPTIONS). */
export function isStateChanging(ctx: Context): boolean {
  return !SAFE_METHODS.has(ctx.method);
}

/**
 * The headers every /admin answer carries, bull-board's and refusals included: no framing
 * (X-Frame-Options and CSP frame-ancestors), no sniffing, no Referer leaving the console, and
 * no caching of anything but static files.
 */
export function securityHeaders(): Middleware {
  return async function adminHeaders(ctx: Context, next: Next): Promise<void> {
    if (!isAdminPath(ctx.path)) return next();
    const path = normalizedPath(ctx.path);
    const csp = path.startsWith(DASHBOARD_PATH)
      ? BULL_BOARD_CSP
      : path.startsWith('/admin/sandbox')
        ? SANDBOX_CSP
        : STRICT_CSP;
    ctx.set({
      'Content-Security-Policy': csp,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    const asset = path.startsWith(`${DASHBOARD_PATH}/static/`) || path.startsWith('/admin/assets/');
    if (!asset) ctx.set('Cache-Control', 'no-store');
    await next();
  };
}

/** The origin browsers see the service at: PUBLIC_URL's, else the request's (Host; X-Forwarded-Host/-Proto with TRUST_PROXY). */
export function ownOrigin(ctx: Context, publicUrl?: string): string {
  // Not ctx.origin: since Koa 3 that is the request's Origin header, i.e. whatever the caller claims.
  return publicUrl ? new URL(publicUrl).origin : `${ctx.protocol}://${ctx.host}`;
}

/** Why a state-changing request looks cross-site, or undefined when it does not. */
export function crossSiteReason(ctx: Context, own: string): string | undefined {
  const origin = ctx.get('origin');
  const site = ctx.get('sec-fetch-site').toLowerCase();
  // Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` with the console's own form
  // posts; Sec-Fetch-Site (which no page can set) then says whether it came from the console itself.
  const ownNull = origin === 'null' && site === 'same-origin';
  if (origin && origin !== own && !ownNull) return `Origin ${origin} is not ${own}`;
  if (site === 'cross-site' || site === 'same-site') return `Sec-Fetch-Site: ${site}`;
  const referer = ctx.get('referer');
  if (!origin && !site && referer) {
    let from: string;
    try {
      from = new URL(referer).origin;
    } catch {
      return 'Referer is not a URL';
    }
    if (from !== own) return `Referer from ${from}`;
  }
  return undefined;
}

/**
 * Refuses (403, nothing changed) every state-changing /admin request a browser sends on another
 * site's behalf: an Origin that is not the service's own, Sec-Fetch-Site cross-site or same-site,
 * or — with neither — a Referer from another origin. Runs before authentication, so a page
 * elsewhere can neither act nor count as a failed login. Requests without those headers (the CLI,
 * scripts) pass: they carry no cookies or cached passwords of a browser.
 */
export function crossSiteGuard({ publicUrl, metrics }: GuardDeps): Middleware {
  return async function refuseCrossSite(ctx: Context, next: Next): Promise<void> {
    if (!isAdminPath(ctx.path) || !isStateChanging(ctx)) return next();
    const reason = crossSiteReason(ctx, ownOrigin(ctx, publicUrl));
    if (reason) return refuse(ctx, 403, `Cross-site request refused (${reason})`, metrics, 'cross_site');
    await next();
  };
}

/**
 * After the gate: a viewer may look but not change (403 on every state-changing route, bull-board's
 * included; the search form excepted), and the JSON API takes only JSON bodies (415), so a plain
 * form or a `text/plain` fetch from anywhere can never be read as a command.
 */
export function roleGuard({ metrics }: Pick<GuardDeps, 'metrics'>): Middleware {
  return async function checkRole(ctx: Context, next: Next): Promise<void> {
    if (!isAdminPath(ctx.path) || !isStateChanging(ctx)) return next();
    const path = normalizedPath(ctx.path);
    if (ctx.method === 'POST' && READ_ONLY_POSTS.has(path)) return next();
    if (adminUser(ctx).role !== 'operator')
      return refuse(ctx, 403, 'Viewers may not change anything: sign in as an operator', metrics, 'role');
    if (path.startsWith('/admin/api/') && !isJsonContentType(ctx.get('content-type'))) {
      return refuse(ctx, 415, 'Content-Type must be application/json', metrics, 'content_type');
    }
    await next();
  };
}
