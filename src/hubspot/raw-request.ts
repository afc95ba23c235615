import type { Client } from '@hubspot/api-client';

/**
 * A non-2xx answer of a call sent with `client.apiRequest`, shaped like the client's ApiException
 * (`code`, `body`, `headers`) so that `classifyHubSpotError` reads it as every other HubSpot error.
 */
export class HubSpotAnswerError extends Error {
  constructor(
    readonly code: number,
    readonly body: unknown,
    readonly headers: Record<string, string>,
    what: string,
  ) {
    super(`HTTP-Code: ${code} from ${what}`);
    this.name = 'HubSpotAnswerError';
  }
}

/**
 * Sends one JSON request through the official client's `apiRequest` (its token, base path and user
 * agent) for the endpoints @hubspot/api-client 13 has no typed call for, or whose typed models drop
 * a field course-sync sends (the v4 association inputs have no `objectWriteTraceId`). Resolves to
 * the parsed body of a 2xx answer (with its status); throws HubSpotAnswerError otherwise.
 */
export async function requestJson<T = unknown>(
  client: Client,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await client.apiRequest({ method, path, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's page): kept as text.
  }
  if (!res.ok) {
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => (headers[name] = value));
    throw new HubSpotAnswerError(res.status, parsed, headers, `${method} ${path}`);
  }
  return { status: res.status, body: parsed as T };
}
