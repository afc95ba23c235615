import { randomUUID } from 'node:crypto';
import { AssociationStore } from './association-store.ts';
import { DEFAULT_BEHAVIOUR, type HubSpotBehaviour } from './behaviour.ts';
import { defaultGroups, defaultProperties } from './defaults.ts';
import { ObjectLibrary } from './object-library-state.ts';

/** The CRM object types the emulator serves (courses: the object library's Courses object, 0-410). */
export type ObjectType = 'contacts' | 'products' | 'courses';

const TYPES: ObjectType[] = ['contacts', 'products', 'courses'];

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

/** A contact's secondary addresses, ";"-separated; looked up like `email`, one index entry per address. */
export const SECONDARY_EMAILS = 'hs_additional_emails';

/** The index keys of a property value: each address of a secondary-address list, else the value. */
function indexKeys(name: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  return name === SECONDARY_EMAILS ? value.split(';').filter(Boolean) : [value];
}

/**
 * Everything the HubSpot emulator holds, in memory, open for test assertions: records, property
 * definitions and groups per object type, archived products, and logs of requests and writes.
 */
export class HubSpotState {
  readonly properties: Record<ObjectType, Map<string, PropertyDef>>;
  readonly groups: Record<ObjectType, Map<string, GroupDef>>;
  /** Live records by HubSpot id. */
  readonly objects: Record<ObjectType, Map<string, CrmObject>> = {
    contacts: new Map(),
    products: new Map(),
    courses: new Map(),
  };
  /** Associations between records (the v4 associations API, associations.ts). */
  readonly associations = new AssociationStore();
  /** Which object library objects are active, and the private app's scopes (object-library.ts). */
  readonly library = new ObjectLibrary();
  /** Archived products by HubSpot id. */
  readonly archivedProducts = new Map<string, CrmObject>();
  readonly requests: RequestLogEntry[] = [];
  readonly writes: WriteLogEntry[] = [];
  /** How the emulator answers where HubSpot's documentation is silent (see behaviour.ts). */
  behaviour: HubSpotBehaviour = { ...DEFAULT_BEHAVIOUR };
  /** Ids of contacts merged into another → the id of the contact they were merged into. */
  readonly mergedInto = new Map<string, string>();
  /** The addresses (or ids) of contacts deleted through GDPR delete, in order. */
  readonly gdprDeleted: string[] = [];
  /** Addresses a GDPR delete found no contact for: HubSpot blocklists them (see identities.ts gdprDelete). */
  readonly blocklist = new Set<string>();
  private lastId = 100;
  /** Lookup indexes of live records by property value, built on first lookup of a property. */
  private readonly indexes: Record<ObjectType, Map<string, Map<string, CrmObject>>> = {
    contacts: new Map(),
    products: new Map(),
    courses: new Map(),
  };

  constructor(currencies: string[] = ['TWD', 'USD', 'JPY', 'EUR']) {
    const byType = <T>(make: (type: ObjectType) => [string, T][]) =>
      Object.fromEntries(TYPES.map((t) => [t, new Map(make(t))])) as Record<ObjectType, Map<string, T>>;
    this.properties = byType((t) => defaultProperties(t, currencies).map((p) => [p.name, p]));
    this.groups = byType((t) => defaultGroups(t).map((g) => [g.name, g]));
  }

  /** The live course record with this loopwise_course_id. */
  course(courseId: string): CrmObject | undefined {
    return this.findBy('courses', 'loopwise_course_id', courseId);
  }

  /** Deletes a record as a HubSpot user does in the app: gone, with its associations. */
  deleteRecord(type: ObjectType, id: string): void {
    if (this.remove(type, id)) this.associations.dropObject(type, id);
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
      for (const o of this.objects[type].values())
        for (const k of indexKeys(property, o.properties[property])) index.set(k, o);
      this.indexes[type].set(property, index);
    }
    return index.get(value);
  }

  private reindex(type: ObjectType, o: CrmObject, name: string, before: string | undefined): void {
    const index = this.indexes[type].get(name);
    if (!index) return;
    for (const k of indexKeys(name, before)) if (index.get(k) === o) index.delete(k);
    if (!o.archived) for (const k of indexKeys(name, o.properties[name])) index.set(k, o);
  }

  /** Switches answers where HubSpot's documentation is silent; undefined fields are left as they are. */
  setBehaviour(b: Partial<HubSpotBehaviour> = {}): void {
    for (const [k, v] of Object.entries(b)) if (v !== undefined) Object.assign(this.behaviour, { [k]: v });
  }

  /** The live contact that holds `email` as a secondary address. */
  contactHolding(email: string): CrmObject | undefined {
    return this.findBy('contacts', SECONDARY_EMAILS, email.trim().toLowerCase());
  }

  /** Adds a secondary address to a contact, as a HubSpot user does in the app (the API cannot). */
  addSecondaryEmail(contact: CrmObject, email: string): void {
    const all = new Set([...this.values(contact, SECONDARY_EMAILS), email.trim().toLowerCase()]);
    this.write('contacts', contact, { [SECONDARY_EMAILS]: [...all].join(';') });
  }

  /** The live record with HubSpot id `id`, following merges (a merged contact's id finds the one it went into). */
  byId(type: ObjectType, id: string): CrmObject | undefined {
    let current = id;
    for (let hops = 0; hops < 10 && this.mergedInto.has(current); hops++) current = this.mergedInto.get(current)!;
    return this.objects[type].get(current);
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
    const o: CrmObject = {
      id,
      properties: { hs_object_id: id, createdate: now, lastmodifieddate: now },
      history: {},
      createdAt: now,
      updatedAt: now,
      archived: false,
    };
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

  /** Takes a live record out of the live ones and their indexes; returns it. */
  remove(type: ObjectType, id: string): CrmObject | undefined {
    const o = this.objects[type].get(id);
    if (!o) return undefined;
    this.objects[type].delete(id);
    for (const index of this.indexes[type].values()) for (const [v, held] of index) if (held === o) index.delete(v);
    return o;
  }

  /** Moves a live product to the archive. */
  archiveProduct(id: string): void {
    const o = this.remove('products', id);
    if (!o) return;
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
    for (const o of this.objects[type].values()) if (o.properties[property]) out.set(o.properties[property], o);
    return out;
  }
}
