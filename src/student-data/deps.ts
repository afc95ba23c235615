import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { createHubSpotCall } from '../hubspot/call.ts';
import { createHubSpotClient } from '../hubspot/client.ts';
import { DailyLimitPause } from '../hubspot/daily-limit.ts';
import { DailyLimitStore } from '../hubspot/daily-limit-store.ts';
import { gdprDeleteContact } from '../hubspot/gdpr-delete.ts';
import { RequestBudget } from '../hubspot/request-budget.ts';
import { createLogger } from '../log.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { PrivacyDeps } from './forget.ts';
import { resolvePiiHasher } from '../privacy/pii-hash.ts';
import { SuppressionList } from '../privacy/suppression.ts';
import { TraceReader } from '../trace/reader.ts';

/**
 * What `forget` and `export` work with, for the CLI and the admin API alike: the stores, the PII
 * hash key, the suppression list and, when a HubSpot token is configured, GDPR deletes inside the
 * shared request budget (the workers' budget: a forget never pushes them over HubSpot's limit).
 */
export async function openPrivacy(config: Config, redis: Redis, queues: QueueSet): Promise<PrivacyDeps> {
  const prefix = config.redis.prefix;
  let gdprDelete: PrivacyDeps['gdprDelete'];
  if (config.hubspot.accessToken) {
    const client = createHubSpotClient(config.hubspot);
    const budget = new RequestBudget(redis, prefix, { max: config.hubspot.requestsPer10s });
    // While HubSpot work is paused for the daily limit a delete fails at once, saying until when,
    // instead of waiting hours for the budget (the workers log and end the pause; this never checks it).
    const daily = new DailyLimitPause({
      client,
      store: new DailyLimitStore(redis, prefix),
      budget,
      probe: () => client.crm.contacts.basicApi.getPage(1),
      log: createLogger('silent'),
    });
    const call = createHubSpotCall({ budget, daily });
    gdprDelete = (email) => gdprDeleteContact(client, call, email);
  }
  return {
    redis,
    prefix,
    queues,
    hasher: await resolvePiiHasher(redis, prefix, config.trace.piiHashKey),
    suppression: new SuppressionList(redis, prefix, config.trace.piiHashKey),
    traces: new TraceReader(redis, config),
    gdprDelete,
  };
}
