import { describeStep, describeSubject } from '../trace/format.ts';
import type { Journey } from '../trace/journey.ts';
import type { TraceStep } from '../trace/model.ts';
import { escapeHtml } from '../html.ts';

const time = (iso: string) => `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').replace(/Z$/, ''))}</time>`;

function idsHtml(step: TraceStep): string {
  const ids = [
    step.hubspotContactId && ['HubSpot contact', step.hubspotContactId],
    step.hubspotProductIds?.length && ['HubSpot products', step.hubspotProductIds.join(', ')],
    step.sendgridMessageId && ['SendGrid message', step.sendgridMessageId],
  ].filter(Boolean) as [string, string][];
  return ids.map(([label, id]) => ` <span class="id">${label} <code>${escapeHtml(id)}</code></span>`).join('');
}

function stepHtml(step: TraceStep): string {
  // describeStep ends with the ids as text; they are shown as code instead.
  const ids = idsHtml(step);
  const text = ids ? describeStep({ ...step, hubspotContactId: undefined, hubspotProductIds: undefined, sendgridMessageId: undefined }) : describeStep(step);
  const kind = step.kind === 'failed' || step.kind === 'dead-lettered' || step.kind === 'quarantined' ? 'bad' : step.kind === 'retrying' ? 'warn' : 'ok';
  return `<li class="${kind}">${time(step.at)} <b>${escapeHtml(step.queue ?? 'receiver')}</b> ${escapeHtml(text)}${ids}</li>`;
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
    ? `<li class="ok">${time(h.receivedAt)} <b>receiver</b> received → ${escapeHtml(h.quarantineId ? `quarantine (entry ${h.quarantineId})` : h.queues.join(', '))}${h.correlationId ? ` <span class="muted">request ${escapeHtml(h.correlationId)}</span>` : ''}</li>`
    : '';
  return `<article class="journey" data-key="${escapeHtml(j.key)}">
<h3><code>${escapeHtml(j.key)}</code> <small>${escapeHtml(h?.eventType ?? '')}</small></h3>
<p class="muted">${escapeHtml(describeSubject(h))}</p>
<ul class="now">${now}</ul>
<ol class="steps">${received}${j.steps.map(stepHtml).join('')}</ol>
</article>`;
}

/** The search result block: a heading with the (masked) query and one card per journey. */
export function searchResultsHtml(shownQuery: string, journeys: Journey[]): string {
  const heading = journeys.length
    ? `${journeys.length} ${journeys.length === 1 ? 'event matches' : 'events match'} ${escapeHtml(shownQuery)}`
    : `No event matches ${escapeHtml(shownQuery)}`;
  return `<section id="results"><h2>${heading}</h2>${journeys.map(journeyHtml).join('\n')}</section>`;
}
