import * as yup from 'yup';
import { isCanonicalEnrollment } from './canonical-enrollment.ts';
import { isIsoTimestamp } from './timestamps.ts';
import type { EventType, LoopwiseEvent } from './types.ts';

/** One field that failed validation, by its path in the payload. */
export interface FieldError {
  field: string;
  message: string;
}

/** A known event whose payload does not match its schema. */
export class SchemaError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid payload: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
    this.name = 'SchemaError';
  }
}

/** Trims strings only (yup's own trim() throws on an object, which a hostile payload can send). */
const trim = (value: unknown) => (typeof value === 'string' ? value.trim() : value);
const id = () => yup.string().transform(trim).required();
const timestamp = () =>
  yup
    .string()
    .test(
      'iso-8601',
      '${path} must be an ISO 8601 timestamp with Z or an offset',
      (v) => v === undefined || v === null || isIsoTimestamp(v),
    );
const optionalText = () => yup.string().nullable();

const plan = yup.object({
  id: id(),
  name: yup.string().required(),
  description: optionalText(),
  currency: yup
    .string()
    .required()
    .matches(/^[A-Za-z]{3}$/, '${path} must be a 3-letter ISO 4217 code'),
  amount: yup.number().strict().required().integer().min(0),
  created_at: timestamp(),
  updated_at: timestamp(),
});

const course = yup.object({
  id: id(),
  name: yup.string().required(),
  description: optionalText(),
  state: optionalText(),
  type: yup.string(),
  created_at: timestamp(),
  updated_at: timestamp().required(),
  slug: optionalText(),
  plans: yup.array().of(plan).required(),
});

const enrollment = yup.object({
  id: id(),
  course: yup
    .object({ id: id(), name: yup.string().required(), slug: optionalText(), subtitle: optionalText() })
    .required()
    .default(undefined),
  user: yup
    .object({
      id: id(),
      name: optionalText(),
      email: yup.string().transform(trim).required().email('${path} must be a valid e-mail address'),
      phone_number: optionalText(),
    })
    .required()
    .default(undefined),
  created_at: timestamp().required(),
  updated_at: timestamp(),
  state: optionalText(),
});

/** Names every plain object inherits (constructor, __proto__, toString, ...): yup looks fields up by key and throws a TypeError (a 500) on them. */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

/** The path of the first key anywhere in `data` that shadows an inherited name, if any. */
function inheritedKeyPath(data: object): string | undefined {
  const stack: [unknown, string][] = [[data, 'data']];
  while (stack.length) {
    const [value, path] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    for (const key of Object.keys(value)) {
      if (INHERITED.has(key)) return `${path}.${key}`;
      stack.push([(value as Record<string, unknown>)[key], `${path}.${key}`]);
    }
  }
  return undefined;
}

const schemas: Record<EventType, yup.AnyObjectSchema> = {
  'course.created': course,
  'course.updated': course,
  'course.student_enroll': enrollment,
};

/**
 * Validates the `data` of a known event. Returns the event with its data normalised (ids as
 * strings, e-mail trimmed) and every extra field kept; throws SchemaError listing each bad field.
 */
export function validateEvent(type: EventType, data: unknown): LoopwiseEvent {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SchemaError([{ field: 'data', message: 'data must be an object' }]);
  }
  const reserved = inheritedKeyPath(data);
  if (reserved)
    throw new SchemaError([
      { field: reserved, message: `"${reserved.split('.').pop()}" is not accepted as a field name` },
    ]);
  // The common case, a well-formed enrollment, is checked without yup (about 10× faster; same answer).
  if (type === 'course.student_enroll' && isCanonicalEnrollment(data as Record<string, unknown>))
    return { type, data } as LoopwiseEvent;
  return validateWithSchema(type, data);
}

/** Validates `data` with the event's yup schema: the normalised value, or SchemaError listing each bad field. */
export function validateWithSchema(type: EventType, data: object): LoopwiseEvent {
  try {
    const value = schemas[type].validateSync(data, { abortEarly: false, stripUnknown: false });
    return { type, data: value };
  } catch (err) {
    if (err instanceof yup.ValidationError) {
      const inner = err.inner.length ? err.inner : [err];
      throw new SchemaError(
        inner.map((e) => ({ field: `data.${e.path ?? ''}`.replace(/\.$/, ''), message: e.message })),
      );
    }
    throw err;
  }
}
