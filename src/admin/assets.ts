import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context, Middleware, Next } from 'koa';

/** The console's own static files, served from src/admin/assets/ so no page needs inline script or style. */
const CSS = 'text/css; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const FILES: Record<string, string> = {
  'admin.css': CSS,
  'sandbox.css': CSS,
  'overview.js': JS,
  'actions.js': JS,
  'bull-board-links.js': JS,
};

const loaded = Object.fromEntries(
  Object.entries(FILES).map(([name, type]) => {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    return [name, { type, body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` }];
  }),
);

/** Serves /admin/assets/<file> (behind the admin gate), cached by ETag. */
export function adminAssets(): Middleware {
  return async function serveAsset(ctx: Context, next: Next): Promise<void> {
    const m = /^\/admin\/assets\/([\w.-]+)$/.exec(ctx.path);
    const file = m && (ctx.method === 'GET' || ctx.method === 'HEAD') ? loaded[m[1]!] : undefined;
    if (!file) return next();
    ctx.set('Cache-Control', 'private, max-age=300');
    ctx.set('ETag', file.etag);
    if (ctx.get('if-none-match') === file.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = file.type;
    ctx.body = file.body;
  };
}
