import { randomUUID } from 'node:crypto';

/** The CRM object types the emulator serves. */
export type ObjectType = 'contacts' | 'products';

export interface OptionDef {
  label: string;
  value: string;
  description?: string;
  displayOrder: number;
  hidden: boolean;
}

/** A property definition, shaped like HubSpot's `Property` answer. */
export interface PropertyDef {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  groupName: string;
  description: string;
  options: OptionDef[];
  displayOrder: number;
  hasUniqueValue: boolean;
  hidden: boolean;
  formField: boolean;
  calculated: boolean;
  externalOptions: boolean;
  hubspotDefined: boolean;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  modificationMetadata: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean };
}

export interface GroupDef {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

/** One past value of a property, newest first in `CrmObject.history`. */
export interface HistoryEntry {
  value: string;
  timestamp: string;
  sourceType: string;
}

/** A stored CRM record. `properties` holds only set values; HubSpot answers unset requested ones with null. */
export interface CrmObject {
  id: string;
  properties: Record<string, string>;
  history: Record<string, HistoryEntry[]>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

/** One request the emulator answered (status is filled in when the answer is sent). */
export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status?: number;
  at: number;
}

/** One record written by a batch upsert, as sent (after normalisation). */
export interface WriteLogEntry {
  objectType: ObjectType;
  id: string;
  properties: Record<string, string>;
  created: boolean;
  at: number;
}

const HISTORY_LIMIT = 20;

function prop(name: string, label: string, type: string, fieldType: string, groupName: string, extra: Partial<PropertyDef> = {}): PropertyDef {
  const epoch = '2019-08-06T02:43:01.040Z';
  return {
    name, label, type, fieldType, groupName,
    description: '', options: [], displayOrder: -1, hasUniqueValue: false, hidden: false, formField: true,
    calculated: false, externalOptions: false, hubspotDefined: true, createdAt: epoch, updatedAt: epoch, archived: false,
    modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: false },
    ...extra,
  };
}

const readOnly = { modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: true }, formField: false };

/** A subset of HubSpot's built-in properties, enough for what course-sync writes and reads. */
function defaultProperties(type: ObjectType, currencies: string[]): PropertyDef[] {
  const common = [
    prop('hs_object_id', 'Record ID', 'number', 'number', type === 'contacts' ? 'contactinformation' : 'productinformation', readOnly),
    prop('createdate', 'Create Date', 'datetime', 'date', type === 'contacts' ? 'contactinformation' : 'productinformation', readOnly),
    prop('lastmodifieddate', 'Last Modified Date', 'datetime', 'date', type === 'contacts' ? 'contactinformation' : 'productinformation', readOnly),
  ];
  if (type === 'contacts') {
    const g = 'contactinformation';
    return [
      ...common,
      prop('email', 'Email', 'string', 'text', g),
      prop('firstname', 'First Name', 'string', 'text', g),
      prop('lastname', 'Last Name', 'string', 'text', g),
      prop('phone', 'Phone Number', 'string', 'phonenumber', g),
      prop('mobilephone', 'Mobile Phone Number', 'string', 'phonenumber', g),
      prop('company', 'Company Name', 'string', 'text', g),
      prop('website', 'Website URL', 'string', 'text', g),
      prop('city', 'City', 'string', 'text', g),
      prop('country', 'Country/Region', 'string', 'text', g),
      prop('jobtitle', 'Job Title', 'string', 'text', g),
      prop('lifecyclestage', 'Lifecycle Stage', 'enumeration', 'radio', g, {
        options: ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'].map((v, i) => ({ label: v, value: v, displayOrder: i, hidden: false })),
      }),
    ];
  }
  const g = 'productinformation';
  return [
    ...common,
    prop('name', 'Name', 'string', 'text', g),
    prop('description', 'Description', 'string', 'textarea', g),
    prop('price', 'Unit price', 'number', 'number', g),
    prop('hs_sku', 'SKU', 'string', 'text', g),
    prop('hs_cost_of_goods_sold', 'Unit cost', 'number', 'number', g),
    prop('hs_recurring_billing_period', 'Term', 'string', 'text', g),
    ...currencies.map((c) => prop(`hs_price_${c.toLowerCase()}`, `Unit price ${c.toUpperCase()}`, 'number', 'number', g)),
  ];
}

function defaultGroups(type: ObjectType): GroupDef[] {
  return type === 'contacts'
    ? [{ name: 'contactinformation', label: 'Contact information', displayOrder: 0, archived: false }]
    : [{ name: 'productinformation', label: 'Product information', displayOrder: 0, archived: false }];
}

/**
 * Everything the HubSpot emulator holds, in memory, open for test assertions: records, property
 * definitions and groups per object type, archived products, and logs of requests and writes.
 */
export class HubSpotState {
  readonly properties: Record<ObjectType, Map<string, PropertyDef>>;
  readonly groups: Record<ObjectType, Map<string, GroupDef>>;
  /** Live records by HubSpot id. */
  readonly objects: Record<ObjectType, Map<string, CrmObject>> = { contacts: new Map(), products: new Map() };
  /** Archived products by HubSpot id. */
  readonly archivedProducts = new Map<string, CrmObject>();
  readonly requests: RequestLogEntry[] = [];
  readonly writes: WriteLogEntry[] = [];
  private lastId = 100;
  /** Lookup indexes of live records by property value, built on first lookup of a property. */
  private readonly indexes: Record<ObjectType, Map<string, Map<string, CrmObject>>> = { contacts: new Map(), products: new Map() };

  constructor(currencies: string[] = ['TWD', 'USD', 'JPY', 'EUR']) {
    this.properties = {
      contacts: new Map(defaultProperties('contacts', currencies).map((p) => [p.name, p])),
      products: new Map(defaultProperties('products', currencies).map((p) => [p.name, p])),
    };
    this.groups = {
      contacts: new Map(defaultGroups('contacts').map((g) => [g.name, g])),
      products: new Map(defaultGroups('products').map((g) => [g.name, g])),
    };
  }

  /** Live contacts keyed by their (lower-case) e-mail. */
  get contacts(): Map<string, CrmObject> {
    return this.indexBy('contacts', 'email');
  }

  /** Live products keyed by HubSpot id. */
  get products(): Map<string, CrmObject> {
    return this.objects.products;
  }

  /** The live contact with this e-mail (case-insensitive). */
  contact(email: string): CrmObject | undefined {
    return this.findBy('contacts', 'email', email.trim().toLowerCase());
  }

  /** The live product with this loopwise_plan_id. */
  product(planId: string): CrmObject | undefined {
    return this.findBy('products', 'loopwise_plan_id', planId);
  }

  /** The live record of `type` whose `property` equals `value`. */
  findBy(type: ObjectType, property: string, value: string): CrmObject | undefined {
    let index = this.indexes[type].get(property);
    if (!index) {
      index = new Map();
      for (const o of this.objects[type].values()) if (o.properties[property] !== undefined) index.set(o.properties[property]!, o);
      this.indexes[type].set(property, index);
    }
    return index.get(value);
  }

  private reindex(type: ObjectType, o: CrmObject, name: string, before: string | undefined): void {
    const index = this.indexes[type].get(name);
    if (!index) return;
    if (before !== undefined && index.get(before) === o) index.delete(before);
    if (o.properties[name] !== undefined && !o.archived) index.set(o.properties[name]!, o);
  }

  /** Values of a multi-value (checkbox) property, split at ";". */
  values(o: CrmObject | undefined, property: string): string[] {
    const v = o?.properties[property];
    return v ? v.split(';').filter(Boolean) : [];
  }

  /** Creates a record with a fresh numeric id. */
  create(type: ObjectType): CrmObject {
    const now = new Date().toISOString();
    const id = String(++this.lastId);
    const o: CrmObject = { id, properties: { hs_object_id: id, createdate: now, lastmodifieddate: now }, history: {}, createdAt: now, updatedAt: now, archived: false };
    this.objects[type].set(id, o);
    return o;
  }

  /** Sets properties on a record of `type`, keeping a short history per property; "" clears a value. */
  write(type: ObjectType, o: CrmObject, properties: Record<string, string>): void {
    const now = new Date().toISOString();
    for (const [name, value] of Object.entries(properties)) {
      const before = o.properties[name];
      if (value === '') delete o.properties[name];
      else o.properties[name] = value;
      this.reindex(type, o, name, before);
      const h = (o.history[name] ??= []);
      h.unshift({ value, timestamp: now, sourceType: 'INTEGRATION' });
      if (h.length > HISTORY_LIMIT) h.length = HISTORY_LIMIT;
    }
    o.updatedAt = now;
    o.properties.lastmodifieddate = now;
  }

  /** Moves a live product to the archive. */
  archiveProduct(id: string): void {
    const o = this.objects.products.get(id);
    if (!o) return;
    this.objects.products.delete(id);
    for (const index of this.indexes.products.values()) for (const [v, held] of index) if (held === o) index.delete(v);
    o.archived = true;
    o.archivedAt = new Date().toISOString();
    this.archivedProducts.set(id, o);
  }

  /** Requests whose path ends with `suffix` (e.g. "/contacts/batch/upsert"). */
  requestsTo(suffix: string, method = 'POST'): RequestLogEntry[] {
    return this.requests.filter((r) => r.method === method && r.path.endsWith(suffix));
  }

  /** A correlation id for an answer. */
  correlationId(): string {
    return randomUUID();
  }

  private indexBy(type: ObjectType, property: string): Map<string, CrmObject> {
    const out = new Map<string, CrmObject>();
    for (const o of this.objects[type].values()) if (o.properties[property]) out.set(o.properties[property]!, o);
    return out;
  }
}
