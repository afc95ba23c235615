import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';

/** The user and password that open /admin; `generated` when course-sync made the password up. */
export interface AdminCredentials {
  user: string;
  password: string;
  generated: boolean;
}

const REALM = 'course-sync admin';

/**
 * Decides how /admin is protected, once at start-up: the configured DASHBOARD_USER and
 * DASHBOARD_PASSWORD; with no password, nothing in production (admin off) and elsewhere a random
 * password, handed once to `announce` (stderr by default) so the operator can log in.
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

/** True for every path that belongs to the admin area, however it is cased, encoded or slashed. */
export function isAdminPath(path: string): boolean {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    /* a malformed escape: judge the raw path */
  }
  return decoded.replace(/\/{2,}/g, '/').toLowerCase().startsWith('/admin');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Compares the user and password of a Basic `Authorization` header in constant time. */
export function checkBasicAuth(header: string | undefined, creds: AdminCredentials): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const user = colon >= 0 ? decoded.slice(0, colon) : '';
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  // Both comparisons always run, over fixed-length digests, so timing reveals neither part.
  const userOk = timingSafeEqual(digest(user), digest(creds.user));
  const passwordOk = timingSafeEqual(digest(password), digest(creds.password));
  return !!m && colon >= 0 && userOk && passwordOk;
}

/**
 * Guards every admin path: 404 when admin is off (no credentials), 401 with a Basic challenge
 * unless the request carries the right user and password. Other paths pass untouched.
 */
export function adminGate(creds: AdminCredentials | undefined): Middleware {
  return async function guardAdmin(ctx: Context, next: Next): Promise<void> {
    if (!isAdminPath(ctx.path)) return next();
    if (!creds) {
      ctx.status = 404;
      ctx.body = { error: 'Not found' };
      return;
    }
    if (!checkBasicAuth(ctx.get('authorization'), creds)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
      ctx.body = { error: 'Authentication required' };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    return next();
  };
}
