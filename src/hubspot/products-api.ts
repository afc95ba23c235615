import type { Client } from '@hubspot/api-client';
import { readBatch } from './batch-read.ts';
import type { HubSpotCall } from './call.ts';
import { PLAN_ID_PROPERTY, type ProductUpsertInput } from './product-mapping.ts';

/** HubSpot's largest batch for products. */
export const PRODUCT_BATCH_LIMIT = 100;

/** A per-record error of a 207 answer, with the plan ids it names (all inputs when it names none). */
export interface ProductRecordError {
  planIds: string[];
  category: string;
  message: string;
}

/** What one batch upsert did: HubSpot ids of the written plans, and the records it refused. */
export interface ProductUpsertResult {
  written: { planId: string; productId: string; created: boolean }[];
  errors: ProductRecordError[];
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Which inputs a 207 error is about: ids in its context that are plan ids of the batch, else all. */
function errorPlanIds(context: Record<string, string[]> | undefined, batchIds: string[]): string[] {
  const named = Object.values(context ?? {}).flat().filter((v) => batchIds.includes(v));
  return named.length ? [...new Set(named)] : batchIds;
}

/** Upserts products by loopwise_plan_id, in batches of at most 100 (one request per batch). */
export async function upsertProducts(client: Client, call: HubSpotCall, inputs: ProductUpsertInput[]): Promise<ProductUpsertResult> {
  const out: ProductUpsertResult = { written: [], errors: [] };
  for (const batch of chunks(inputs, PRODUCT_BATCH_LIMIT)) {
    const res = await call('products.upsert', () => client.crm.products.batchApi.upsert({ inputs: batch }));
    const ids = batch.map((i) => i.id);
    for (const r of res.results) {
      const planId = r.properties[PLAN_ID_PROPERTY];
      if (planId) out.written.push({ planId, productId: r.id, created: r._new });
    }
    for (const e of ('errors' in res ? res.errors : undefined) ?? []) {
      out.errors.push({ planIds: errorPlanIds(e.context, ids), category: e.category, message: e.message });
    }
  }
  return out;
}

/** A live product found by its plan id: its HubSpot id and the course it belongs to. */
export interface FoundProduct {
  productId: string;
  courseId?: string;
}

/** The live products of these plans, by plan id (plans without a product, e.g. deleted by hand, are left out). */
export async function findProducts(client: Client, call: HubSpotCall, planIds: string[]): Promise<Map<string, FoundProduct>> {
  const found = new Map<string, FoundProduct>();
  for (const batch of chunks(planIds, PRODUCT_BATCH_LIMIT)) {
    const results = await readBatch(call, 'products.read', () =>
      client.crm.products.batchApi.read({
        idProperty: PLAN_ID_PROPERTY,
        inputs: batch.map((id) => ({ id })),
        properties: [PLAN_ID_PROPERTY, 'loopwise_course_id'],
        propertiesWithHistory: [],
      }),
    );
    for (const r of results) {
      const planId = r.properties[PLAN_ID_PROPERTY];
      if (planId) found.set(planId, { productId: r.id, courseId: r.properties.loopwise_course_id ?? undefined });
    }
  }
  return found;
}

/** Archives products by HubSpot id (204; archiving an already archived product is harmless). */
export async function archiveProducts(client: Client, call: HubSpotCall, productIds: string[]): Promise<void> {
  for (const batch of chunks(productIds, PRODUCT_BATCH_LIMIT)) {
    await call('products.archive', () => client.crm.products.batchApi.archive({ inputs: batch.map((id) => ({ id })) }));
  }
}
