import type { Course, Plan } from '../events/types.ts';
import { minorToDecimal } from './currency.ts';

/** The unique product property products are upserted by (one product per Loopwise plan). */
export const PLAN_ID_PROPERTY = 'loopwise_plan_id';

/** What the mapping needs from config.hubspot. */
export interface ProductMappingOptions {
  /** The portal has multi-currency on: also write `hs_price_<currency>`. */
  multiCurrency: boolean;
  /** Per-currency decimal digits overrides (CURRENCY_DIGITS). */
  currencyDigits: Readonly<Record<string, number>>;
}

/** One input of `POST /crm/v3/objects/products/batch/upsert`. */
export interface ProductUpsertInput {
  idProperty: typeof PLAN_ID_PROPERTY;
  id: string;
  properties: Record<string, string>;
}

/** Name separator between course and plan: an en dash with spaces. */
export const NAME_SEPARATOR = ' \u2013 ';

function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
}

/** "{course name} – {plan name}"; just the course name when the plan has no name. */
export function productName(course: Pick<Course, 'name'>, plan: Pick<Plan, 'name'>): string {
  return [text(course.name), text(plan.name)].filter(Boolean).join(NAME_SEPARATOR);
}

/** The product properties of one plan; empty source values are left out, never sent as "". */
export function productProperties(course: Course, plan: Plan, opts: ProductMappingOptions): Record<string, string> {
  const currency = plan.currency.trim().toUpperCase();
  const price = minorToDecimal(plan.amount, currency, opts.currencyDigits);
  const props: Record<string, string | undefined> = {
    name: text(productName(course, plan)),
    description: text(plan.description),
    hs_sku: text(plan.id),
    price,
    [PLAN_ID_PROPERTY]: text(plan.id),
    loopwise_course_id: text(course.id),
    loopwise_course_slug: text(course.slug),
    loopwise_course_state: text(course.state),
    loopwise_plan_currency: text(currency),
  };
  if (opts.multiCurrency) props[`hs_price_${currency.toLowerCase()}`] = price;
  return Object.fromEntries(Object.entries(props).filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * Maps a course to one upsert input per plan, keyed by `loopwise_plan_id`. A plan id listed twice
 * keeps its last entry (HubSpot refuses a batch with duplicate ids).
 */
export function productInputs(course: Course, opts: ProductMappingOptions): ProductUpsertInput[] {
  const byId = new Map<string, ProductUpsertInput>();
  for (const plan of course.plans) {
    const id = plan.id.trim();
    byId.delete(id);
    byId.set(id, { idProperty: PLAN_ID_PROPERTY, id, properties: productProperties(course, plan, opts) });
  }
  return [...byId.values()];
}
