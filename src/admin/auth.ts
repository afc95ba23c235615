import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { AddressList } from '../address-list.ts';
import type { Config } from '../config.ts';
import { sameSecret } from '../constant-time.ts';
import type { Logger } from '../log.ts';

/** What a signed-in user may do: an operator everything, a viewer only look. */
export type AdminRole = 'operator' | 'viewer';

/** Who a request to /admin comes from (set on `ctx.state.admin` by the gate). */
export interface AdminUser {
  name: string;
  role: AdminRole;
}

/** The user and password that open /admin as operator; `generated` when course-sync made the password up. */
export interface AdminCredentials {
  user: string;
  password: string;
  generated: boolean;
}

/**
 * How /admin is entered, settled once at start-up: Basic passwords (operator, optional viewer), or
 * the user a sign-on proxy names in a header, trusted only from the proxy's addresses.
 */
export type AdminAccess =
  | { mode: 'basic'; operator: AdminCredentials; viewer?: { user: string; password: string } }
  | { mode: 'proxy'; header: string; proxies: AddressList; operators: Set<string> };

/** What the gate made of a request's credentials. */
export type Identification = { user: AdminUser } | { failed: 'missing' | 'wrong' };

export const REALM = 'course-sync admin';

/**
 * The operator's credentials: DASHBOARD_USER and DASHBOARD_PASSWORD; with no password, none in
 * production (admin off) and elsewhere a random password, handed once to `announce` (stderr by
 * default) so the operator can log in.
 */
export function resolveAdminCredentials(
  config: Config,
  log: Logger,
  announce: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): AdminCredentials | undefined {
  const { user, password } = config.dashboard;
  if (password) return { user, password, generated: false };
  if (config.env === 'production') {
    log.warn('DASHBOARD_PASSWORD is not set: the admin area (/admin) is off in production');
    return undefined;
  }
  const generated = randomBytes(18).toString('base64url');
  log.warn({ user }, 'DASHBOARD_PASSWORD is not set: /admin is protected by a random password printed once on stderr');
  announce(
    [
      '',
      '  course-sync admin area (/admin, dashboard at /admin/queues) — DASHBOARD_PASSWORD is not set.',
      `  Log in with user "${user}" and this password, valid until the process stops:`,
      '',
      `      ${generated}`,
      '',
      '  Set DASHBOARD_PASSWORD to choose one (required for /admin in production).',
      '',
    ].join('\n'),
  );
  return { user, password: generated, generated: true };
}

/** How /admin is entered with this configuration; undefined when the admin area is off. */
export function resolveAdminAccess(
  config: Config,
  log: Logger,
  announce?: (line: string) => void,
): AdminAccess | undefined {
  const d = config.dashboard;
  if (d.auth === 'proxy') {
    log.info(
      { header: d.proxyUserHeader, proxies: d.proxyAllowlist, operators: d.operators.length },
      'admin sign-on through a proxy (ADMIN_AUTH=proxy)',
    );
    return {
      mode: 'proxy',
      header: d.proxyUserHeader,
      proxies: new AddressList(d.proxyAllowlist),
      operators: new Set(d.operators),
    };
  }
  const operator = resolveAdminCredentials(config, log, announce);
  if (!operator) return undefined;
  const viewer = d.viewerPassword ? { user: d.viewerUser, password: d.viewerPassword } : undefined;
  return { mode: 'basic', operator, viewer };
}

/** A path as the admin checks compare it: decoded, slashes collapsed, lower case. */
export function normalizedPath(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    /* a malformed escape: judge the raw path */
  }
  return decoded.replace(/\/{2,}/g, '/').toLowerCase();
}

/** True for every path that belongs to the admin area, however it is cased, encoded or slashed. */
export function isAdminPath(path: string): boolean {
  return normalizedPath(path).startsWith('/admin');
}

/** The user and password of a Basic `Authorization` header, or undefined when it is not one. */
function basicPair(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  return m && colon >= 0 ? { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : undefined;
}

/** Compares a user and password in constant time: both parts, over fixed-length digests, always. */
function matches(given: { user: string; password: string }, expected: { user: string; password: string }): boolean {
  const userOk = sameSecret(given.user, expected.user);
  const passwordOk = sameSecret(given.password, expected.password);
  return userOk && passwordOk;
}

/** Compared against when there is no viewer, so that a request takes as long either way; never matches (checked below). */
const NO_VIEWER = { user: '\0no viewer', password: randomBytes(16).toString('hex') };

/**
 * Who the request comes from. Basic: the operator's or the viewer's credentials (both compared
 * every time, so timing does not tell which one exists). Proxy: the user in the header, from a proxy
 * address only; operators by name, everyone else the proxy let in is a viewer.
 */
export function identify(ctx: Context, access: AdminAccess): Identification {
  if (access.mode === 'proxy') {
    const name = ctx.get(access.header).trim();
    if (!access.proxies.has(ctx.req.socket.remoteAddress) || !name) return { failed: 'missing' };
    return { user: { name, role: access.operators.has(name) ? 'operator' : 'viewer' } };
  }
  const header = ctx.get('authorization');
  if (!header) return { failed: 'missing' };
  const pair = basicPair(header) ?? { user: '', password: '' };
  const viewer = access.viewer ?? NO_VIEWER;
  const asOperator = matches(pair, access.operator);
  const asViewer = matches(pair, viewer) && !!access.viewer;
  if (asOperator) return { user: { name: access.operator.user, role: 'operator' } };
  if (asViewer) return { user: { name: viewer.user, role: 'viewer' } };
  return { failed: 'wrong' };
}
