import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { idempotencyKey } from '../../src/events/idempotency-key.ts';
import { validateEvent } from '../../src/events/schemas.ts';
import { EventIntake } from '../../src/queues/intake.ts';
import { openQueues } from '../../src/queues/registry.ts';
import { connectRedis, waitReady } from '../../src/redis/connection.ts';
import { generateEventKeyPair } from '../../src/sendgrid-signature.ts';
import { SECRET } from '../support/env.ts';
import { contactEmails, emailTally, enrollEvent, report, unfinished } from '../support/faults.ts';
import { deliver, isAck, summarise } from '../support/loopwise-sender.ts';
import { spawnService, type ServiceProcess } from '../support/processes.ts';
import {
  replicaInStep,
  startDataNode,
  startSentinelSet,
  type RedisProcess,
  type SentinelSet,
} from '../support/redis-sentinel.ts';

// Redis behind Sentinel — three sentinels, a primary and one replica, real redis-servers — and the
// primary SIGKILLed while 2,000 enrollments are being posted. The replica reads the primary over a
// link that holds the replication stream for LAG_MS (a replica in another zone, or falling behind);
// what is on that link when the primary dies is lost, as when its machine goes. Sentinel promotes
// the replica, the service follows it, the old primary comes back as the new one's replica, and the
// sender (Loopwise) goes on posting, retrying each 503 or unanswered delivery until it gets a 2xx.
//   REDIS_MIN_REPLICAS_ACK=1: every enrollment answered 2xx reaches HubSpot and is emailed once.
//   REDIS_MIN_REPLICAS_ACK=0: the acknowledged-but-lost enrollments are counted (not a failure: the
//   figure is what the setting buys); nobody may be emailed twice either way.
// The workers' own writes (sent markers, finished jobs) are not WAITed for: a failover can undo the
// last LAG_MS of them, and a welcome email stays single because a re-run finds its attempt noted and
// waits for SendGrid's events (the Event Webhook is on, and a send takes longer than the lag).
// With the WAIT taken out of the intake, the first scenario fails (10 acknowledged enrollments lost).
const TOTAL = 2_000;
const SENDERS = 100;
const KILL_AFTER_ACKS = 700;
const LAG_MS = Number(process.env.FAILOVER_LAG_MS ?? 50);
const keys = generateEventKeyPair();
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: 100_000 });
  sendgrid = await startSendGridEmulator();
  // SendGrid takes a moment to answer, as the real one does (longer than the replica's lag).
  sendgrid.setAnswerDelay(50);
});
afterAll(async () => {
  await hubspot?.close();
  await sendgrid?.close();
});

function serviceEnv(set: SentinelSet, prefix: string, ack: number): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    ...set.env,
    QUEUE_PREFIX: prefix,
    REDIS_MIN_REPLICAS_ACK: String(ack),
    WEBHOOK_SECRET: SECRET,
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_REQUESTS_PER_10S: '100000',
    HUBSPOT_BATCH_WAIT_MS: '50',
    SENDGRID_API_KEY: sendgrid.apiKey,
    SENDGRID_BASE_URL: sendgrid.url,
    SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
    DASHBOARD_PASSWORD: 'failover-test',
  };
}

async function failoverRun(ack: number) {
  const tag = `fo${ack}_${randomBytes(3).toString('hex')}`;
  const ids = Array.from({ length: TOTAL }, (_, i) => `${tag}_${i}`);
  const set = await startSentinelSet({ lagMs: LAG_MS });
  const env = serviceEnv(set, tag, ack);
  const children: ServiceProcess[] = [];
  let conn: Redis | undefined;
  try {
    const receiver = spawnService(`receiver-ack${ack}`, 'receiver', env);
    children.push(receiver);
    const base = `http://127.0.0.1:${await receiver.port()}`;
    sendgrid.setEventWebhook({
      url: `${base}/webhooks/sendgrid`,
      privateKey: keys.privateKey,
      deliverAfterMs: 200,
      flushMs: 1_000,
    });
    const worker = spawnService(`worker-ack${ack}`, 'worker', env);
    children.push(worker);
    await worker.waitFor('"msg":"workers started"');

    // Mid-burst, the moment the KILL_AFTER_ACKS-th 2xx arrives, the primary dies; what it wrote in its
    // last LAG_MS (answered to the receiver, which answers the sender) is still on the link.
    let killedAt = 0;
    const onAck = (n: number) => {
      if (n !== KILL_AFTER_ACKS) return;
      set.primary.proc.kill('SIGKILL');
      killedAt = Date.now();
    };
    const sending = deliver(base, ids, { senders: SENDERS, retryMs: 50, maxTries: 400, onAck });
    sending.done.catch(() => undefined); // awaited below; a rejection before that is not unhandled
    await vi.waitFor(() => expect(killedAt).toBeGreaterThan(0), { timeout: 60_000, interval: 10 });
    await set.primary.kill();
    await vi.waitFor(async () => expect(await set.currentPrimaryPort()).toBe(set.replica.port), {
      timeout: 60_000,
      interval: 100,
    });
    const failoverMs = Date.now() - killedAt;
    // The old primary back, as the new one's replica (its data folder still holds what was lost).
    await set.restartPrimaryAsReplicaOf(set.replica.port);
    await replicaInStep(set.primary.port);
    const replicaBackMs = Date.now() - killedAt;
    const deliveries = await sending.done;
    const allAckedMs = Date.now() - killedAt;

    // Everything taken is processed: the queues on the new primary drain.
    conn = connectRedis({ sentinel: loadConfig(env).redis.sentinel }, 'worker');
    await waitReady(conn);
    const queues = openQueues(conn, loadConfig(env));
    let drainedMs = 0;
    try {
      // One worker process on a busy 2-core machine can take a minute or more for 2,000 enrollments.
      await vi.waitFor(async () => expect((await unfinished(queues)).total).toBe(0), {
        timeout: 180_000,
        interval: 250,
      });
      drainedMs = Date.now() - killedAt;
    } finally {
      await queues.close();
    }
    const tally = emailTally(sendgrid);
    const contacts = contactEmails(hubspot);
    const acked = ids.filter((id) => deliveries.get(id)!.some((a) => isAck(a.status)));
    const lost = acked.filter((id) => !contacts.has(`${id}@example.com`) || !tally.perEnrollment.get(id));
    const partlyLost = acked.filter((id) => contacts.has(`${id}@example.com`) !== !!tally.perEnrollment.get(id));
    const duplicated = ids.reduce((n, id) => n + Math.max(0, (tally.perEnrollment.get(id) ?? 0) - 1), 0);
    const numbers = {
      replicasAck: ack,
      replicaLagMs: LAG_MS,
      enrollments: TOTAL,
      acked: acked.length,
      ackedButLost: lost.length,
      partlyLost: partlyLost.length,
      duplicatedEmails: duplicated,
      failoverMs,
      replicaBackMs,
      ...summarise(deliveries, killedAt),
      allAckedMs,
      drainedMs,
      replicationBytesLostOnLink: set.link!.dropped(),
    };
    report(`redis-failover-ack${ack}`, numbers);
    return numbers;
  } finally {
    await conn?.quit().catch(() => conn?.disconnect());
    for (const c of children) await c.stop();
    await set.stop();
  }
}

/** Median and 99th percentile of `ms`. */
const percentiles = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    p50: +sorted[Math.floor(sorted.length / 2)]!.toFixed(2),
    p99: +sorted[Math.floor(sorted.length * 0.99)]!.toFixed(2),
  };
};

/**
 * What `ack` replicas to confirm cost on the Redis at `redisUrl`: the intake's own time per
 * enrollment one at a time (its script, then WAIT; no HTTP), and webhooks per second through a
 * receiver process with SENDERS posting at once.
 */
async function ackCost(redisUrl: string, ack: number) {
  const tag = `cost${ack}_${randomBytes(3).toString('hex')}`;
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: tag,
    REDIS_MIN_REPLICAS_ACK: String(ack),
    WEBHOOK_SECRET: SECRET,
    DASHBOARD_PASSWORD: 'cost',
  };
  const conn = connectRedis(redisUrl, 'producer');
  const receiver = spawnService(`receiver-cost${ack}`, 'receiver', env);
  try {
    await waitReady(conn);
    const intake = new EventIntake(conn, loadConfig(env));
    const one: number[] = [];
    for (let i = 0; i < 600; i++) {
      const event = validateEvent('course.student_enroll', enrollEvent(`${tag}_seq_${i}`).data);
      const started = performance.now();
      await intake.accept(event, idempotencyKey(event), `c${i}`);
      one.push(performance.now() - started);
    }
    const base = `http://127.0.0.1:${await receiver.port()}`;
    const started = Date.now();
    await deliver(
      base,
      Array.from({ length: 1_000 }, (_, i) => `${tag}_par_${i}`),
      { senders: SENDERS, retryMs: 50, maxTries: 5 },
    ).done;
    return {
      intakeMs: percentiles(one.slice(100)),
      webhooksPerSecond: Math.round(1_000 / ((Date.now() - started) / 1000)),
    };
  } finally {
    conn.disconnect();
    await receiver.stop();
  }
}

describe('Redis primary SIGKILLed behind Sentinel while 2,000 enrollments are posted', () => {
  it('REDIS_MIN_REPLICAS_ACK=1: every enrollment answered 2xx reaches HubSpot and is emailed exactly once', async () => {
    const n = await failoverRun(1);
    expect(n.acked).toBe(TOTAL);
    expect(n.ackedBeforeKill).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
    expect(n.otherStatus).toBe(0);
    expect(n.ackedButLost).toBe(0);
    expect(n.partlyLost).toBe(0);
    expect(n.duplicatedEmails).toBe(0);
    expect(n.refused503).toBeGreaterThan(0); // the failover was seen
  }, 300_000);

  it('REDIS_MIN_REPLICAS_ACK=0: measures the acknowledged enrollments a failover loses; still nobody emailed twice', async () => {
    const n = await failoverRun(0);
    expect(n.acked).toBe(TOTAL);
    // Deliveries in flight at the kill were refused; their retries found nothing (lost) and were taken again.
    expect(n.retriedAccepted).toBeGreaterThan(0);
    expect(n.otherStatus).toBe(0);
    expect(n.partlyLost).toBe(0);
    expect(n.duplicatedEmails).toBe(0);
  }, 300_000);
});

it('measures what the replica ack costs per webhook, with a replica on the same machine', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-ack-cost-'));
  const nodes: RedisProcess[] = [];
  try {
    const primary = await startDataNode(join(dir, 'primary'));
    nodes.push(primary);
    const replica = await startDataNode(join(dir, 'replica'), { replicaOf: primary.port });
    nodes.push(replica);
    await replicaInStep(replica.port);
    const url = `redis://127.0.0.1:${primary.port}`;
    const without = await ackCost(url, 0);
    const withAck = await ackCost(url, 1);
    const round = (ms: number) => +ms.toFixed(2);
    report('replica-ack-cost', {
      ack0: without,
      ack1: withAck,
      addedMsPerEnrollment: round(withAck.intakeMs.p50 - without.intakeMs.p50),
    });
  } finally {
    for (const node of nodes) await node.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
