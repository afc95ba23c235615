import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { idempotencyKey } from '../src/events/idempotency-key.ts';
import { validateEvent } from '../src/events/schemas.ts';
import { pendingKey } from '../src/queues/pending-events.ts';
import { generateEventKeyPair } from '../src/sendgrid-signature.ts';
import { enrollEvent } from './support/faults.ts';
import { startTestService } from './support/receiver.ts';
import { replicaInStep, startDataNode, type RedisProcess } from './support/redis-sentinel.ts';
import { postEvents, sgEvent } from './support/sendgrid-events.ts';

// REDIS_MIN_REPLICAS_ACK against a real primary and replica: a webhook is answered 2xx only once the
// replica holds it (WAIT). A replica that cannot answer (SIGSTOP: alive, silent, as one behind a
// broken link) makes the receiver answer 503 + Retry-After although the primary has the write; the
// redelivery is answered 200 duplicate once the replica caught up. Without the WAIT the stopped
// replica changes nothing and the first answer is 202.
const keys = generateEventKeyPair();
let dir: string;
let primary: RedisProcess;
let replica: RedisProcess;
let onPrimary: Redis;
let onReplica: Redis;
let acked: Awaited<ReturnType<typeof startTestService>>;
let unacked: Awaited<ReturnType<typeof startTestService>>;

const url = () => `redis://127.0.0.1:${primary.port}`;
const seenKey = (prefix: string, body: any) => pendingKey(prefix, idempotencyKey(validateEvent(body.type, body.data)));

/** Runs `fn` while the replica is stopped (it keeps its connection, and acknowledges nothing). */
async function withReplicaStopped<T>(fn: () => Promise<T>): Promise<T> {
  replica.proc.kill('SIGSTOP');
  try {
    return await fn();
  } finally {
    replica.proc.kill('SIGCONT');
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-replica-ack-'));
  primary = await startDataNode(join(dir, 'primary'));
  replica = await startDataNode(join(dir, 'replica'), { replicaOf: primary.port });
  await replicaInStep(replica.port);
  onPrimary = new Redis(url());
  onReplica = new Redis(`redis://127.0.0.1:${replica.port}`);
  const common = { REDIS_URL: url(), SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey, DASHBOARD_PASSWORD: 'replica-ack' };
  acked = await startTestService({ ...common, REDIS_MIN_REPLICAS_ACK: '1', REDIS_REPLICA_ACK_TIMEOUT_MS: '300' });
  unacked = await startTestService(common);
  // The replica is attached and in step before the test begins.
  expect((await acked.post(enrollEvent('ack_warmup'))).status).toBe(202);
}, 30_000);

afterAll(async () => {
  replica?.proc.kill('SIGCONT');
  await acked?.stop();
  await unacked?.stop();
  onPrimary?.disconnect();
  onReplica?.disconnect();
  await replica?.kill();
  await primary?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('REDIS_MIN_REPLICAS_ACK=1', () => {
  it('answers 202 once the replica holds the enrollment', async () => {
    const body = enrollEvent('ack_ok');
    expect((await acked.post(body)).status).toBe(202);
    expect(await onReplica.exists(seenKey(acked.config.redis.prefix, body))).toBe(1);
  });

  it('answers 503 with Retry-After when the replica does not confirm in time, then 200 duplicate once it has the write', async () => {
    const body = enrollEvent('ack_late');
    const first = await withReplicaStopped(async () => {
      const started = Date.now();
      const res = await acked.post(body);
      return { ...res, ms: Date.now() - started };
    });
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('5');
    expect(first.json.error).toMatch(/replicas/);
    expect(first.ms).toBeGreaterThanOrEqual(300);
    // The write did land on the primary: the sender's retry is a duplicate, acknowledged only now.
    expect(await onPrimary.exists(seenKey(acked.config.redis.prefix, body))).toBe(1);
    const again = await acked.post(body);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ duplicate: true });
    expect(await onReplica.exists(seenKey(acked.config.redis.prefix, body))).toBe(1);
  });

  it('holds SendGrid event batches to the same rule', async () => {
    const events = [sgEvent('delivered', 'ack_sg', 'msg-ack-sg.filter0001')];
    const first = await withReplicaStopped(() => postEvents(acked.base, keys.privateKey, events));
    expect(first.status).toBe(503);
    const again = await postEvents(acked.base, keys.privateKey, events);
    expect(again.status).toBe(200);
  });
});

describe('REDIS_MIN_REPLICAS_ACK=0 (the default)', () => {
  it('answers 202 as soon as the primary holds the write, replica or not', async () => {
    const body = enrollEvent('noack_stopped');
    const res = await withReplicaStopped(() => unacked.post(body));
    expect(res.status).toBe(202);
  });
});

describe('configuration', () => {
  const env = { NODE_ENV: 'test', LOG_LEVEL: 'silent' };
  const keyOf = (e: Record<string, string>) => {
    try {
      loadConfig({ ...env, ...e });
    } catch (err) {
      return err instanceof ConfigError ? err.message : String(err);
    }
    return 'accepted';
  };

  it('reads sentinels, the master name and the ack', () => {
    const c = loadConfig({
      ...env,
      REDIS_SENTINELS: '10.0.0.5:26380, sentinel-b, [::1]:26381',
      REDIS_SENTINEL_MASTER: 'cs',
      REDIS_SENTINEL_PASSWORD: 'pw',
      REDIS_MIN_REPLICAS_ACK: '1',
    });
    expect(c.redis.sentinel).toEqual({
      nodes: [
        { host: '10.0.0.5', port: 26380 },
        { host: 'sentinel-b', port: 26379 },
        { host: '::1', port: 26381 },
      ],
      master: 'cs',
      password: 'pw',
    });
    expect(c.redis.ack).toEqual({ replicas: 1, timeoutMs: 1000 });
    expect(loadConfig(env).redis).toMatchObject({ sentinel: undefined, ack: { replicas: 0, timeoutMs: 1000 } });
  });

  it('stops start-up naming the key of a bad value', () => {
    expect(keyOf({ REDIS_SENTINELS: 'a:b' })).toMatch(/^config REDIS_SENTINELS: expected host:port/);
    expect(keyOf({ REDIS_SENTINELS: 'a:70000' })).toMatch(/^config REDIS_SENTINELS: /);
    expect(
      keyOf({ REDIS_SENTINELS: 'a:1', REDIS_URL: 'redis://x:1', REDIS_CLUSTER: 'true', QUEUE_PREFIX: '{cs}' }),
    ).toMatch(/^config REDIS_SENTINELS: cannot be combined with REDIS_CLUSTER/);
    expect(keyOf({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_MASTER: 'my master' })).toMatch(
      /^config REDIS_SENTINEL_MASTER: /,
    );
    expect(keyOf({ REDIS_MIN_REPLICAS_ACK: '1' })).toMatch(
      /^config REDIS_MIN_REPLICAS_ACK: needs a Redis with replicas/,
    );
    expect(
      keyOf({ REDIS_MIN_REPLICAS_ACK: '1', REDIS_URL: 'redis://x:1', REDIS_CLUSTER: 'true', QUEUE_PREFIX: '{cs}' }),
    ).toMatch(/^config REDIS_MIN_REPLICAS_ACK: is not supported with REDIS_CLUSTER/);
    expect(keyOf({ REDIS_MIN_REPLICAS_ACK: '-1', REDIS_URL: 'redis://x:1' })).toMatch(
      /^config REDIS_MIN_REPLICAS_ACK: /,
    );
    expect(keyOf({ REDIS_REPLICA_ACK_TIMEOUT_MS: '0' })).toMatch(
      /^config REDIS_REPLICA_ACK_TIMEOUT_MS: must be at least 1/,
    );
    expect(keyOf({ REDIS_REPLICA_ACK_TIMEOUT_MS: '5000' })).toMatch(
      /^config REDIS_REPLICA_ACK_TIMEOUT_MS: must be at most 4000/,
    );
    expect(keyOf({ REDIS_SENTINELS: 'a:1', REDIS_MIN_REPLICAS_ACK: '2' })).toBe('accepted');
  });
});
