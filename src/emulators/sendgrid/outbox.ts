import { escapeHtml } from '../../html.ts';
import type { Address, MailSendBody } from './validation.ts';

/** A dynamic template the emulator can render (`{{var}}` escaped, `{{{var}}}` raw, dotted paths). */
export interface EmulatedTemplate {
  subject?: string;
  html?: string;
  text?: string;
}

/** One accepted email: a personalization of an accepted Mail Send request. */
export interface OutboxEmail {
  /** The request's `X-Message-Id`. */
  messageId: string;
  /** Index of the personalization within its request. */
  index: number;
  acceptedAt: string;
  from: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  subject?: string;
  /** Rendered bodies (substitutions applied, or the registered template rendered). */
  text?: string;
  html?: string;
  templateId?: string;
  dynamicTemplateData?: Record<string, unknown>;
  customArgs: Record<string, string>;
  categories: string[];
  sendAt?: number;
}

function lookup(data: Record<string, unknown>, path: string): string {
  let v: unknown = data;
  for (const part of path.split('.'))
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v === undefined || v === null ? '' : String(v);
}

/** Renders the small Handlebars subset the emulator supports; `escape` is for HTML bodies. */
function renderTemplate(
  source: string | undefined,
  data: Record<string, unknown>,
  escape: boolean,
): string | undefined {
  if (source === undefined) return undefined;
  return source
    .replace(/\{\{\{\s*([\w.]+)\s*\}\}\}/g, (_m, path: string) => lookup(data, path))
    .replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_m, path: string) =>
      escape ? escapeHtml(lookup(data, path)) : lookup(data, path),
    );
}

function substitute(source: string | undefined, subs: Record<string, string> | undefined): string | undefined {
  if (source === undefined || !subs) return source;
  let out = source;
  for (const [key, value] of Object.entries(subs)) out = out.split(key).join(value);
  return out;
}

/** Every email the emulator accepted, in order, with helpers for assertions. */
export class Outbox {
  private readonly emails: OutboxEmail[] = [];

  constructor(private readonly templates: Record<string, EmulatedTemplate> = {}) {}

  /** Records each personalization of an accepted request as one email; returns them. */
  accept(body: MailSendBody, messageId: string): OutboxEmail[] {
    const acceptedAt = new Date().toISOString();
    const contentOf = (type: string) => body.content?.find((c) => c.type.toLowerCase() === type)?.value;
    const template = body.template_id ? this.templates[body.template_id] : undefined;
    body.personalizations.forEach((p, index) => {
      const data = p.dynamic_template_data ?? {};
      const email: OutboxEmail = {
        messageId,
        index,
        acceptedAt,
        from: p.from ?? body.from,
        to: p.to,
        cc: p.cc ?? [],
        bcc: p.bcc ?? [],
        customArgs: { ...(body.custom_args ?? {}), ...(p.custom_args ?? {}) },
        categories: body.categories ?? [],
        sendAt: p.send_at ?? body.send_at,
      };
      if (body.template_id) {
        email.templateId = body.template_id;
        email.dynamicTemplateData = data;
      }
      if (template) {
        email.subject = renderTemplate(template.subject, data, false);
        email.text = renderTemplate(template.text, data, false);
        email.html = renderTemplate(template.html, data, true);
      } else {
        email.subject = substitute(p.subject ?? body.subject, p.substitutions);
        email.text = substitute(contentOf('text/plain'), p.substitutions);
        email.html = substitute(contentOf('text/html'), p.substitutions);
      }
      this.emails.push(email);
    });
    return this.emails.slice(-body.personalizations.length);
  }

  /** All accepted emails, oldest first (a copy). */
  all(): OutboxEmail[] {
    return [...this.emails];
  }

  /** Emails with `address` among their `to` recipients (case-insensitive). */
  to(address: string): OutboxEmail[] {
    const a = address.toLowerCase();
    return this.emails.filter((e) => e.to.some((r) => r.email.toLowerCase() === a));
  }

  /** Emails whose custom_args[key] equals `value`. */
  withCustomArg(key: string, value: string): OutboxEmail[] {
    return this.emails.filter((e) => e.customArgs[key] === value);
  }

  /** custom_args[key] values carried by more than one email, with their counts (e.g. 'enrollment_id' → duplicates sent). */
  duplicates(key: string): [value: string, count: number][] {
    const counts = new Map<string, number>();
    for (const e of this.emails) {
      const v = e.customArgs[key];
      if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    return [...counts].filter(([, n]) => n > 1);
  }

  get size(): number {
    return this.emails.length;
  }

  clear(): void {
    this.emails.length = 0;
  }
}
