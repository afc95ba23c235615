import type { Middleware } from 'koa';
import type {
  SandboxAddress,
  SandboxAssociation,
  SandboxEmail,
  SandboxObject,
  SandboxProvider,
  SandboxSnapshot,
} from '../emulators/snapshot.ts';
import { escapeHtml } from '../html.ts';
import type { AdminUser } from './auth.ts';
import { adminUser } from './gate.ts';
import { renderPage } from './layout.ts';
import { mappingSection, type MappingView } from './contact-mapping-page.ts';

/** Where the page is served, behind the admin gate. */
export const SANDBOX_PATH = '/admin/sandbox';

function objectsTable(title: string, objects: SandboxObject[]): string {
  const keys = [...new Set(objects.flatMap((o) => Object.keys(o.properties ?? {})))].sort();
  const head = ['id', ...keys].map((k) => `<th>${escapeHtml(k)}</th>`).join('');
  const rows = objects
    .map(
      (o) =>
        `<tr><td>${escapeHtml(o.id)}${o.archived ? ' (archived)' : ''}</td>${keys.map((k) => `<td>${escapeHtml(o.properties?.[k])}</td>`).join('')}</tr>`,
    )
    .join('');
  // Wider than the page: the table scrolls inside its box, and says so (its right side is not lost).
  const hint = keys.length > 5 ? `<p class="meta">${keys.length} properties: scroll sideways to see them all</p>` : '';
  const body = objects.length
    ? `${hint}<div class="scroll"><table><tr>${head}</tr>${rows}</table></div>`
    : '<p class="none">none yet</p>';
  return `<section><h2>${escapeHtml(title)} (${objects.length})</h2>${body}</section>`;
}

const address = (a: SandboxAddress): string =>
  typeof a === 'string' ? a : a.name ? `${a.name} <${a.email}>` : a.email;

function emailCard(email: SandboxEmail): string {
  const to = (Array.isArray(email.to) ? email.to : [email.to]).map(address).join(', ');
  // The HTML body is shown in a sandboxed frame: rendered as the student sees it, no script runs.
  const html = email.html ? `<iframe sandbox="" title="HTML body" srcdoc="${escapeHtml(email.html)}"></iframe>` : '';
  const text = email.text ? `<pre>${escapeHtml(email.text)}</pre>` : '';
  return `<article><h3>${escapeHtml(email.subject ?? '(no subject)')}</h3>
<p class="meta">to ${escapeHtml(to)}${email.from ? ` · from ${escapeHtml(address(email.from))}` : ''}${email.messageId ? ` · X-Message-Id ${escapeHtml(email.messageId)}` : ''}${email.acceptedAt ? ` · ${escapeHtml(email.acceptedAt)}` : ''}</p>
${html}${text}</article>`;
}

/**
 * What a newcomer must know of the sandbox: the emulators keep what they received in this
 * process's memory (a restart starts them empty), while the service's Redis still remembers every
 * delivery (a seed event sent again is a duplicate): `emit --id` sends a new one.
 */
export const SANDBOX_NOTE =
  'The emulators keep what they received in memory only: each start of course-sync begins them empty, ' +
  'while Redis still remembers every delivery, so a sample sent again answers "200 duplicate". ' +
  'To see a new one here, give it a new id: course-sync emit course.student_enroll --id enroll_2';

function associationsTable(list: SandboxAssociation[]): string {
  const rows = list
    .map(
      (a) =>
        `<tr><td>${escapeHtml(a.contactId)}</td><td>${escapeHtml(a.contactEmail)}</td><td>${escapeHtml(a.courseRecordId)}</td><td>${escapeHtml(a.courseName)}</td></tr>`,
    )
    .join('');
  const body = list.length
    ? `<div class="scroll"><table><tr><th>contact</th><th>email</th><th>course record</th><th>hs_course_name</th></tr>${rows}</table></div>`
    : '<p class="none">none yet</p>';
  return `<section><h2>HubSpot contacts associated with course records (${list.length})</h2>${body}</section>`;
}

/** The sandbox page as HTML, in the console's frame: contacts, course records and their students, products, e-mails, and the contact mapping. */
export function renderSandboxPage(snapshot: SandboxSnapshot, user: AdminUser, mapping?: MappingView): string {
  const emails = snapshot.emails.length ? snapshot.emails.map(emailCard).join('\n') : '<p class="none">none yet</p>';
  const body = `<h2>Sandbox</h2>
<p class="banner">Sandbox mode: HubSpot and SendGrid are the built-in emulators. This is what they received since course-sync started.</p>
<p class="banner-note">${escapeHtml(SANDBOX_NOTE)}</p>
${objectsTable('HubSpot contacts', snapshot.contacts)}
${objectsTable('HubSpot course records (Courses object)', snapshot.courses ?? [])}
${associationsTable(snapshot.associations ?? [])}
${objectsTable('HubSpot products', snapshot.products)}
<section><h2>SendGrid e-mails (${snapshot.emails.length})</h2>
${emails}
</section>
${mapping ? mappingSection(mapping) : ''}`;
  return renderPage({
    title: 'course-sync sandbox',
    user,
    sandbox: true,
    body,
    styles: ['sandbox.css'],
    bodyAttributes: { class: 'sandbox' },
  });
}

/**
 * Serves the sandbox page at SANDBOX_PATH (and its JSON with `?format=json`). With no provider
 * (not in sandbox mode) the path answers 404. Mount behind the admin gate.
 */
export function sandboxMiddleware(provider: SandboxProvider | undefined, mapping?: MappingView): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== SANDBOX_PATH || ctx.method !== 'GET') return next();
    if (!provider) {
      ctx.status = 404;
      ctx.body = { error: 'The sandbox page exists only in sandbox mode (no HubSpot/SendGrid credentials)' };
      return;
    }
    const snapshot = await provider();
    if (ctx.query.format === 'json') {
      ctx.body = snapshot;
      return;
    }
    ctx.type = 'html';
    ctx.body = renderSandboxPage(snapshot, adminUser(ctx), mapping);
  };
}
