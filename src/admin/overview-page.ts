import { DASHBOARD_PATH } from '../console-links.ts';
import type { ActiveAlert } from '../alerts/state.ts';
import type { AuditEntry } from '../audit/trail.ts';
import type { AdminUser } from './auth.ts';
import { escapeHtml } from '../html.ts';
import { renderPage, timeHtml } from './layout.ts';
import type { Pictures } from './pictures.ts';
import type { Overview } from '../stats/overview.ts';

export interface AdminPageInput {
  overview: Overview;
  cells: Record<string, string>;
  /** The pictures (SVG) by chart id. */
  charts: Pictures;
  alerts: ActiveAlert[];
  /** The search results block (already HTML), when a search was made. */
  results?: string;
  /** Text to put back in the search box (never an e-mail). */
  query?: string;
  sandbox: boolean;
  /** Who is signed in. */
  user: AdminUser;
  /** The last operator actions, newest first. */
  audit: AuditEntry[];
  refreshSeconds: number;
}

const cell = (cells: Record<string, string>, name: string) =>
  `<span data-cell="${escapeHtml(name)}">${escapeHtml(cells[name] ?? '')}</span>`;

function queueCard(name: string, c: Record<string, string>): string {
  const row = (label: string, value: string) => `<div><dt>${label}</dt><dd>${value}</dd></div>`;
  return `<article class="card"><h3><a href="${DASHBOARD_PATH}/queue/${encodeURIComponent(name)}">${escapeHtml(name)}</a></h3><dl>
${row('waiting', cell(c, `${name}.waiting`))}${row('running', cell(c, `${name}.active`))}${row('retrying', cell(c, `${name}.delayed`))}
${row('jobs/min (1 h)', cell(c, `${name}.perMinuteHour`))}${row('jobs/min (24 h)', cell(c, `${name}.perMinuteDay`))}
${row('failed attempts (1 h)', cell(c, `${name}.failureHour`))}${row('failed attempts (24 h)', cell(c, `${name}.failureDay`))}
${row('oldest waiting', cell(c, `${name}.oldestWaiting`))}
${row(`<a href="/admin/dead-letters#${encodeURIComponent(name)}">dead letters</a>`, cell(c, `${name}.deadLetters`))}
</dl></article>`;
}

function apiCard(api: 'hubspot' | 'sendgrid', c: Record<string, string>): string {
  const title = api === 'hubspot' ? 'HubSpot' : 'SendGrid';
  const rows = (['calls', 'rateLimited', 'authErrors', 'serverErrors'] as const)
    .map(
      (k) =>
        `<tr><th>${{ calls: 'calls', rateLimited: '429 rate limited', authErrors: '401/403', serverErrors: '5xx' }[k]}</th><td>${cell(c, `${api}.hour.${k}`)}</td><td>${cell(c, `${api}.day.${k}`)}</td></tr>`,
    )
    .join('');
  // HubSpot's daily API limit (a private app's calls per day of the portal's time zone).
  const daily =
    api === 'hubspot'
      ? `<dl class="daily"><div><dt>daily API calls today</dt><dd>${cell(c, 'hubspot.daily.usage')}</dd></div><div><dt>daily limit</dt><dd>${cell(c, 'hubspot.daily.state')}</dd></div></dl>`
      : '';
  return `<article class="card"><h3>${title}</h3><table><tr><th></th><th>1 h</th><th>24 h</th></tr>${rows}</table>${daily}</article>`;
}

/** The welcome emails' fate (SendGrid's Event Webhook): sent, delivered, deferred, bounced, dropped, spam reports, bounce rate. */
function emailCard(c: Record<string, string>): string {
  const rows = (
    [
      ['sent', 'sent'],
      ['delivered', 'delivered'],
      ['deferred', 'deferred'],
      ['bounced', 'bounced'],
      ['dropped', 'dropped'],
      ['spamReports', 'spam reports'],
      ['bounceRate', 'bounce rate'],
    ] as const
  )
    .map(
      ([k, label]) =>
        `<tr><th>${label}</th><td>${cell(c, `email.hour.${k}`)}</td><td>${cell(c, `email.day.${k}`)}</td></tr>`,
    )
    .join('');
  return `<article class="card"><h3>Welcome emails</h3><table><tr><th></th><th>1 h</th><th>24 h</th></tr>${rows}</table></article>`;
}

/** One audit line: when, who, what, where, how many. */
function auditLine(e: AuditEntry): string {
  const what = [
    e.action,
    e.queue && `on ${e.queue}`,
    e.count !== undefined && `(${e.count})`,
    e.detail && `— ${e.detail}`,
  ]
    .filter(Boolean)
    .join(' ');
  return `<li>${timeHtml(e.at)} <b>${escapeHtml(e.who)}</b> <span class="muted">via ${escapeHtml(e.via)}</span> ${escapeHtml(what)}</li>`;
}

/** The /admin page: search box (and results), firing alerts, per-queue figures and API calls; refreshes itself. */
export function renderAdminPage(p: AdminPageInput): string {
  const c = p.cells;
  const chartIds = [
    ...p.overview.queues.flatMap((q) => [`${q.name}.hour`, `${q.name}.day`]),
    'hubspot.budget',
    'sendgrid.hour',
    'sendgrid.day',
  ];
  const alerts = p.alerts
    .map((a) => `<li>${escapeHtml(a.text)} <span class="muted">(since ${escapeHtml(a.since)})</span></li>`)
    .join('');
  const body = `<form method="post" action="/admin" role="search"><input type="search" name="q" value="${escapeHtml(p.query ?? '')}" placeholder="enrollment id, course id, plan id or student e-mail" aria-label="Find an event" autocomplete="off"><button type="submit">Find</button></form>
${p.results ?? ''}
<p class="paused-banner" role="status">${cell(c, 'hubspot.daily.banner')}</p>
<section class="alerts"><h2>Alerts <small class="muted">${cell(c, 'alertCount')}</small></h2><ul id="alert-list">${alerts}</ul></section>
<section><h2>Queues</h2><div class="grid">${p.overview.queues.map((q) => queueCard(q.name, c)).join('\n')}</div></section>
<section><h2>Last hour and day</h2><div class="charts">${chartIds.map((id) => `<div data-chart="${escapeHtml(id)}">${p.charts[id] ?? ''}</div>`).join('\n')}</div></section>
<section><h2>HubSpot and SendGrid calls</h2><div class="grid">${apiCard('hubspot', c)}${apiCard('sendgrid', c)}
${emailCard(c)}
<article class="card"><h3>Quarantine</h3><dl><div><dt><a href="/admin/quarantine">rejected webhooks kept</a></dt><dd>${cell(c, 'quarantine')}</dd></div></dl></article></div></section>
<section class="audit"><h2>Operator actions <small class="muted">last ${p.audit.length}</small></h2>${p.audit.length ? `<ul>${p.audit.map(auditLine).join('')}</ul>` : '<p class="muted">none yet</p>'}</section>
<p class="muted">Updated ${cell(c, 'generatedAt')}; refreshes every ${p.refreshSeconds} s.</p>`;
  return renderPage({
    title: 'course-sync overview',
    user: p.user,
    sandbox: p.sandbox,
    body,
    scripts: ['overview.js'],
    bodyAttributes: { 'data-refresh': String(p.refreshSeconds) },
  });
}
