import type { Client } from '@hubspot/api-client';

/**
 * HubSpot's account information API, which @hubspot/api-client 13 has no typed client for: read
 * through `client.apiRequest` (the token, base path and user agent of the client) and parsed here.
 * Shapes from developers.hubspot.com/docs/api-reference/legacy/account/account-information/
 * (get-usage-details, get-account-details).
 */

/** The private apps' daily API usage: `results[]` of `GET /account-info/v3/api-usage/daily/private-apps`. */
export interface DailyUsage {
  /** Calls made today by the portal's private apps. */
  usage: number;
  /** Calls allowed a day (250,000 on Free/Starter, 650,000 Professional, 1,000,000 Enterprise; more with a capacity pack). */
  limit: number;
  /** When the count starts again (ISO 8601), if HubSpot said. */
  resetsAt?: string;
  /** SUCCESS, CACHED, TIMEOUT, FAILURE or NOTFOUND: whether the figures are fresh. */
  fetchStatus?: string;
}

/** The parts of `GET /account-info/v3/details` course-sync uses. */
export interface PortalDetails {
  portalId?: number;
  /** IANA name of the portal's time zone, e.g. "US/Eastern". */
  timeZone?: string;
}

export const DAILY_USAGE_PATH = '/account-info/v3/api-usage/daily/private-apps';
export const DETAILS_PATH = '/account-info/v3/details';

/**
 * A non-2xx answer of an account-info call, shaped like the client's ApiException (`code`, `body`,
 * `headers`) so that `classifyHubSpotError` reads it as it reads every other HubSpot error.
 */
export class AccountInfoError extends Error {
  constructor(
    readonly code: number,
    readonly body: unknown,
    readonly headers: Record<string, string>,
    path: string,
  ) {
    super(`HTTP-Code: ${code} from GET ${path}`);
    this.name = 'AccountInfoError';
  }
}

async function getJson(client: Client, path: string): Promise<unknown> {
  const res = await client.apiRequest({ method: 'GET', path });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's page): kept as text.
  }
  if (!res.ok) {
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => (headers[name] = value));
    throw new AccountInfoError(res.status, body, headers, path);
  }
  return body;
}

const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/** Reads the private apps' daily usage; throws on a non-2xx answer or a body without the figures. */
export async function readDailyUsage(client: Client): Promise<DailyUsage> {
  const body = (await getJson(client, DAILY_USAGE_PATH)) as { results?: Record<string, unknown>[] } | undefined;
  const results = Array.isArray(body?.results) ? body.results : [];
  // One result today, "private-apps-api-calls-daily"; prefer it by name should more come.
  const r = results.find((x) => x?.name === 'private-apps-api-calls-daily') ?? results[0];
  const usage = count(r?.currentUsage);
  const limit = count(r?.usageLimit);
  if (usage === undefined || limit === undefined)
    throw new Error(`GET ${DAILY_USAGE_PATH}: no currentUsage/usageLimit in the answer`);
  return {
    usage,
    limit,
    resetsAt: typeof r?.resetsAt === 'string' ? r.resetsAt : undefined,
    fetchStatus: typeof r?.fetchStatus === 'string' ? r.fetchStatus : undefined,
  };
}

/** Reads the portal's id and time zone; throws on a non-2xx answer. */
export async function readPortalDetails(client: Client): Promise<PortalDetails> {
  const body = (await getJson(client, DETAILS_PATH)) as Record<string, unknown> | undefined;
  return {
    portalId: typeof body?.portalId === 'number' ? body.portalId : undefined,
    timeZone: typeof body?.timeZone === 'string' && body.timeZone ? body.timeZone : undefined,
  };
}
