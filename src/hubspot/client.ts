import { Client } from '@hubspot/api-client';
import type { Config } from '../config.ts';

/**
 * Builds the official HubSpot client for `config.hubspot`: the private-app token and the base URL
 * (HubSpot, or an emulator). Its own retries and limiter stay off: retries belong to the queues and
 * the request budget is shared across processes (see request-budget.ts).
 */
export function createHubSpotClient(hubspot: Pick<Config['hubspot'], 'accessToken' | 'baseUrl'>): Client {
  if (!hubspot.accessToken)
    throw new Error('HubSpot client needs an access token (HUBSPOT_ACCESS_TOKEN, or the sandbox emulator)');
  return new Client({ accessToken: hubspot.accessToken, basePath: hubspot.baseUrl, numberOfApiCallRetries: 0 });
}
