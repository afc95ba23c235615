import { escapeHtml } from '../html.ts';
import type { AdminUser } from './auth.ts';
import { DASHBOARD_PATH } from '../console-links.ts';

export interface PageFrame {
  title: string;
  user: AdminUser;
  sandbox: boolean;
  /** The page's content (already HTML). */
  body: string;
  /** Scripts under /admin/assets/ the page loads (no inline script anywhere). */
  scripts?: string[];
  /** Style sheets under /admin/assets/ the page loads after admin.css. */
  styles?: string[];
  /** Attributes of <body> (data-* for the scripts). */
  bodyAttributes?: Record<string, string>;
}

/** The console's pages, in the order of the header. */
function links(sandbox: boolean): [href: string, text: string][] {
  return [
    ['/admin', 'Overview'],
    ['/admin/dead-letters', 'Dead letters'],
    ['/admin/quarantine', 'Quarantine'],
    [DASHBOARD_PATH, 'Queues'],
    ['/admin/contact-mapping', 'Contact mapping'],
    ...(sandbox ? ([['/admin/sandbox', 'Sandbox']] as [string, string][]) : []),
    ['/metrics', 'Metrics'],
  ];
}

/** A console page: header with the pages and who is signed in, the content, its scripts; style from /admin/assets/admin.css. */
export function renderPage(p: PageFrame): string {
  const attrs = Object.entries(p.bodyAttributes ?? {})
    .map(([k, v]) => ` ${k}="${escapeHtml(v)}"`)
    .join('');
  const nav = links(p.sandbox)
    .map(([href, text]) => `<a href="${href}">${text}</a>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title>${['admin.css', ...(p.styles ?? [])].map((s) => `<link rel="stylesheet" href="/admin/assets/${escapeHtml(s)}">`).join('')}</head><body${attrs}>
<header><h1>course-sync</h1>${nav}<span class="who" id="who">signed in as <b>${escapeHtml(p.user.name)}</b> (${p.user.role})</span></header>
<main>
${p.body}
</main>
${(p.scripts ?? []).map((s) => `<script src="/admin/assets/${escapeHtml(s)}"></script>`).join('\n')}
</body></html>`;
}

/** An ISO time as people read it: "2026-12-01 13:45:11 UTC", in a <time> element. */
export function timeHtml(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'))}</time>`;
}

/**
 * An action button for operators: POSTs `body` as JSON to `api` (assets/actions.js) after the
 * confirmation, then shows the answer. Viewers never get one.
 */
export function actionButton(
  user: AdminUser,
  label: string,
  api: string,
  body: unknown,
  confirm: string,
  extra: Record<string, string> = {},
): string {
  if (user.role !== 'operator') return '';
  const data = { 'data-api': api, 'data-body': JSON.stringify(body), 'data-confirm': confirm, ...extra };
  return `<button type="button" class="action"${Object.entries(data)
    .map(([k, v]) => ` ${k}="${escapeHtml(v)}"`)
    .join('')}>${escapeHtml(label)}</button>`;
}
