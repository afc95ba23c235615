import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { createLogger } from '../../src/log.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { connectRedis, waitReady } from '../../src/redis/connection.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { runCli } from '../support/cli.ts';
import { SECRET } from '../support/env.ts';
import {
  contactEmails,
  contactWrites,
  courseEvent,
  deadLetterCount,
  emailTally,
  enrollEvent,
  postSigned,
  report,
  unfinished,
} from '../support/faults.ts';
import { startLocalCluster, type LocalCluster } from '../support/redis-cluster.ts';
import { recordKey } from '../../src/redis/keys.ts';

// The core flow on a 3-master Redis Cluster (REDIS_CLUSTER=true, QUEUE_PREFIX hash-tagged): the
// receiver's FlowProducer.addBulk across two queues, the dedupe marker, the workers' Lua scripts
// (request budget, sent markers, contact records, course locks) all run against real slots.
let cluster: LocalCluster;
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let receiver: RunningService;
let worker: RunningService;
let base: string;
const prefix = `{cs-${randomBytes(4).toString('hex')}}`;

function clusterEnv(): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: cluster.url,
    REDIS_CLUSTER: 'true',
    QUEUE_PREFIX: prefix,
    WEBHOOK_SECRET: SECRET,
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_REQUESTS_PER_10S: '1000',
    HUBSPOT_BATCH_WAIT_MS: '50',
    SENDGRID_API_KEY: sendgrid.apiKey,
    SENDGRID_BASE_URL: sendgrid.url,
    DASHBOARD_PASSWORD: 'cluster-test',
  };
}

beforeAll(async () => {
  cluster = await startLocalCluster(3);
  hubspot = await startHubSpotEmulator({ requestsPer10s: 1000 });
  sendgrid = await startSendGridEmulator();
  const config = loadConfig(clusterEnv());
  receiver = await startService(config, 'receiver', createLogger('silent'));
  worker = await startService(config, 'worker', createLogger('silent'));
  base = `http://127.0.0.1:${receiver.port}`;
}, 60_000);

afterAll(async () => {
  await receiver?.stop();
  await worker?.stop();
  await hubspot?.close();
  await sendgrid?.close();
  await cluster?.stop();
});

it('refuses a prefix without a {hash-tag} in cluster mode, naming QUEUE_PREFIX', () => {
  expect(() => loadConfig({ ...clusterEnv(), QUEUE_PREFIX: 'course-sync' })).toThrow(
    /config QUEUE_PREFIX: must hold a \{hash-tag\}/,
  );
  expect(() => loadConfig({ ...clusterEnv(), REDIS_URL: '' })).toThrow(/config REDIS_CLUSTER: needs REDIS_URL/);
});

it('syncs enrollments and courses through a 3-master cluster: every contact, one email each, products, nothing left', async () => {
  const n = 60;
  const ids = Array.from({ length: n }, (_, i) => `cl_enroll_${i}`);
  const sent = [
    ...ids.map((id) => enrollEvent(id)),
    courseEvent('course.created', 'cl-course-1'),
    courseEvent('course.updated', 'cl-course-1', '2023-06-01T00:00:00Z'),
  ];
  const first = await Promise.all(sent.map((e) => postSigned(base, e)));
  expect(first.map((r) => r.status)).toEqual(sent.map(() => 202));
  // Redeliveries are answered 200 duplicate by the same cluster-held dedupe marker.
  const again = await Promise.all(sent.slice(0, 10).map((e) => postSigned(base, e)));
  expect(again.map((r) => r.status)).toEqual(again.map(() => 200));

  const redis = connectRedis(cluster.url, 'producer', true);
  await waitReady(redis);
  const queues: QueueSet = openQueues(redis, loadConfig(clusterEnv()));
  try {
    await vi.waitFor(
      async () => {
        expect((await unfinished(queues)).total).toBe(0);
        expect(sendgrid.outbox.size).toBeGreaterThanOrEqual(n);
        expect(contactEmails(hubspot).size).toBeGreaterThanOrEqual(n);
      },
      { timeout: 60_000, interval: 100 },
    );
    const emails = ids.map((id) => `${id}@example.com`);
    expect([...contactEmails(hubspot)].sort()).toEqual([...emails].sort());
    const tally = emailTally(sendgrid);
    expect(tally.duplicates).toBe(0);
    expect(tally.perEnrollment.size).toBe(n);
    const plans = [...hubspot.state.objects.products.values()].map((p) => p.properties.loopwise_plan_id).sort();
    expect(plans).toEqual(['cl-course-1-plan_123', 'cl-course-1-plan_456']);
    expect(await deadLetterCount(queues)).toBe(0);
    const writes = emails.reduce((a, e) => a + contactWrites(hubspot, e), 0);

    // Every key of the run is in the one slot of the hash tag: one master holds them all.
    const slot = Number(await redis.cluster('KEYSLOT', recordKey(prefix, 'seen', 'x')));
    const masters = (redis as unknown as Cluster).nodes('master');
    const perNode = await Promise.all(
      masters.map(async (node) => ({
        all: await node.dbsize(),
        inSlot: Number(await node.cluster('COUNTKEYSINSLOT', slot)),
      })),
    );
    const keysInSlot = perNode.reduce((a, p) => a + p.inSlot, 0);
    expect(masters).toHaveLength(3);
    expect(keysInSlot).toBeGreaterThan(n);
    expect(perNode.reduce((a, p) => a + p.all, 0)).toBe(keysInSlot);
    // The ops commands connect in cluster mode too.
    const cli = await runCli(['dlq', 'list', '--json'], {
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      QUEUE_PREFIX: prefix,
    });
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual([]);
    report('redis-cluster', {
      masters: 3,
      sent: sent.length + again.length,
      acknowledged: sent.length,
      duplicatesAnswered: again.length,
      contacts: contactEmails(hubspot).size,
      contactWrites: writes,
      emails: sendgrid.outbox.size,
      duplicateEmails: tally.duplicates,
      products: plans.length,
      slot,
      keysInSlot,
    });
  } finally {
    await queues.close();
    await redis.quit();
  }
});
