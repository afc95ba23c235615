import { badRequest, HubSpotHttpError, objectTypeOf, type RouteAnswer, type RouteContext } from './http.ts';
import type { OptionDef, PropertyDef } from './state.ts';

const FIELD_TYPES: Record<string, string[]> = {
  string: ['text', 'textarea', 'file', 'html', 'phonenumber'],
  number: ['number', 'calculation_equation'],
  date: ['date'],
  datetime: ['date'],
  enumeration: ['booleancheckbox', 'checkbox', 'radio', 'select', 'calculation_equation'],
  bool: ['booleancheckbox', 'calculation_equation'],
};

const NAME = /^[a-z][a-z0-9_]*$/;

function options(raw: unknown): OptionDef[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw badRequest('options must be a list');
  const out = raw.map((o: any, i: number) => {
    if (typeof o?.label !== 'string' || typeof o?.value !== 'string' || !o.label || !o.value)
      throw badRequest('Every option needs a label and a value');
    return {
      label: o.label,
      value: o.value,
      description: o.description ?? '',
      displayOrder: o.displayOrder ?? i,
      hidden: !!o.hidden,
    };
  });
  for (const key of ['value', 'label'] as const) {
    const seen = new Set<string>();
    for (const o of out) {
      if (seen.has(o[key])) throw badRequest(`Option ${key}s must be unique; "${o[key]}" is used twice`);
      seen.add(o[key]);
    }
  }
  return out;
}

function notFound(name: string, type: string): HubSpotHttpError {
  return new HubSpotHttpError(
    404,
    'OBJECT_NOT_FOUND',
    `Unable to find property with name: ${name} for object type: ${type}`,
  );
}

/** GET /crm/v3/properties/{objectType}. */
export function listProperties({ state, params, query }: RouteContext): RouteAnswer {
  const archived = query.get('archived') === 'true';
  const all = [...state.properties[objectTypeOf(params.objectType)].values()].filter((p) => p.archived === archived);
  return { status: 200, body: { results: all } };
}

/** GET /crm/v3/properties/{objectType}/{name}. */
export function getProperty({ state, params }: RouteContext): RouteAnswer {
  const type = objectTypeOf(params.objectType);
  const p = state.properties[type].get(params.name!);
  if (!p) throw notFound(params.name!, type);
  return { status: 200, body: p };
}

/** POST /crm/v3/properties/{objectType}: 201 with a Location, 409 when the name is taken, 400 for a bad definition. */
export function createProperty({ state, params, body }: RouteContext): RouteAnswer {
  const type = objectTypeOf(params.objectType);
  const b = body ?? {};
  for (const key of ['name', 'label', 'type', 'fieldType', 'groupName']) {
    if (typeof b[key] !== 'string' || !b[key])
      throw badRequest(
        `Invalid input JSON: Cannot build PropertyCreate, some of required attributes are not set [${key}]`,
      );
  }
  if (!NAME.test(b.name))
    throw badRequest(
      `Property name ${b.name} is invalid: use lower-case letters, digits and underscores, starting with a letter`,
    );
  if (state.properties[type].has(b.name)) {
    throw new HubSpotHttpError(409, 'OBJECT_ALREADY_EXISTS', `Property named '${b.name}' already exists.`, {
      context: { name: [b.name] },
    });
  }
  if (!FIELD_TYPES[b.type]?.includes(b.fieldType))
    throw badRequest(`fieldType ${b.fieldType} is not valid for property type ${b.type}`);
  if (!state.groups[type].has(b.groupName)) throw badRequest(`Property group ${b.groupName} does not exist`);
  if (b.hasUniqueValue && !['string', 'number'].includes(b.type))
    throw badRequest('Only string and number properties can require unique values');
  const now = new Date().toISOString();
  const p: PropertyDef = {
    name: b.name,
    label: b.label,
    type: b.type,
    fieldType: b.fieldType,
    groupName: b.groupName,
    description: b.description ?? '',
    options: options(b.options),
    displayOrder: b.displayOrder ?? -1,
    hasUniqueValue: !!b.hasUniqueValue,
    hidden: !!b.hidden,
    formField: !!b.formField,
    calculated: false,
    externalOptions: false,
    hubspotDefined: false,
    createdAt: now,
    updatedAt: now,
    archived: false,
    modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
  };
  state.properties[type].set(p.name, p);
  return { status: 201, body: p, location: `/crm/v3/properties/${params.objectType}/${encodeURIComponent(p.name)}` };
}

/** PATCH /crm/v3/properties/{objectType}/{name}: `options`, when given, replace the whole list. */
export function updateProperty({ state, params, body }: RouteContext): RouteAnswer {
  const type = objectTypeOf(params.objectType);
  const p = state.properties[type].get(params.name!);
  if (!p) throw notFound(params.name!, type);
  if (p.modificationMetadata.readOnlyDefinition)
    throw badRequest(`Property ${p.name} is read only and cannot be updated`);
  const b = body ?? {};
  const nextType = b.type ?? p.type;
  const nextField = b.fieldType ?? p.fieldType;
  if (!FIELD_TYPES[nextType]?.includes(nextField))
    throw badRequest(`fieldType ${nextField} is not valid for property type ${nextType}`);
  if (b.groupName !== undefined && !state.groups[type].has(b.groupName))
    throw badRequest(`Property group ${b.groupName} does not exist`);
  const next = b.options !== undefined ? options(b.options) : p.options;
  Object.assign(p, {
    label: b.label ?? p.label,
    description: b.description ?? p.description,
    groupName: b.groupName ?? p.groupName,
    type: nextType,
    fieldType: nextField,
    hidden: b.hidden ?? p.hidden,
    displayOrder: b.displayOrder ?? p.displayOrder,
    formField: b.formField ?? p.formField,
    options: next,
    updatedAt: new Date().toISOString(),
  });
  return { status: 200, body: p };
}

/** GET /crm/v3/properties/{objectType}/groups. */
export function listGroups({ state, params }: RouteContext): RouteAnswer {
  return { status: 200, body: { results: [...state.groups[objectTypeOf(params.objectType)].values()] } };
}

/** GET /crm/v3/properties/{objectType}/groups/{name}. */
export function getGroup({ state, params }: RouteContext): RouteAnswer {
  const g = state.groups[objectTypeOf(params.objectType)].get(params.name!);
  if (!g)
    throw new HubSpotHttpError(404, 'OBJECT_NOT_FOUND', `Unable to find property group with name: ${params.name}`);
  return { status: 200, body: g };
}

/** POST /crm/v3/properties/{objectType}/groups: 201 with a Location, 409 when the name is taken. */
export function createGroup({ state, params, body }: RouteContext): RouteAnswer {
  const type = objectTypeOf(params.objectType);
  const b = body ?? {};
  if (typeof b.name !== 'string' || !b.name || typeof b.label !== 'string' || !b.label) {
    throw badRequest(
      'Invalid input JSON: Cannot build PropertyGroupCreate, some of required attributes are not set [name, label]',
    );
  }
  if (!NAME.test(b.name)) throw badRequest(`Property group name ${b.name} is invalid`);
  if (state.groups[type].has(b.name))
    throw new HubSpotHttpError(409, 'OBJECT_ALREADY_EXISTS', `Property group named '${b.name}' already exists.`);
  const g = { name: b.name, label: b.label, displayOrder: b.displayOrder ?? -1, archived: false };
  state.groups[type].set(g.name, g);
  return {
    status: 201,
    body: g,
    location: `/crm/v3/properties/${params.objectType}/groups/${encodeURIComponent(g.name)}`,
  };
}
