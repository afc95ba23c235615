import type { ObjectType } from './state.ts';

/**
 * The association types the emulator knows, by direction. HubSpot defines one default (unlabeled,
 * HUBSPOT_DEFINED) type per pair of objects and hands out its numeric id through
 * `GET /crm/v4/associations/{from}/{to}/labels` (v4 associations guide); these numbers are the
 * emulator's own, not HubSpot's: course-sync never hard-codes one (it uses `batch/associate/default`,
 * or reads the id from `/labels`).
 */
export const DEFAULT_ASSOCIATION_TYPES: Readonly<Record<string, number>> = {
  'contacts->courses': 9410,
  'courses->contacts': 9411,
};

/** The default association type id from one object type to another, if the pair can be associated. */
export function defaultTypeId(from: ObjectType, to: ObjectType): number | undefined {
  return DEFAULT_ASSOCIATION_TYPES[`${from}->${to}`];
}

/** One association as the store holds it. */
export interface StoredAssociation {
  fromType: ObjectType;
  fromId: string;
  toType: ObjectType;
  toId: string;
  typeIds: number[];
}

/**
 * Associations between records, each direction kept on its own (HubSpot's association types are
 * directional; creating the default association creates both directions).
 */
export class AssociationStore {
  /** "<type>:<id>" → "<type>:<id>" → type ids. */
  private readonly edges = new Map<string, Map<string, Set<number>>>();

  /** Adds an association of type `typeId`; true when it was not there yet. */
  add(fromType: ObjectType, fromId: string, toType: ObjectType, toId: string, typeId: number): boolean {
    const from = `${fromType}:${fromId}`;
    const out = this.edges.get(from) ?? new Map<string, Set<number>>();
    this.edges.set(from, out);
    const types = out.get(`${toType}:${toId}`) ?? new Set<number>();
    out.set(`${toType}:${toId}`, types);
    const added = !types.has(typeId);
    types.add(typeId);
    return added;
  }

  /** The records of `toType` a record is associated with, and by which types. */
  from(fromType: ObjectType, fromId: string, toType: ObjectType): { toId: string; typeIds: number[] }[] {
    const out = this.edges.get(`${fromType}:${fromId}`);
    if (!out) return [];
    return [...out]
      .filter(([k]) => k.startsWith(`${toType}:`))
      .map(([k, types]) => ({ toId: k.slice(toType.length + 1), typeIds: [...types] }));
  }

  /** Every association from `fromType` to `toType` (tests and the sandbox page read it). */
  all(fromType: ObjectType, toType: ObjectType): StoredAssociation[] {
    return [...this.edges]
      .filter(([k]) => k.startsWith(`${fromType}:`))
      .flatMap(([k]) =>
        this.from(fromType, k.slice(fromType.length + 1), toType).map((a) => ({
          fromType,
          fromId: k.slice(fromType.length + 1),
          toType,
          toId: a.toId,
          typeIds: a.typeIds,
        })),
      );
  }

  /** Forgets every association of a record (it was deleted). */
  dropObject(type: ObjectType, id: string): void {
    const key = `${type}:${id}`;
    this.edges.delete(key);
    for (const out of this.edges.values()) out.delete(key);
  }
}
