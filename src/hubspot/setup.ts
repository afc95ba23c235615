import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@hubspot/api-client';
import type {
  PropertyCreate,
  PropertyCreateFieldTypeEnum,
  PropertyCreateTypeEnum,
} from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import type { HubSpotCall } from './call.ts';
import { HubSpotCallError } from './errors.ts';
import { LOOPWISE_GROUP, OBJECT_PATH_NAME, PROPERTIES, type CrmObjectType, type PropertySpec } from './properties.ts';

/** What `ensureHubSpotSetup` found: items are named like "contacts property loopwise_user_id". */
export interface SetupReport {
  created: string[];
  existing: string[];
  /** Existing properties whose type, field type or uniqueness differ from ours (left as they are). */
  mismatched: string[];
}

const OBJECT_TYPES: CrmObjectType[] = ['contacts', 'products'];

const RATE_LIMIT_RETRIES = 10;

/**
 * The set-up is a sequence of calls; on a 429 it waits as HubSpot asks and sends the same call
 * again, instead of starting over, so it makes progress even under a tight limit.
 */
function patient(call: HubSpotCall): HubSpotCall {
  return async (operation, request) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(operation, request);
      } catch (err) {
        if (!(err instanceof HubSpotCallError) || err.failure.kind !== 'rate_limited' || attempt >= RATE_LIMIT_RETRIES)
          throw err;
        await sleep(err.failure.waitMs);
      }
    }
  };
}

function isConflict(err: unknown): boolean {
  return err instanceof HubSpotCallError && err.failure.status === 409;
}

function createBody(spec: PropertySpec): PropertyCreate {
  return {
    name: spec.name,
    label: spec.label,
    description: spec.description,
    groupName: LOOPWISE_GROUP.name,
    type: spec.type as PropertyCreateTypeEnum,
    fieldType: spec.fieldType as PropertyCreateFieldTypeEnum,
    ...(spec.hasUniqueValue ? { hasUniqueValue: true } : {}),
    ...(spec.type === 'enumeration'
      ? { options: (spec.options ?? []).map((o, i) => ({ ...o, displayOrder: i, hidden: false })) }
      : {}),
  };
}

/**
 * Creates the `loopwise` property group and every course-sync property on contacts and products
 * (or just `types`: course records too, when the Courses object is used) that HubSpot does not have
 * yet; leaves existing ones alone. Reads the properties first, and the groups only when none of
 * ours shows the group exists (one request per type on a portal that is set up). Safe to run any number of times,
 * also by several processes at once (a 409 from a concurrent creation counts as "existing").
 */
export async function ensureHubSpotSetup(
  client: Client,
  hubspotCall: HubSpotCall,
  types: readonly CrmObjectType[] = OBJECT_TYPES,
): Promise<SetupReport> {
  const call = patient(hubspotCall);
  const report: SetupReport = { created: [], existing: [], mismatched: [] };
  const note = (list: string[], type: CrmObjectType, what: string) => list.push(`${type} ${what}`);
  for (const type of types) {
    const path = OBJECT_PATH_NAME[type];
    const existing = new Map(
      (await call('properties.list', () => client.crm.properties.coreApi.getAll(path))).results.map((p) => [p.name, p]),
    );
    // One of our properties in the group shows the group exists: no need to list the groups.
    if (PROPERTIES[type].some((spec) => existing.get(spec.name)?.groupName === LOOPWISE_GROUP.name))
      note(report.existing, type, `group ${LOOPWISE_GROUP.name}`);
    else if (
      (await call(`properties.groups.list`, () => client.crm.properties.groupsApi.getAll(path))).results.some(
        (g) => g.name === LOOPWISE_GROUP.name,
      )
    )
      note(report.existing, type, `group ${LOOPWISE_GROUP.name}`);
    else {
      try {
        await call('properties.groups.create', () =>
          client.crm.properties.groupsApi.create(path, { ...LOOPWISE_GROUP }),
        );
        note(report.created, type, `group ${LOOPWISE_GROUP.name}`);
      } catch (err) {
        if (!isConflict(err)) throw err;
        note(report.existing, type, `group ${LOOPWISE_GROUP.name}`);
      }
    }

    for (const spec of PROPERTIES[type]) {
      const found = existing.get(spec.name);
      if (found) {
        note(report.existing, type, `property ${spec.name}`);
        if (
          found.type !== spec.type ||
          found.fieldType !== spec.fieldType ||
          !!found.hasUniqueValue !== !!spec.hasUniqueValue
        ) {
          note(
            report.mismatched,
            type,
            `property ${spec.name} (is ${found.type}/${found.fieldType}${found.hasUniqueValue ? '/unique' : ''}, expected ${spec.type}/${spec.fieldType}${spec.hasUniqueValue ? '/unique' : ''})`,
          );
        }
        // Options course-sync writes must exist (someone may have deleted one by hand): add back the missing.
        const missing = (spec.options ?? []).filter((o) => !found.options.some((f) => f.value === o.value));
        if (missing.length) {
          const options = [
            ...found.options.map((o) => ({
              label: o.label,
              value: o.value,
              description: o.description,
              displayOrder: o.displayOrder,
              hidden: o.hidden,
            })),
            ...missing.map((o, i) => ({ ...o, displayOrder: found.options.length + i, hidden: false })),
          ];
          await call('properties.update', () => client.crm.properties.coreApi.update(path, spec.name, { options }));
          note(report.created, type, `options ${missing.map((o) => o.value).join(', ')} of ${spec.name}`);
        }
        continue;
      }
      try {
        await call('properties.create', () => client.crm.properties.coreApi.create(path, createBody(spec)));
        note(report.created, type, `property ${spec.name}`);
      } catch (err) {
        if (!isConflict(err)) throw err;
        note(report.existing, type, `property ${spec.name}`);
      }
    }
  }
  return report;
}

/**
 * Runs `ensureHubSpotSetup` for `types` once per process and remembers success; a failure is
 * retried on the next call. Each worker should set up the object type it writes (default: both).
 */
export function setupOnce(
  client: Client,
  call: HubSpotCall,
  types: readonly CrmObjectType[] = OBJECT_TYPES,
): { ensure(): Promise<SetupReport>; forget(): void } {
  let done: Promise<SetupReport> | undefined;
  return {
    ensure: () =>
      (done ??= ensureHubSpotSetup(client, call, types).catch((err) => {
        done = undefined;
        throw err;
      })),
    forget: () => {
      done = undefined;
    },
  };
}
