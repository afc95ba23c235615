import type { Client } from '@hubspot/api-client';
import type { HubSpotCall } from './call.ts';
import type { ContactMappingSpec } from '../contact-mapping/file.ts';
import { mappingProblems, type MappingProblem, type PortalProperty } from './contact-mapping-fit.ts';
import { CONTACT_PROPERTIES } from './properties.ts';
import { requestJson } from './raw-request.ts';

/** The portal's contact properties by name (`GET /crm/v3/properties/contacts`). */
export async function readContactProperties(client: Client, call: HubSpotCall): Promise<Map<string, PortalProperty>> {
  const res = await call('properties.list', () => client.crm.properties.coreApi.getAll('contacts'));
  return new Map(res.results.map((p) => [p.name, p as PortalProperty]));
}

/** Properties `hubspot setup` (and the contacts worker at start) creates itself: a mapping may name them before they exist. */
export const CREATED_BY_SETUP: ReadonlySet<string> = new Set(CONTACT_PROPERTIES.map((p) => p.name));

/** Reads the portal's contact properties and checks the mapping against them. */
export async function checkMappingAgainstPortal(
  client: Client,
  call: HubSpotCall,
  spec: ContactMappingSpec,
): Promise<MappingProblem[]> {
  return mappingProblems(spec, await readContactProperties(client, call), CREATED_BY_SETUP);
}

/** Scopes the Courses object needs (HubSpot's courses guide). */
export const COURSE_SCOPES = ['crm.objects.courses.read', 'crm.objects.courses.write'] as const;

/**
 * The private app's scopes: `POST /oauth/v2/private-apps/get/access-token-info` `{"tokenKey": <token>}`
 * (HubSpot's private apps guide, "Retrieve access token info").
 */
export async function readTokenScopes(client: Client, call: HubSpotCall, token: string): Promise<string[]> {
  const res = await call('oauth.token-info', () =>
    requestJson<{ scopes?: unknown }>(client, 'POST', '/oauth/v2/private-apps/get/access-token-info', {
      tokenKey: token,
    }),
  );
  return Array.isArray(res.body?.scopes) ? res.body.scopes.map(String) : [];
}
