import { escapeHtml as esc } from '../../html.ts';
import type { OutboxEmail } from './outbox.ts';

function addresses(list: { email: string; name?: string }[]): string {
  return list.map((a) => (a.name ? `${a.name} <${a.email}>` : a.email)).join(', ');
}

function card(e: OutboxEmail): string {
  const rows: [string, string][] = [
    ['To', addresses(e.to)],
    ['From', addresses([e.from])],
    ['Subject', e.subject ?? '(from template)'],
    ['Message id', `${e.messageId} #${e.index}`],
    ['Accepted', e.acceptedAt],
    ['custom_args', JSON.stringify(e.customArgs)],
  ];
  if (e.templateId)
    rows.push(['Template', e.templateId], ['dynamic_template_data', JSON.stringify(e.dynamicTemplateData, null, 2)]);
  const table = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td><pre>${esc(v)}</pre></td></tr>`).join('');
  // The email's HTML is shown in a sandboxed frame: no scripts, no same-origin access.
  const html = e.html ? `<iframe sandbox="" srcdoc="${esc(e.html)}"></iframe>` : '';
  const text = e.text ? `<details><summary>text/plain</summary><pre>${esc(e.text)}</pre></details>` : '';
  return `<article><table>${table}</table>${html}${text}</article>`;
}

/** The emulator's sandbox page: the newest accepted emails, rendered, newest first. */
export function sandboxPage(emails: OutboxEmail[], total: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SendGrid emulator outbox</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;max-width:60rem}
article{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
th{text-align:left;vertical-align:top;padding-right:1rem;white-space:nowrap}
pre{margin:0;white-space:pre-wrap}
iframe{width:100%;height:22rem;border:1px solid #eee;margin-top:.5rem}
</style></head><body>
<h1>SendGrid emulator — outbox</h1>
<p>${total} email(s) accepted; the newest ${emails.length} shown. Nothing here left this machine.
JSON: <a href="/_emulator/outbox">/_emulator/outbox</a></p>
${emails.map(card).join('\n')}
</body></html>`;
}
