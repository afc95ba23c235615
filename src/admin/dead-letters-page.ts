import type { Job } from 'bullmq';
import { escapeHtml } from '../html.ts';
import { maskPersonalData } from '../privacy/mask.ts';
import type { DeadLetter } from '../queues/dead-letter.ts';
import type { DeadLetterGroup } from '../queues/dead-letter-groups.ts';
import { eventIdOf, shownLetter } from '../queues/dead-letter-view.ts';
import type { WorkQueueName } from '../queues/names.ts';
import type { AdminUser } from './auth.ts';
import { actionButton, timeHtml } from './layout.ts';
import { DASHBOARD_PATH, adminLinks } from '../console-links.ts';

/** One work queue's dead letters, grouped, with the newest letter of each group to open. */
export interface QueueDeadLetters {
  queue: WorkQueueName;
  dlqName: string;
  groups: { group: DeadLetterGroup; example?: Job<DeadLetter> }[];
}

const SHOWN_IDS = 20;

/** Where a letter's event is traced (job ids are idempotency keys, never an address). */
export const traceUrl = (jobId: string) => `/admin?q=${encodeURIComponent(jobId)}`;
const letterUrl = (queue: string, id: string) =>
  `/admin/dead-letters/${encodeURIComponent(queue)}/${encodeURIComponent(id)}`;

/** Every attempt's error of a letter, then its payload, with e-mail and phone masked in both. */
export function letterDetails(letter: DeadLetter): string {
  const attempts = shownLetter(letter)
    .errors.map((e) => `<li>${timeHtml(e.at)} attempt ${e.attempt}: <code>${escapeHtml(e.message)}</code></li>`)
    .join('');
  return `<ol class="attempts">${attempts}</ol>
<p class="muted">${letter.attemptsMade} attempt(s)${letter.unrecoverable ? ', not retryable' : ''}; dead since ${timeHtml(letter.deadAt)}</p>
<pre class="payload">${escapeHtml(JSON.stringify(maskPersonalData(letter.data), null, 2))}</pre>`;
}

function groupCard(
  user: AdminUser,
  q: QueueDeadLetters,
  { group, example }: QueueDeadLetters['groups'][number],
): string {
  const api = (what: string) => `/admin/api/dlq/${encodeURIComponent(q.queue)}/${what}`;
  const ids = group.ids
    .slice(-SHOWN_IDS)
    .reverse()
    .map(
      (id) =>
        `<li><a href="${letterUrl(q.queue, id)}">${escapeHtml(id)}</a> · <a href="${traceUrl(id)}">trace</a></li>`,
    )
    .join('');
  const more = group.ids.length > SHOWN_IDS ? `<li class="muted">and ${group.ids.length - SHOWN_IDS} more</li>` : '';
  const n = group.count;
  return `<article class="card group" data-queue="${escapeHtml(q.queue)}" data-cause="${escapeHtml(group.cause)}">
<h3><span data-count>${n}</span> × <code class="cause">${escapeHtml(group.cause)}</code></h3>
<dl><div><dt>category</dt><dd>${escapeHtml(group.category ?? '—')}</dd></div><div><dt>first</dt><dd>${timeHtml(group.firstAt)}</dd></div><div><dt>last</dt><dd>${timeHtml(group.lastAt)}</dd></div></dl>
<p class="actions">${actionButton(user, 'Replay group', api('replay'), { cause: group.cause }, `Replay the ${n} dead letter(s) of ${q.queue} with this cause? They go back on the queue with fresh attempts.`)}
${actionButton(user, 'Purge group', api('purge'), { cause: group.cause }, `Delete the ${n} dead letter(s) of ${q.queue} with this cause for good?`)}</p>
${example ? `<details><summary>newest: ${escapeHtml(example.id ?? '')} · ${escapeHtml(eventIdOf(example.data.data) ?? '')}</summary>${letterDetails(example.data)}</details>` : ''}
<details><summary>the ${n} letter(s)</summary><ul class="ids">${ids}${more}</ul></details>
</article>`;
}

/** /admin/dead-letters: per work queue, dead letters grouped by cause, with replay and purge per group (operators). */
export function deadLettersBody(user: AdminUser, queues: QueueDeadLetters[]): string {
  const sections = queues.map((q) => {
    const total = q.groups.reduce((n, g) => n + g.group.count, 0);
    const cards = q.groups.length ? q.groups.map((g) => groupCard(user, q, g)).join('\n') : '<p class="muted">none</p>';
    return `<section id="${escapeHtml(q.queue)}"><h2>${escapeHtml(q.queue)} <small class="muted">${total} dead letter(s), ${q.groups.length} cause(s) · <a href="${DASHBOARD_PATH}/queue/${encodeURIComponent(q.dlqName)}">in bull-board</a></small></h2>
<div class="groups">${cards}</div></section>`;
  });
  return `<h2>Dead letters</h2>
<p class="muted">Jobs that failed for good, grouped by cause: fix the cause, then replay the group. Replayed letters go back on their queue under the same job id, so nothing is sent twice.</p>
<div id="result" role="status" aria-live="polite"></div>
${sections.join('\n')}`;
}

/** /admin/dead-letters/:queue/:id: one letter opened, with replay and purge (operators) and a link to its trace. */
export function deadLetterBody(user: AdminUser, queue: WorkQueueName, job: Job<DeadLetter>): string {
  const id = job.id ?? job.data.jobId;
  const api = (what: string) => `/admin/api/dlq/${encodeURIComponent(queue)}/${what}`;
  return `<p><a href="/admin/dead-letters#${escapeHtml(queue)}">← dead letters of ${escapeHtml(queue)}</a></p>
<h2>Dead letter <code>${escapeHtml(id)}</code> <small class="muted">${escapeHtml(queue)} · ${escapeHtml(job.data.name)}</small></h2>
<p><a href="${traceUrl(id)}">its trace</a> · <a href="${adminLinks.job(job.queueName, id)}">in bull-board</a></p>
<p class="actions">${actionButton(user, 'Replay', api('replay'), { ids: [id] }, `Replay ${id}?`, { 'data-after': '/admin/dead-letters' })}
${actionButton(user, 'Purge', api('purge'), { ids: [id] }, `Delete ${id} for good?`, { 'data-after': '/admin/dead-letters' })}</p>
<div id="result" role="status" aria-live="polite"></div>
${letterDetails(job.data)}`;
}
