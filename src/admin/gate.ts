import type { Context, Middleware, Next } from 'koa';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { identify, isAdminPath, REALM, type AdminAccess, type AdminUser } from './auth.ts';
import type { LoginThrottle } from './login-throttle.ts';

export interface GateDeps {
  /** How /admin is entered; undefined: the admin area is off (404). */
  access: AdminAccess | undefined;
  throttle: LoginThrottle;
  metrics: Pick<Metrics, 'adminLoginFailures' | 'adminRefusals'>;
  log: Logger;
}

/** The user the gate let in (every /admin route after the gate has one). */
export function adminUser(ctx: Context): AdminUser {
  const user = (ctx.state as { admin?: AdminUser }).admin;
  if (!user) throw new Error('adminUser() outside the admin gate');
  return user;
}

/**
 * Lets into /admin only who may enter, and says who they are (`ctx.state.admin`): 404 when the
 * admin area is off; 429 with Retry-After for an address that failed to log in too often (whatever
 * it sends now); 401 with a Basic challenge (or, behind a sign-on proxy, without one) otherwise.
 * Failed logins are counted per address in Redis and in /metrics, and logged once per address and
 * window — never with what was tried. Other paths pass untouched.
 */
export function adminGate({ access, throttle, metrics, log }: GateDeps): Middleware {
  return async function guardAdmin(ctx: Context, next: Next): Promise<void> {
    if (!isAdminPath(ctx.path)) return next();
    if (!access) {
      ctx.status = 404;
      ctx.body = { error: 'Not found' };
      return;
    }
    const address = ctx.ip;
    if (access.mode === 'basic') {
      // Redis away: the passwords are still checked; only the count is skipped.
      const wait = await throttle.retryAfterMs(address).catch(() => 0);
      if (wait > 0) return tooMany(ctx, wait, metrics);
    }
    const who = identify(ctx, access);
    if ('user' in who) {
      ctx.state.admin = who.user;
      return next();
    }
    if (who.failed === 'wrong') {
      metrics.adminLoginFailures.inc();
      const counted = await throttle.fail(address).catch(() => undefined);
      if (counted?.failures === 1)
        log.warn(
          { address, windowMinutes: throttle.windowMs / 60_000 },
          'failed admin login; further failures from this address in this window are counted, not logged',
        );
      if (counted?.retryAfterMs) return tooMany(ctx, counted.retryAfterMs, metrics);
    }
    ctx.status = 401;
    if (access.mode === 'basic') ctx.set('WWW-Authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
    ctx.body = { error: access.mode === 'basic' ? 'Authentication required' : 'Sign in through the sign-on proxy' };
  };
}

function tooMany(ctx: Context, waitMs: number, metrics: GateDeps['metrics']): void {
  metrics.adminRefusals.inc({ reason: 'throttled' });
  ctx.status = 429;
  ctx.set('Retry-After', String(Math.ceil(waitMs / 1000)));
  ctx.body = { error: 'Too many failed logins from this address; try again later' };
}
