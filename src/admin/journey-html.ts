import { callsExpiredText, describeCalls, describeStep, describeSubject } from '../trace/format.ts';
import type { Journey } from '../trace/journey.ts';
import type { TraceStep } from '../trace/model.ts';
import { escapeHtml } from '../html.ts';
import { deadLetterQueueName, type WorkQueueName } from '../queues/names.ts';
import { timeHtml } from './layout.ts';
import { adminLinks } from '../console-links.ts';

function idsHtml(step: TraceStep): string {
  const ids = [
    step.hubspotContactId && ['HubSpot contact', step.hubspotContactId],
    step.hubspotProductIds?.length && ['HubSpot products', step.hubspotProductIds.join(', ')],
    step.sendgridMessageId && ['SendGrid message', step.sendgridMessageId],
  ].filter(Boolean) as [string, string][];
  return ids.map(([label, id]) => ` <span class="id">${label} <code>${escapeHtml(id)}</code></span>`).join('');
}

/** The bull-board page of the job a step happened to (its dead letter's page for a dead-lettering). */
function stepLink(key: string, step: TraceStep): string {
  if (!step.queue) return '';
  const queue = step.kind === 'dead-lettered' ? deadLetterQueueName(step.queue as WorkQueueName) : step.queue;
  return ` <a class="job" href="${escapeHtml(adminLinks.job(queue, key))}">job</a>`;
}

function stepHtml(key: string, step: TraceStep): string {
  // describeStep ends with the ids as text; they are shown as code instead.
  const ids = idsHtml(step);
  const text = ids
    ? describeStep({ ...step, hubspotContactId: undefined, hubspotProductIds: undefined, sendgridMessageId: undefined })
    : describeStep(step);
  const kind =
    step.kind === 'failed' || step.kind === 'dead-lettered' || step.kind === 'quarantined'
      ? 'bad'
      : step.kind === 'retrying'
        ? 'warn'
        : 'ok';
  return `<li class="${kind}">${timeHtml(step.at)} <b>${escapeHtml(step.queue ?? 'receiver')}</b> ${escapeHtml(text)}${ids}${stepLink(key, step)}</li>`;
}

/** The HubSpot and SendGrid calls the event's jobs took part in (its own part of each), folded. */
function callsHtml(j: Journey): string {
  if (j.callsExpiredAfterDays)
    return `<p class="calls muted">${escapeHtml(callsExpiredText(j.callsExpiredAfterDays))}</p>`;
  const lines = describeCalls(j.calls);
  return lines.length
    ? `<details class="calls"><summary>${lines.length} HubSpot/SendGrid call(s): what was asked and answered for this record</summary><ul>${lines.map((l) => `<li><code>${escapeHtml(l)}</code></li>`).join('')}</ul></details>`
    : '';
}

/** One journey as an HTML card: what it is, where each job is now (linked to bull-board), every step. */
export function journeyHtml(j: Journey): string {
  const h = j.header;
  const now = j.now
    .map((p) => {
      const label = `${escapeHtml(p.queue)}: <b>${escapeHtml(p.state)}</b>`;
      const title = p.detail ? ` title="${escapeHtml(p.detail)}"` : '';
      return `<li class="state-${escapeHtml(p.state.replace(/\s+/g, '-'))}"${title}>${p.url ? `<a href="${escapeHtml(p.url)}">${label}</a>` : label}</li>`;
    })
    .join('');
  const received = h
    ? `<li class="ok">${timeHtml(h.receivedAt)} <b>receiver</b> received → ${escapeHtml(h.quarantineId ? `quarantine (entry ${h.quarantineId})` : h.queues.join(', '))}${h.correlationId ? ` <span class="muted">request ${escapeHtml(h.correlationId)}</span>` : ''}</li>`
    : '';
  return `<article class="journey" data-key="${escapeHtml(j.key)}">
<h3><code>${escapeHtml(j.key)}</code> <small>${escapeHtml(h?.eventType ?? '')}</small></h3>
<p class="muted">${escapeHtml(describeSubject(h))}</p>
<ul class="now">${now}</ul>
<ol class="steps">${received}${j.steps.map((s) => stepHtml(j.key, s)).join('')}</ol>${callsHtml(j)}
</article>`;
}

/** The search result block: a heading with the (masked) query and one card per journey. */
export function searchResultsHtml(shownQuery: string, journeys: Journey[]): string {
  const heading = journeys.length
    ? `${journeys.length} ${journeys.length === 1 ? 'event matches' : 'events match'} ${escapeHtml(shownQuery)}`
    : `No event matches ${escapeHtml(shownQuery)}`;
  return `<section id="results"><h2>${heading}</h2>${journeys.map(journeyHtml).join('\n')}</section>`;
}
