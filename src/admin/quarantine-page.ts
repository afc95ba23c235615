import { escapeHtml } from '../html.ts';
import { maskBody } from '../privacy/mask.ts';
import { canReplay, type QuarantineEntry } from '../quarantine/store.ts';
import type { AdminUser } from './auth.ts';
import { actionButton, timeHtml } from './layout.ts';

/** One rejected webhook: when, status, reason, each field error, from where, how big, and its body masked. */
function entryCard(user: AdminUser, e: QuarantineEntry): string {
  const errors = e.errors.length
    ? `<ul class="field-errors">${e.errors.map((f) => `<li><code>${escapeHtml(f.field)}</code> ${escapeHtml(f.message)}</li>`).join('')}</ul>`
    : '';
  const replay = canReplay(e)
    ? actionButton(
        user,
        'Replay',
        `/admin/api/quarantine/${encodeURIComponent(e.id)}/replay`,
        {},
        `Check ${e.id} against today's schema and enqueue it if it passes?`,
      )
    : '';
  return `<article class="card entry" data-id="${escapeHtml(e.id)}">
<h3><span class="status s${e.status}">${e.status}</span> ${escapeHtml(e.eventType || 'unknown type')} <small class="muted">${timeHtml(e.receivedAt)} · ${escapeHtml(e.id)}</small></h3>
<p>${escapeHtml(e.reason)}</p>${errors}
<p class="muted">from ${escapeHtml(e.source || 'unknown address')} · ${e.bytes} bytes${e.truncated ? ' (body cut at 64 KB)' : ''}${e.replayable ? ' · replayable' : ''} ${replay}</p>
<details><summary>body (e-mail and phone masked)</summary><pre class="payload">${escapeHtml(maskBody(e.body))}</pre></details>
</article>`;
}

/** /admin/quarantine: rejected webhooks newest first; 422s replayable alone or every entry of one reason at once (operators). */
export function quarantineBody(user: AdminUser, entries: QuarantineEntry[], size: number): string {
  const byReason = new Map<string, number>();
  for (const e of entries) if (canReplay(e)) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
  const reasons = [...byReason]
    .filter(([, n]) => n > 1)
    .map(
      ([reason, n]) =>
        `<li>${n} × ${escapeHtml(reason)} ${actionButton(user, `Replay all ${n}`, '/admin/api/quarantine/replay', { reason }, `Check the ${n} webhooks refused for this reason against today's schema and enqueue those that pass?`)}</li>`,
    );
  return `<h2>Quarantine <small class="muted">${size} kept${entries.length < size ? `, newest ${entries.length} shown` : ''}</small></h2>
<p class="muted">Webhooks the receiver refused, kept for inspection. Schema-invalid ones (422) can be replayed once the mapping is fixed: they are checked again and enqueued as the receiver would, under the same idempotency key.</p>
<div id="result" role="status" aria-live="polite"></div>
${reasons.length ? `<section><h3>Refused for the same reason</h3><ul class="reasons">${reasons.join('')}</ul></section>` : ''}
${entries.length ? entries.map((e) => entryCard(user, e)).join('\n') : '<p class="muted">Nothing in quarantine.</p>'}`;
}
