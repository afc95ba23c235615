import type { PortalAccount } from './account-info.ts';
import type { HubSpotState, ObjectType } from './state.ts';

/** What a route handler gets. */
export interface RouteContext {
  state: HubSpotState;
  /** The portal: account details, daily usage (account-info.ts). */
  portal: PortalAccount;
  params: Record<string, string>;
  query: URLSearchParams;
  body: any;
  correlationId: string;
}

/** What a route handler answers: a status and a JSON body (none for 204). */
export interface RouteAnswer {
  status: number;
  body?: unknown;
  /** Path of a created resource: sent as an absolute `Location` header (201 of properties and groups). */
  location?: string;
}

/** One entry of an error's `errors` list (HubSpot's ErrorDetail). */
export interface ErrorDetail {
  message: string;
  code?: string;
  in?: string;
  context?: Record<string, string[]>;
}

/**
 * A per-record error of a 207 answer, shaped like HubSpot's StandardError (whose required fields
 * are status, category, message, context, errors and links).
 */
export function recordError(
  category: string,
  message: string,
  context: Record<string, string[]>,
  errors: ErrorDetail[] = [],
) {
  return { status: 'error', category, message, context, errors, links: {} };
}

/** A batch answer: 200 with `results`, or 207 with `errors` besides when any record failed. */
export function batchAnswer(results: unknown[], errors: unknown[], startedAt: string): RouteAnswer {
  const body: Record<string, unknown> = {
    status: 'COMPLETE',
    results,
    startedAt,
    completedAt: new Date().toISOString(),
  };
  if (!errors.length) return { status: 200, body };
  return { status: 207, body: { ...body, numErrors: errors.length, errors } };
}

export type Handler = (ctx: RouteContext) => RouteAnswer;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/** An error answer with HubSpot's error body shape. */
export class HubSpotHttpError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** The JSON body HubSpot sends for this error. */
  body(correlationId: string): Record<string, unknown> {
    return { status: 'error', message: this.message, correlationId, category: this.category, ...this.extra };
  }
}

/** Shorthand for a 400 VALIDATION_ERROR. */
export function badRequest(message: string, extra: Record<string, unknown> = {}): HubSpotHttpError {
  return new HubSpotHttpError(400, 'VALIDATION_ERROR', message, extra);
}

const OBJECT_TYPES: Record<string, ObjectType> = {
  contacts: 'contacts',
  contact: 'contacts',
  '0-1': 'contacts',
  products: 'products',
  product: 'products',
  '0-7': 'products',
  courses: 'courses',
  course: 'courses',
  '0-410': 'courses',
};

/** The object type named in a path (`contacts`, `0-1`, `products`, `0-7`, `courses`, `0-410`); 400 for others. */
export function objectTypeOf(name: string | undefined): ObjectType {
  const t = OBJECT_TYPES[(name ?? '').toLowerCase()];
  if (!t) throw badRequest(`Unable to infer object type from: ${name}`);
  return t;
}

const TYPE_IDS: Record<ObjectType, string> = { contacts: '0-1', products: '0-7', courses: '0-410' };

/** HubSpot's object type id, used in some messages and the v4 associations (0-1 contacts, 0-7 products, 0-410 courses). */
export function typeId(type: ObjectType): string {
  return TYPE_IDS[type];
}

/** Reads `body.inputs` as an array, or answers 400 like HubSpot. */
export function inputsOf(body: any): any[] {
  if (!body || !Array.isArray(body.inputs))
    throw badRequest(
      'Invalid input JSON on line 1, column 1: Cannot build BatchInput, some of required attributes are not set [inputs]',
    );
  return body.inputs;
}

/** Largest batch HubSpot takes. */
export const BATCH_LIMIT = 100;

/** Answers 400 when a batch has more inputs than HubSpot takes. */
export function checkBatchSize(inputs: unknown[]): void {
  if (inputs.length > BATCH_LIMIT)
    throw badRequest(`Batch input size ${inputs.length} exceeds limit of ${BATCH_LIMIT}`, {
      context: { size: [String(inputs.length)] },
    });
}

/**
 * Largest batch read that asks for `propertiesWithHistory`. HubSpot answers more with 400
 * VALIDATION_ERROR in these words (reported by integrators against the batch read in 2022 and 2025;
 * the contacts spec: history "will reduce the maximum number of contacts that can be read by a
 * single request").
 */
export const HISTORY_READ_LIMIT = 50;

/** Answers 400 when a batch read asks for property history on more inputs than HubSpot takes. */
export function checkHistoryReadSize(inputs: unknown[], withHistory: unknown): void {
  if (!Array.isArray(withHistory) || !withHistory.length || inputs.length <= HISTORY_READ_LIMIT) return;
  throw badRequest(
    `The maximum number of inputs supported in a batch request for property histories is ${HISTORY_READ_LIMIT}. Please reduce the number of items and try again`,
  );
}
