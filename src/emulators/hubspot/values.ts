import type { PropertyDef } from './state.ts';

/** One entry of HubSpot's "Property values were not valid" list. */
export interface ValueError {
  isValid: false;
  message: string;
  error: string;
  name: string;
}

const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * HubSpot's e-mail rule as documented: RFC 2822 form, no quoted local part, and a domain ending
 * in an alphabetic top-level domain (the emulator does not carry IANA's list; letters only, 2+).
 */
export function isHubSpotEmail(email: string): boolean {
  const at = email.lastIndexOf('@');
  if (at <= 0 || email.length > 254) return false;
  const local = email.slice(0, at);
  const labels = email.slice(at + 1).split('.');
  if (local.length > 64 || !LOCAL.test(local) || labels.length < 2) return false;
  if (!labels.every((l) => LABEL.test(l))) return false;
  return /^[A-Za-z]{2,63}$/.test(labels[labels.length - 1]!);
}

function isDateTime(v: string): boolean {
  if (/^\d{1,15}$/.test(v)) return true;
  return (
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) && !Number.isNaN(Date.parse(v))
  );
}

/** Checks one value against its property; undefined when HubSpot would take it. "" (clear) is always valid. */
export function checkValue(def: PropertyDef, value: string): ValueError | undefined {
  const fail = (error: string, message: string): ValueError => ({ isValid: false, message, error, name: def.name });
  if (value === '') return undefined;
  if (def.modificationMetadata.readOnlyValue)
    return fail('READ_ONLY_VALUE', `"${def.name}" is a read only property; its value cannot be set.`);
  if (value !== value.trim() && def.type !== 'string')
    return fail('INVALID_WHITESPACE', `${JSON.stringify(value)} has leading or trailing whitespace`);
  if (def.name === 'email' && !isHubSpotEmail(value)) return fail('INVALID_EMAIL', `Email address ${value} is invalid`);
  switch (def.type) {
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(value) ? undefined : fail('INVALID_DECIMAL', `${value} was not a valid number.`);
    case 'bool':
      return value === 'true' || value === 'false'
        ? undefined
        : fail('INVALID_BOOLEAN', `${value} was not a valid boolean.`);
    case 'datetime':
    case 'date':
      return isDateTime(value) ? undefined : fail('INVALID_DATE', `${value} was not a valid date or datetime.`);
    case 'enumeration': {
      const allowed = new Set(def.options.map((o) => o.value));
      const given = def.fieldType === 'checkbox' ? value.split(';').filter(Boolean) : [value];
      const bad = given.find((v) => !allowed.has(v));
      return bad === undefined
        ? undefined
        : fail('INVALID_OPTION', `${bad} was not one of the allowed options: [${[...allowed].join(', ')}]`);
    }
    default:
      return undefined;
  }
}

/** HubSpot's message for a list of invalid values. */
export function invalidValuesMessage(errors: ValueError[]): string {
  return `Property values were not valid: ${JSON.stringify(errors)}`;
}

/** The entry HubSpot reports for a property that is not defined on the object type. */
export function unknownProperty(name: string): ValueError {
  return { isValid: false, message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name };
}
