import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context, Middleware, Next } from 'koa';
import type { Config } from '../config.ts';
import type { Enrollment } from '../events/types.ts';
import { OWN_CONTACT_PROPERTIES, type ContactMappingSpec } from '../contact-mapping/file.ts';
import { previewContact, type ContactPreview } from '../hubspot/contact-mapping-preview.ts';
import { escapeHtml } from '../html.ts';
import { adminUser } from './gate.ts';
import { renderPage } from './layout.ts';

/** Where the page is served. */
export const CONTACT_MAPPING_PATH = '/admin/contact-mapping';

const SEED = fileURLToPath(new URL('../../fixtures/loopwise/course.student_enroll.json', import.meta.url));

/** The mapping in use and the contact the seed enrollment would make under it. */
export interface MappingView {
  spec: ContactMappingSpec;
  preview: ContactPreview;
}

/** Reads the seed enrollment and previews its contact under the configured mapping (once: the mapping is read at start). */
export function mappingView(hubspot: Pick<Config['hubspot'], 'contactMapping' | 'phoneRegion'>): MappingView {
  const seed = (JSON.parse(readFileSync(SEED, 'utf8')) as { data: Enrollment }).data;
  return { spec: hubspot.contactMapping, preview: previewContact(hubspot.contactMapping, seed, hubspot.phoneRegion) };
}

const row = (cells: unknown[], head = false) =>
  `<tr>${cells.map((c) => (head ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`;

/** The mapping and the seed enrollment's contact as HTML (every value escaped); shared by this page and the sandbox page. */
export function mappingSection(view: MappingView): string {
  const entries = view.spec.entries.map((e) =>
    row([e.property, 'source' in e ? e.source : `"${e.value}" (constant)`, e.line]),
  );
  const preview = view.preview.ok
    ? `<table>${row(['HubSpot contact property', 'value'], true)}${Object.entries(view.preview.properties)
        .map(([k, v]) => row([k, v]))
        .join('')}</table>`
    : `<p>The seed enrollment makes no contact: ${escapeHtml(view.preview.reason)}</p>`;
  return `<section><h2>Contact mapping</h2>
<p>From <code>${escapeHtml(view.spec.path)}</code> (HUBSPOT_CONTACT_MAPPING). course-sync keeps ${OWN_CONTACT_PROPERTIES.map((p) => `<code>${escapeHtml(p)}</code>`).join(' and ')} itself.</p>
<table>${row(['HubSpot contact property', 'from', 'line'], true)}${entries.join('')}</table>
<h3>The contact the seed enrollment would produce</h3>
<p>The first write of <code>fixtures/loopwise/course.student_enroll.json</code>'s student, as sent to HubSpot under this mapping:</p>
${preview}</section>`;
}

/** Serves CONTACT_MAPPING_PATH (GET only; it changes nothing). Mount behind the admin gate. */
export function contactMappingRoute(view: MappingView, sandbox: boolean): Middleware {
  return async (ctx: Context, next: Next) => {
    if (ctx.method !== 'GET' || ctx.path.replace(/\/+$/, '') !== CONTACT_MAPPING_PATH) return next();
    ctx.type = 'html';
    ctx.body = renderPage({
      title: 'course-sync contact mapping',
      user: adminUser(ctx),
      sandbox,
      body: mappingSection(view),
    });
  };
}
