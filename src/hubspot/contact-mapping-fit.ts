import type { ContactMappingSpec, MappingEntry } from '../contact-mapping/file.ts';

/** What the portal says about a contact property (`GET /crm/v3/properties/contacts` answers it). */
export interface PortalProperty {
  name: string;
  type: string;
  fieldType?: string;
  options?: readonly { value: string; label?: string }[];
  calculated?: boolean;
  modificationMetadata?: { readOnlyValue?: boolean };
}

/** A mapped property the portal cannot take as the mapping would write it. */
export interface MappingProblem {
  property: string;
  line: number;
  problem: string;
}

const TIMES = new Set(['enrollment.created_at', 'enrollment.updated_at']);

/** Why a constant does not fit a property of this type, if it does not. */
function constantMisfit(p: PortalProperty, value: string): string | undefined {
  switch (p.type) {
    case 'string':
      return undefined;
    case 'enumeration': {
      const values = (p.options ?? []).map((o) => o.value);
      return values.includes(value)
        ? undefined
        : `"${value}" is not one of its options (${values.join(', ') || 'none'})`;
    }
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(value) ? undefined : `"${value}" is not a number`;
    case 'bool':
      return /^(true|false)$/.test(value) ? undefined : `"${value}" is not true or false`;
    case 'date':
      return /^\d{4}-\d\d-\d\d$/.test(value) ? undefined : `"${value}" is not a date (YYYY-MM-DD)`;
    case 'datetime':
      return Number.isFinite(Date.parse(value)) || /^\d+$/.test(value)
        ? undefined
        : `"${value}" is not a time (ISO 8601)`;
    default:
      return `its type ${p.type} is not one course-sync writes`;
  }
}

/** Why a source's values do not fit a property of this type, if they do not. */
function sourceMisfit(p: PortalProperty, source: string): string | undefined {
  if (p.type === 'string') return undefined;
  if (TIMES.has(source)) {
    if (p.type === 'datetime') return undefined;
    if (p.type === 'date')
      return `it is a date property (midnight UTC only) and ${source} is a time: use a datetime or text property`;
    return `it is a ${p.type} property and ${source} is a time: use a datetime or text property`;
  }
  if (p.type === 'enumeration')
    return `it is an enumeration that takes only its options (${(p.options ?? []).map((o) => o.value).join(', ') || 'none'}) and ${source} is free text: use a text property, or map a constant`;
  return `it is a ${p.type} property and ${source} is text: use a text property`;
}

/** The problem of one entry against the portal, if any (`createdBySetup`: properties `hubspot setup` creates itself). */
function problemOf(
  e: MappingEntry,
  found: PortalProperty | undefined,
  createdBySetup: ReadonlySet<string>,
): string | undefined {
  if (!found)
    return createdBySetup.has(e.property)
      ? undefined
      : 'does not exist in the portal: create it in HubSpot (Settings → Properties → Contact properties) or change the mapping';
  if (found.calculated || found.modificationMetadata?.readOnlyValue) return 'is set by HubSpot and cannot be written';
  return 'value' in e ? constantMisfit(found, e.value) : sourceMisfit(found, e.source);
}

/**
 * Checks a mapping against the portal's contact properties: every mapped property exists (or is
 * one `hubspot setup` creates), can be written, and takes what the mapping writes — text sources a
 * text property, times a datetime (or text) property, a constant a value of the property's type,
 * of an enumeration one of its options. Pure: `hubspot setup` and `doctor` read the portal.
 */
export function mappingProblems(
  spec: ContactMappingSpec,
  portal: ReadonlyMap<string, PortalProperty>,
  createdBySetup: ReadonlySet<string> = new Set(),
): MappingProblem[] {
  return spec.entries.flatMap((e) => {
    const problem = problemOf(e, portal.get(e.property), createdBySetup);
    return problem ? [{ property: e.property, line: e.line, problem }] : [];
  });
}

/** One problem as a line: `contacts property "hs_lead_source" (line 5): does not exist ...`. */
export function describeMappingProblem(p: MappingProblem): string {
  return `contacts property "${p.property}" (mapping line ${p.line}): ${p.problem}`;
}
