import type { Client } from '@hubspot/api-client';
import { readBatch } from './batch-read.ts';
import { inputOfResult, inputsInMessage, inputsNamed, withTraceIds } from './batch-write.ts';
import type { HubSpotCall } from './call.ts';
import { HubSpotCallError } from './errors.ts';
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

const planIdOf = (i: ProductUpsertInput) => i.id;

/**
 * Upserts products by loopwise_plan_id, in batches of at most 100 (one request per batch), each
 * input with an `objectWriteTraceId` so that HubSpot answers per record (batch-write.ts).
 */
export async function upsertProducts(
  client: Client,
  call: HubSpotCall,
  inputs: ProductUpsertInput[],
): Promise<ProductUpsertResult> {
  const out: ProductUpsertResult = { written: [], errors: [] };
  for (const batch of chunks(inputs, PRODUCT_BATCH_LIMIT)) await upsertBatch(client, call, batch, out);
  return out;
}

/**
 * One batch. A whole-batch 400 that is about records (not a missing property, which the caller's
 * set-up repairs) is narrowed down: the plans its message names are sent alone and the rest
 * together, or the batch is halved, until each refused plan stands alone as an error of its own.
 */
async function upsertBatch(
  client: Client,
  call: HubSpotCall,
  batch: ProductUpsertInput[],
  out: ProductUpsertResult,
): Promise<void> {
  const traced = withTraceIds(batch);
  let res;
  try {
    res = await call('products.upsert', () => client.crm.products.batchApi.upsert({ inputs: traced }));
  } catch (err) {
    if (
      !(err instanceof HubSpotCallError) ||
      err.failure.kind !== 'rejected' ||
      err.failure.status !== 400 ||
      err.failure.message.includes('PROPERTY_DOESNT_EXIST')
    )
      throw err;
    if (batch.length === 1) {
      out.errors.push({
        planIds: [batch[0]!.id],
        category: err.failure.category ?? 'VALIDATION_ERROR',
        message: err.failure.message,
      });
      return;
    }
    const named = inputsInMessage(err.failure.message, batch, planIdOf);
    const half = Math.ceil(batch.length / 2);
    const parts =
      named.length && named.length < batch.length
        ? [...named.map((i) => [i]), batch.filter((i) => !named.includes(i))]
        : [batch.slice(0, half), batch.slice(half)];
    for (const part of parts) await upsertBatch(client, call, part, out);
    return;
  }
  for (const r of res.results) {
    const planId =
      inputOfResult(r, traced, planIdOf, r.properties[PLAN_ID_PROPERTY] ?? undefined)?.id ??
      r.properties[PLAN_ID_PROPERTY];
    if (planId) out.written.push({ planId, productId: r.id, created: r._new });
  }
  for (const e of ('errors' in res ? res.errors : undefined) ?? []) {
    const named = inputsNamed(e, traced, planIdOf);
    out.errors.push({
      planIds: named.length ? named.map(planIdOf) : batch.map(planIdOf),
      category: e.category,
      message: e.message,
    });
  }
}

/** A live product found by its plan id: its HubSpot id and the course it belongs to. */
export interface FoundProduct {
  productId: string;
  courseId?: string;
}

/** The live products of these plans, by plan id (plans without a product, e.g. deleted by hand, are left out). */
export async function findProducts(
  client: Client,
  call: HubSpotCall,
  planIds: string[],
): Promise<Map<string, FoundProduct>> {
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
