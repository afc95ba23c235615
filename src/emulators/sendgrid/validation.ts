import { schemaErrors, type SendGridError } from './schema.ts';

/** A recipient as the wire format carries it. */
export interface Address {
  email: string;
  name?: string;
}

/** One personalization of a Mail Send body (after schema validation). */
export interface WirePersonalization {
  to: Address[];
  cc?: Address[];
  bcc?: Address[];
  from?: Address;
  subject?: string;
  substitutions?: Record<string, string>;
  dynamic_template_data?: Record<string, unknown>;
  custom_args?: Record<string, string>;
  send_at?: number;
  headers?: Record<string, string>;
}

/** A Mail Send body (after schema validation). */
export interface MailSendBody {
  personalizations: WirePersonalization[];
  from: Address;
  reply_to?: Address;
  subject?: string;
  content?: { type: string; value: string }[];
  template_id?: string;
  custom_args?: Record<string, string>;
  categories?: string[];
  send_at?: number;
  [other: string]: unknown;
}

const MAX_RECIPIENTS = 1000;
const MAX_CUSTOM_ARGS_BYTES = 10_000;
const HELP = 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.';

const SUBJECT_REQUIRED =
  'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.';
const CONTENT_REQUIRED =
  'Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.';

function error(field: string | null, message: string, topic = field ?? ''): SendGridError {
  return { field, message, help: topic ? HELP + topic.replace(/\.\d+/g, '') : null };
}

/** Rules the API enforces beyond its schema: subject/content unless a template, unique recipients, limits. */
function ruleErrors(body: MailSendBody): SendGridError[] {
  const errors: SendGridError[] = [];
  const templated = typeof body.template_id === 'string' && body.template_id !== '';
  const ps = body.personalizations;

  if (ps.length === 0) errors.push(error('personalizations', 'You must have at least one personalization.'));
  if (!templated && !body.subject && !(ps.length > 0 && ps.every((p) => p.subject)))
    errors.push(error('subject', SUBJECT_REQUIRED));
  if (!templated && !body.content?.length) errors.push(error('content', CONTENT_REQUIRED));

  const types = (body.content ?? []).map((c) => c.type.toLowerCase());
  for (const t of ['text/plain', 'text/html']) {
    if (types.filter((x) => x === t).length > 1)
      errors.push(error('content', 'If present, text/plain and text/html may only be provided once.'));
  }
  const plain = types.indexOf('text/plain');
  const html = types.indexOf('text/html');
  if (plain > 0 || (html >= 0 && html !== (plain === 0 ? 1 : 0))) {
    errors.push(
      error('content', 'If present, text/plain must be first, followed by text/html, followed by any other content.'),
    );
  }

  let recipients = 0;
  const seen = new Map<string, number>();
  ps.forEach((p, i) => {
    if (p.to.length === 0) {
      errors.push(
        error(
          `personalizations.${i}.to`,
          'The to array is required for all personalization objects, and must have at least one email object with a valid email address.',
        ),
      );
    }
    const inBlock = new Set<string>();
    for (const kind of ['to', 'cc', 'bcc'] as const) {
      for (const a of p[kind] ?? []) {
        recipients++;
        const address = a.email.trim().toLowerCase();
        if (inBlock.has(address)) {
          errors.push(
            error(
              `personalizations.${i}`,
              `Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [${a.email}] in the personalizations.${i}.${kind} field.`,
            ),
          );
        } else if (seen.has(address)) {
          errors.push(
            error(
              'personalizations',
              `Each unique email address in the personalizations array should only be included once. You have included [${a.email}] more than once.`,
            ),
          );
        }
        inBlock.add(address);
        seen.set(address, i);
      }
    }
    const args = { ...(body.custom_args ?? {}), ...(p.custom_args ?? {}) };
    for (const [k, v] of Object.entries(p.custom_args ?? {})) {
      if (typeof v !== 'string')
        errors.push(
          error(
            `personalizations.${i}.custom_args.${k}`,
            `Invalid type. Expected: string, given: ${v === null ? 'null' : typeof v}.`,
            'personalizations.custom_args',
          ),
        );
    }
    if (Buffer.byteLength(JSON.stringify(args)) > MAX_CUSTOM_ARGS_BYTES) {
      errors.push(
        error(
          `personalizations.${i}.custom_args`,
          `The custom_args of a personalization may not exceed ${MAX_CUSTOM_ARGS_BYTES} bytes.`,
        ),
      );
    }
  });
  if (recipients > MAX_RECIPIENTS)
    errors.push(
      error('personalizations', `There is a limit of ${MAX_RECIPIENTS} total recipients (to + cc + bcc) per request.`),
    );
  return errors;
}

/**
 * Validates a parsed Mail Send body as the live API does: first the OpenAPI schema (types,
 * required fields, addresses, ≤ 1000 personalizations), then the API's own rules. Empty = valid.
 */
export function validateMailSend(body: unknown): SendGridError[] {
  const structural = schemaErrors(body);
  if (structural.length) return structural;
  return ruleErrors(body as MailSendBody);
}
