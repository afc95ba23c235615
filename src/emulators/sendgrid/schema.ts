import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One entry of SendGrid's `{ errors: [...] }` body. */
export interface SendGridError {
  message: string;
  field: string | null;
  help: string | null;
}

/** The subset of JSON Schema the Mail Send request body uses. */
interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  maxItems?: number;
  minItems?: number;
  minLength?: number;
  maxLength?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
  enum?: unknown[];
  format?: string;
  nullable?: boolean;
}

type Check = (value: unknown, path: string, errors: SendGridError[]) => void;

const SPEC_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'reference',
  'sendgrid',
  'mail-send-v3.openapi.json',
);
const HELP = 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.';

/** SendGrid's address check is lenient: one @, no spaces or brackets, a dotted domain. */
const EMAIL_ADDRESS =
  /^[^\s@<>()[\],;:"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** SendGrid's own wording for a missing required field, by path (indices written as N). */
const REQUIRED_MESSAGES: Record<string, [field: string, message: string]> = {
  personalizations: [
    'personalizations',
    'The personalizations field is required and must have at least one personalization.',
  ],
  from: [
    'from.email',
    'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.  e.g. {"email" : "example@example.com"}  or {"email" : "example@example.com", "name" : "Example Recipient"}.',
  ],
  'from.email': [
    'from.email',
    'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.  e.g. {"email" : "example@example.com"}  or {"email" : "example@example.com", "name" : "Example Recipient"}.',
  ],
  'personalizations.N.to': [
    'personalizations.N.to',
    'The to array is required for all personalization objects, and must have at least one email object with a valid email address.',
  ],
  'personalizations.N.to.N.email': [
    'personalizations.N.to.N.email',
    'Each to object must at least have an email address and may also contain a name. e.g. {"email": "example@example.com"} or {"email": "example@example.com", "name": "Example Recipient"}',
  ],
};

/**
 * Known mistakes of the published spec, corrected to what the live API does: the message-level
 * `custom_args` is documented as a string but the API (and @sendgrid/mail) send an object of strings.
 */
function correctSpec(body: Schema): Schema {
  body.properties!.custom_args = { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 10000 };
  return body;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function help(path: string): string {
  return HELP + path.replace(/\.\d+/g, '').split('.').slice(0, 2).join('.');
}

function generic(path: string): string {
  return path.replace(/\.\d+(?=\.|$)/g, '.N');
}

function last(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

/** Compiles `schema` once into a checker function; `$ref`s are resolved against `components`. */
function compile(schema: Schema, components: Record<string, Schema>): Check {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = components[name];
    if (!target) throw new Error(`Unresolved $ref ${schema.$ref} in the SendGrid spec`);
    // A schema with both $ref and siblings (the spec's attachment disposition) keeps the siblings.
    const { $ref: _ignored, ...rest } = schema;
    return compile({ ...target, ...rest }, components);
  }
  const checks: Check[] = [];
  const { type } = schema;

  if (schema.enum) {
    const allowed = schema.enum;
    checks.push((v, path, errors) => {
      if (!allowed.includes(v))
        errors.push({ field: path, message: `Must be one of ${allowed.join(', ')}.`, help: help(path) });
    });
  }
  if (type === 'string') {
    const { minLength, maxLength, format } = schema;
    checks.push((v, path, errors) => {
      const s = v as string;
      if (minLength !== undefined && s.length < minLength) {
        errors.push({
          field: path,
          message: `The ${last(path)} value must be a string at least ${minLength === 1 ? 'one character' : `${minLength} characters`} in length.`,
          help: help(path),
        });
      }
      if (maxLength !== undefined && s.length > maxLength) {
        errors.push({
          field: path,
          message: `The ${last(path)} value must be at most ${maxLength} characters.`,
          help: help(path),
        });
      }
      if (format === 'email' && !EMAIL_ADDRESS.test(s)) {
        const owner = path.split('.').find((p) => ['from', 'reply_to'].includes(p));
        errors.push({
          field: path,
          message: owner ? `The ${owner} email does not contain a valid address.` : 'Does not contain a valid address.',
          help: help(path),
        });
      }
    });
  }
  if (type === 'array') {
    const item = schema.items ? compile(schema.items, components) : undefined;
    const { maxItems, minItems, uniqueItems } = schema;
    checks.push((v, path, errors) => {
      const a = v as unknown[];
      if (maxItems !== undefined && a.length > maxItems) {
        const message =
          path === 'personalizations'
            ? `The personalization block is limited to ${maxItems} personalizations per API request. You have provided ${a.length} personalizations. Please consider splitting this into multiple requests and resending your request.`
            : `The ${path} field is limited to ${maxItems} items.`;
        errors.push({ field: path, message, help: help(path) });
        return; // do not walk 100k items of a refused array
      }
      if (minItems !== undefined && a.length < minItems)
        errors.push({
          field: path,
          message: `The ${path} field must have at least ${minItems} items.`,
          help: help(path),
        });
      if (uniqueItems && new Set(a.map((x) => JSON.stringify(x))).size !== a.length) {
        errors.push({ field: path, message: `The ${path} field may not contain duplicates.`, help: help(path) });
      }
      if (item) a.forEach((x, i) => item(x, `${path}.${i}`, errors));
    });
  }
  if (type === 'object') {
    const props = Object.entries(schema.properties ?? {}).map(([k, s]) => [k, compile(s, components)] as const);
    const extra =
      typeof schema.additionalProperties === 'object' ? compile(schema.additionalProperties, components) : undefined;
    const known = new Set(Object.keys(schema.properties ?? {}));
    const required = schema.required ?? [];
    const { maxProperties } = schema;
    checks.push((v, path, errors) => {
      const o = v as Record<string, unknown>;
      for (const key of required) {
        if (o[key] === undefined) {
          const full = path ? `${path}.${key}` : key;
          const known = REQUIRED_MESSAGES[generic(full)];
          errors.push(
            known
              ? { field: known[0] === generic(full) ? full : known[0], message: known[1], help: help(full) }
              : { field: full, message: `The ${key} field is required.`, help: help(full) },
          );
        }
      }
      if (maxProperties !== undefined && Object.keys(o).length > maxProperties) {
        errors.push({
          field: path,
          message: `The ${path} object may have at most ${maxProperties} properties.`,
          help: help(path),
        });
      }
      for (const [key, check] of props) if (o[key] !== undefined) check(o[key], path ? `${path}.${key}` : key, errors);
      if (extra) for (const key of Object.keys(o)) if (!known.has(key)) extra(o[key], `${path}.${key}`, errors);
    });
  }

  const expected =
    type === 'integer' ? ['integer'] : type === 'number' ? ['integer', 'number'] : type ? [type] : undefined;
  const nullable = schema.nullable === true;
  return (value, path, errors) => {
    if (value === null && nullable) return;
    if (expected && !expected.includes(jsonType(value))) {
      errors.push({
        field: path || null,
        message: `Invalid type. Expected: ${type}, given: ${jsonType(value)}.`,
        help: help(path),
      });
      return;
    }
    for (const check of checks) check(value, path, errors);
  };
}

/** Reads the Mail Send spec and compiles its request-body schema (done once, at module load). */
function loadMailSendCheck(): Check {
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8'));
  const body = spec.components.requestBodies.PostMailSend.content['application/json'].schema as Schema;
  return compile(correctSpec(body), spec.components.schemas);
}

const checkMailSend = loadMailSendCheck();

/** Structural errors of a Mail Send body against the published OpenAPI schema (empty = valid). */
export function schemaErrors(body: unknown): SendGridError[] {
  const errors: SendGridError[] = [];
  checkMailSend(body, '', errors);
  return errors;
}
