import { DASHBOARD_PATH } from './bull-board.ts';
import type { ActiveAlert } from '../alerts/state.ts';
import { escapeHtml } from '../html.ts';
import type { Overview } from '../stats/overview.ts';

export interface AdminPageInput {
  overview: Overview;
  cells: Record<string, string>;
  alerts: ActiveAlert[];
  /** The search results block (already HTML), when a search was made. */
  results?: string;
  /** Text to put back in the search box (never an e-mail). */
  query?: string;
  sandbox: boolean;
  /** CSP nonce of the inline script. */
  nonce: string;
  refreshSeconds: number;
}

const cell = (cells: Record<string, string>, name: string) => `<span data-cell="${escapeHtml(name)}">${escapeHtml(cells[name] ?? '')}</span>`;

function queueCard(name: string, c: Record<string, string>): string {
  const row = (label: string, value: string) => `<div><dt>${label}</dt><dd>${value}</dd></div>`;
  return `<article class="card"><h3><a href="${DASHBOARD_PATH}/queue/${encodeURIComponent(name)}">${escapeHtml(name)}</a></h3><dl>
${row('waiting', cell(c, `${name}.waiting`))}${row('running', cell(c, `${name}.active`))}${row('retrying', cell(c, `${name}.delayed`))}
${row('jobs/min (1 h)', cell(c, `${name}.perMinuteHour`))}${row('jobs/min (24 h)', cell(c, `${name}.perMinuteDay`))}
${row('failed attempts (1 h)', cell(c, `${name}.failureHour`))}${row('failed attempts (24 h)', cell(c, `${name}.failureDay`))}
${row('oldest waiting', cell(c, `${name}.oldestWaiting`))}
${row(`<a href="${DASHBOARD_PATH}/queue/${encodeURIComponent(name)}-dlq">dead letters</a>`, cell(c, `${name}.deadLetters`))}
</dl></article>`;
}

function apiCard(api: 'hubspot' | 'sendgrid', c: Record<string, string>): string {
  const title = api === 'hubspot' ? 'HubSpot' : 'SendGrid';
  const rows = (['calls', 'rateLimited', 'authErrors', 'serverErrors'] as const)
    .map((k) => `<tr><th>${{ calls: 'calls', rateLimited: '429 rate limited', authErrors: '401/403', serverErrors: '5xx' }[k]}</th><td>${cell(c, `${api}.hour.${k}`)}</td><td>${cell(c, `${api}.day.${k}`)}</td></tr>`)
    .join('');
  return `<article class="card"><h3>${title}</h3><table><tr><th></th><th>1 h</th><th>24 h</th></tr>${rows}</table></article>`;
}

const STYLE = `
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,sans-serif;margin:0;color:#1f2933;background:#f5f7fa;font-size:16px}
header{background:#243b53;color:#fff;padding:.7rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}
header h1{font-size:1.15rem;margin:0 auto 0 0}header a{color:#d9e2ec}main{padding:1rem;max-width:70rem;margin:0 auto}
form{display:flex;gap:.5rem;margin:0 0 1rem}input[type=search]{flex:1;min-width:0;font-size:1rem;padding:.55rem;border:1px solid #9fb3c8;border-radius:6px}
button{font-size:1rem;padding:.55rem 1rem;border:0;border-radius:6px;background:#334e68;color:#fff}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:.8rem}
.card,.journey{background:#fff;border:1px solid #d9e2ec;border-radius:8px;padding:.6rem .9rem}.card h3{margin:.2rem 0 .5rem;font-size:1.05rem}
dl{margin:0;display:grid;grid-template-columns:1fr auto;gap:.15rem .8rem}dl div{display:contents}dt{color:#52606d}dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}
table{width:100%;border-collapse:collapse}th,td{text-align:right;padding:.15rem .3rem}th:first-child{text-align:left;color:#52606d;font-weight:normal}
.muted{color:#7b8794}.alerts li{color:#9b1c1c}.journey{margin:.8rem 0}.journey h3{margin:.2rem 0;font-size:1rem;overflow-wrap:anywhere}
.now{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem}.now li{background:#e4e7eb;border-radius:999px;padding:.15rem .7rem}
.now .state-done{background:#c6f7e2}.now .state-dead-letter,.now .state-failed,.now .state-quarantine{background:#ffd0d0}.now .state-retrying{background:#fff3c4}
.steps{padding-left:1.2rem;margin:.4rem 0}.steps li{margin:.25rem 0;overflow-wrap:anywhere}.steps li.bad{color:#9b1c1c}.steps li.warn{color:#8d4b00}
time{color:#52606d;font-variant-numeric:tabular-nums}code{background:#f0f4f8;padding:0 .25rem;border-radius:3px;overflow-wrap:anywhere}.id{display:inline-block;max-width:100%}
@media (max-width:30rem){main{padding:.6rem}.grid{grid-template-columns:1fr}}`;

// Refreshes every [data-cell] and the alert list from the JSON endpoint; textContent only.
const SCRIPT = (seconds: number) => `
(function(){
  async function refresh(){
    try{
      var r=await fetch('/admin/api/overview',{headers:{accept:'application/json'},credentials:'same-origin'});
      if(!r.ok)return;var o=await r.json();
      document.querySelectorAll('[data-cell]').forEach(function(el){var v=o.cells[el.getAttribute('data-cell')];if(v!==undefined)el.textContent=v;});
      var ul=document.getElementById('alert-list');ul.textContent='';
      o.alerts.forEach(function(a){var li=document.createElement('li');li.textContent=a.text+' (since '+a.since+')';ul.appendChild(li);});
    }catch(e){}
  }
  setInterval(refresh,${seconds * 1000});
})();`;

/** The /admin page: search box (and results), firing alerts, per-queue figures and API calls; refreshes itself. */
export function renderAdminPage(p: AdminPageInput): string {
  const c = p.cells;
  const nav = [
    [DASHBOARD_PATH, 'Queues'],
    ...(p.sandbox ? [['/admin/sandbox', 'Sandbox']] : []),
    ['/admin/api/dlq', 'Dead letters (JSON)'],
    ['/admin/api/quarantine', 'Quarantine (JSON)'],
    ['/metrics', 'Metrics'],
  ];
  const alerts = p.alerts.map((a) => `<li>${escapeHtml(a.text)} <span class="muted">(since ${escapeHtml(a.since)})</span></li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>course-sync overview</title><style>${STYLE}</style></head><body>
<header><h1>course-sync</h1>${nav.map(([href, text]) => `<a href="${href}">${text}</a>`).join('')}</header>
<main>
<form method="post" action="/admin" role="search"><input type="search" name="q" value="${escapeHtml(p.query ?? '')}" placeholder="enrollment id, course id, plan id or student e-mail" aria-label="Find an event" autocomplete="off"><button type="submit">Find</button></form>
${p.results ?? ''}
<section class="alerts"><h2>Alerts <small class="muted">${cell(c, 'alertCount')}</small></h2><ul id="alert-list">${alerts}</ul></section>
<section><h2>Queues</h2><div class="grid">${p.overview.queues.map((q) => queueCard(q.name, c)).join('\n')}</div></section>
<section><h2>HubSpot and SendGrid calls</h2><div class="grid">${apiCard('hubspot', c)}${apiCard('sendgrid', c)}
<article class="card"><h3>Quarantine</h3><dl><div><dt>rejected webhooks kept</dt><dd>${cell(c, 'quarantine')}</dd></div></dl></article></div></section>
<p class="muted">Updated ${cell(c, 'generatedAt')}; refreshes every ${p.refreshSeconds} s.</p>
</main>
<script nonce="${escapeHtml(p.nonce)}">${SCRIPT(p.refreshSeconds)}</script>
</body></html>`;
}
