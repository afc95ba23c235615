import type { Client } from '@hubspot/api-client';
import { ok, problem, type CheckResult } from './check.ts';

interface Probe {
  name: string;
  /** One GET through the official client. */
  call(client: Client): Promise<unknown>;
  /** Private-app scopes that grant it. */
  scopes: string;
}

const PROBES: Probe[] = [
  {
    name: 'HubSpot contacts',
    call: (c) => c.crm.contacts.basicApi.getPage(1),
    scopes: 'crm.objects.contacts.read and crm.objects.contacts.write',
  },
  {
    name: 'HubSpot products',
    call: (c) => c.crm.products.basicApi.getPage(1),
    scopes: 'crm.objects.products.read and crm.objects.products.write',
  },
  {
    name: 'HubSpot contact properties',
    call: (c) => c.crm.properties.coreApi.getAll('contacts'),
    scopes: 'crm.schemas.contacts.read and crm.schemas.contacts.write',
  },
  {
    name: 'HubSpot product properties',
    call: (c) => c.crm.properties.coreApi.getAll('products'),
    scopes: 'crm.schemas.products.read and crm.schemas.products.write',
  },
];

/** The HTTP status of a failed call of the HubSpot client (ApiException.code), if it got an answer. */
function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** What a failed probe means and how to fix it. */
function explainHubSpotError(probe: Pick<Probe, 'name' | 'scopes'>, err: unknown, baseUrl: string): CheckResult {
  const status = statusOf(err);
  const message = String((err as { body?: { message?: unknown } }).body?.message ?? (err as Error).message ?? err);
  if (status === 401) {
    return problem(
      probe.name,
      'the token was refused (401)',
      'set HUBSPOT_ACCESS_TOKEN to the access token of a HubSpot private app (Settings → Integrations → Private apps)',
    );
  }
  if (status === 403)
    return problem(probe.name, 'the token lacks a scope (403)', `give the private app the scopes ${probe.scopes}`);
  if (status === 429 && (err as { body?: { policyName?: unknown } }).body?.policyName === 'DAILY') {
    return problem(
      probe.name,
      "HubSpot's daily API limit is reached (429 DAILY)",
      'see the "HubSpot daily API limit" line: HubSpot answers again after the portal\'s daily reset',
    );
  }
  if (status === 429)
    return problem(
      probe.name,
      'rate limited (429) while checking',
      'run the doctor again in a few seconds; if it persists, lower HUBSPOT_REQUESTS_PER_10S',
    );
  if (status !== undefined)
    return problem(probe.name, `HTTP ${status}: ${message.slice(0, 160)}`, 'check HUBSPOT_BASE_URL and HubSpot status');
  return problem(
    probe.name,
    `no answer from ${baseUrl} (${message.slice(0, 160)})`,
    'check network access to HUBSPOT_BASE_URL',
  );
}

/**
 * Checks that the private-app token can read contacts, products and both property lists
 * (one GET each, through the official client).
 */
export async function checkHubSpot(client: Client, baseUrl: string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const probe of PROBES) {
    try {
      await probe.call(client);
      results.push(ok(probe.name, 'the token can read them'));
    } catch (err) {
      results.push(explainHubSpotError(probe, err, baseUrl));
      if (statusOf(err) === 401 || statusOf(err) === undefined) break; // the next calls would fail the same way
    }
  }
  return results;
}
