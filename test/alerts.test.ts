import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { evaluateConditions, redisCondition, type AlertSnapshot } from '../src/alerts/conditions.ts';
import { AlertEngine } from '../src/alerts/engine.ts';
import { MemoryAlertState } from '../src/alerts/state.ts';
import { createMetrics } from '../src/metrics.ts';
import { ApiStatsShipper } from '../src/stats/shipper.ts';
import { StatsKeys } from '../src/stats/keys.ts';
import { QUEUES } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { startLocalRedis } from '../src/redis/local-server.ts';
import { deadLetterRig } from './support/dead-letters.ts';
import { dropPrefix, redisUrl, SETTLE, testConfig } from './support/env.ts';

/** A local HTTP receiver standing in for Slack: keeps every JSON body posted to it. */
async function startReceiver() {
  const bodies: { text: string }[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      if (status === 200) bodies.push(JSON.parse(raw));
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/XXXX`,
    bodies,
    failWith: (s: number) => void (status = s),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

const snapshot = (over: Partial<AlertSnapshot> = {}): AlertSnapshot => ({
  deadLetters: [{ queue: 'crm-contacts', size: 0, baseline: 0 }],
  oldestWaiting: [{ queue: 'email-welcome', seconds: null }],
  authErrors: [{ api: 'hubspot', count: 0, windowMinutes: 10 }],
  bounces: { sent: 0, bounced: 0, dropped: 0 },
  hubspotDaily: { paused: false },
  ...over,
});
const thresholds = { oldestWaitingSeconds: 900, bounceRate: 0.05, bounceMinSends: 20 };

describe('alert conditions (pure)', () => {
  it.each([
    ['nothing wrong', snapshot(), []],
    [
      'a DLQ above its quiet size',
      snapshot({ deadLetters: [{ queue: 'crm-contacts', size: 3, baseline: 1 }] }),
      ['dlq-grew:crm-contacts'],
    ],
    ['a DLQ at its quiet size', snapshot({ deadLetters: [{ queue: 'crm-contacts', size: 4, baseline: 4 }] }), []],
    [
      'a job waiting past the threshold',
      snapshot({ oldestWaiting: [{ queue: 'email-welcome', seconds: 901 }] }),
      ['oldest-waiting:email-welcome'],
    ],
    [
      'a job waiting exactly the threshold',
      snapshot({ oldestWaiting: [{ queue: 'email-welcome', seconds: 900 }] }),
      [],
    ],
    [
      'a HubSpot 401/403',
      snapshot({ authErrors: [{ api: 'hubspot', count: 2, windowMinutes: 10 }] }),
      ['auth:hubspot'],
    ],
    [
      'bounces and drops above 5 % of 100 sends',
      snapshot({ bounces: { sent: 100, bounced: 4, dropped: 2 } }),
      ['bounce-rate'],
    ],
    ['exactly 5 % of 100 sends', snapshot({ bounces: { sent: 100, bounced: 5, dropped: 0 } }), []],
    ['a high share of too few sends', snapshot({ bounces: { sent: 19, bounced: 10, dropped: 0 } }), []],
    [
      'HubSpot work paused for the daily limit',
      snapshot({ hubspotDaily: { paused: true, until: Date.parse('2024-05-01T16:00:00Z'), timeZone: 'Asia/Taipei' } }),
      ['hubspot-daily-limit'],
    ],
    [
      'HubSpot daily usage known, not reached',
      snapshot({ hubspotDaily: { paused: false, usage: 249_999, limit: 250_000 } }),
      [],
    ],
  ] as const)('%s', (_name, s, active) => {
    const results = evaluateConditions(s, thresholds);
    expect(results.filter((r) => r.active).map((r) => r.id)).toEqual(active);
  });

  it('words messages without any payload data', () => {
    const [dlq] = evaluateConditions(
      snapshot({ deadLetters: [{ queue: 'crm-contacts', size: 3, baseline: 1 }] }),
      thresholds,
    );
    expect(dlq!.firing).toBe(
      'crm-contacts-dlq grew to 3 dead letter(s) (was 1). See why: course-sync dlq list crm-contacts',
    );
    expect(redisCondition('w1:42', false, 'connection reconnecting').firing).toBe(
      'worker w1:42 cannot reach Redis (connection reconnecting): jobs are not being processed',
    );
    const daily = evaluateConditions(
      snapshot({
        hubspotDaily: {
          paused: true,
          until: Date.parse('2024-05-01T16:00:00Z'),
          timeZone: 'Asia/Taipei',
          usage: 250_003,
          limit: 250_000,
        },
      }),
      thresholds,
    ).find((c) => c.id === 'hubspot-daily-limit')!;
    expect(daily.firing).toMatch(
      /^HubSpot daily API limit reached \(250,003 of 250,000 calls today\): all HubSpot work is paused until 2024-05-02 00:00 Asia\/Taipei \(portal time zone Asia\/Taipei\); jobs are kept/,
    );
    expect(daily.resolved).toBe('HubSpot daily API limit: HubSpot work resumed');
  });

  it('fires once, clears once, and holds a change back inside the minimum interval', async () => {
    const s = new MemoryAlertState();
    const t0 = 1_700_000_000_000;
    expect(await s.transition('x', false, '', t0, 1000)).toBe('none');
    expect(await s.transition('x', true, '', t0, 1000)).toBe('fire');
    expect(await s.transition('x', true, '', t0 + 10, 1000)).toBe('none');
    expect(await s.transition('x', false, '', t0 + 500, 1000)).toBe('deferred');
    expect(await s.transition('x', false, '', t0 + 1000, 1000)).toBe('resolve');
    expect(await s.transition('x', false, '', t0 + 5000, 1000)).toBe('none');
  });
});

describe('the alert engine', () => {
  // Each test its own webhook receiver, queue prefix (so its own alert state) and clock.
  let config: Config;
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  let redis: Redis;
  let queues: QueueSet;
  let now: number;
  const engine = (over: Partial<ConstructorParameters<typeof AlertEngine>[0]> = {}) =>
    new AlertEngine({
      config,
      log: createLogger('silent'),
      redis,
      queues,
      worker: 'test-worker',
      clock: () => now,
      ...over,
    });

  beforeEach(async () => {
    hook = await startReceiver();
    config = testConfig({
      ALERT_WEBHOOK_URL: hook.url,
      ALERT_MIN_INTERVAL_SECONDS: '60',
      ALERT_OLDEST_WAITING_SECONDS: '600',
      JOB_ATTEMPTS: '2',
      JOB_BACKOFF_MS: '10',
    });
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    queues = openQueues(redis, config);
    now = Date.now();
  });
  afterEach(async () => {
    await queues.close();
    await dropPrefix(redis, config.redis.prefix);
    await redis.quit();
    await hook.close();
  });

  it('posts once when a dead-letter queue grows, and once when it is back (after the rate limit)', async () => {
    const rig = deadLetterRig(config, redisUrl());
    try {
      expect(await engine().evaluate()).toEqual([]);
      await rig.kill(QUEUES.contacts, ['enroll_alert']);
      const [fired, ...rest] = await engine().evaluate();
      expect(rest).toEqual([]);
      expect(fired).toMatchObject({ id: 'dlq-grew:crm-contacts', transition: 'fire' });
      expect(hook.bodies).toEqual([
        {
          text: 'course-sync ALERT: crm-contacts-dlq grew to 1 dead letter(s) (was 0). See why: course-sync dlq list crm-contacts',
        },
      ]);
      // Still true, and a second process evaluating too: no second message.
      expect(await engine().evaluate()).toEqual([]);
      expect(await engine({ worker: 'other-worker' }).evaluate()).toEqual([]);

      expect(await rig.deadLetters.purge(QUEUES.contacts, 0)).toEqual(['enroll-enroll_alert']);
      now += 10_000; // inside ALERT_MIN_INTERVAL_SECONDS: held back
      expect(await engine().evaluate()).toEqual([]);
      now += 60_000;
      expect((await engine().evaluate()).map((m) => m.transition)).toEqual(['resolve']);
      expect(await engine().evaluate()).toEqual([]);
      expect(hook.bodies.map((b) => b.text)).toEqual([
        'course-sync ALERT: crm-contacts-dlq grew to 1 dead letter(s) (was 0). See why: course-sync dlq list crm-contacts',
        'course-sync RESOLVED: crm-contacts-dlq is back to 0 dead letter(s)',
      ]);
    } finally {
      await rig.stop();
    }
  });

  it('alerts on a job waiting too long, and retries a message the webhook refused', async () => {
    const stuck = await queues.work[QUEUES.email].add('course.student_enroll', {}, { jobId: 'stuck-1' });
    now = stuck.timestamp + 601_000;
    hook.failWith(500);
    expect(await engine().evaluate()).toEqual([]);
    hook.failWith(200);
    expect((await engine().evaluate()).map((m) => m.id)).toEqual(['oldest-waiting:email-welcome']);
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0]!.text).toMatch(
      /^course-sync ALERT: email-welcome: the oldest waiting job has waited 1\d min \(threshold 10 min\)/,
    );
    await queues.work[QUEUES.email].obliterate({ force: true });
    now += 60_000;
    expect((await engine().evaluate()).map((m) => m.transition)).toEqual(['resolve']);
  });

  it('alerts when HubSpot answers 401/403, counted by any worker process', async () => {
    const metrics = createMetrics();
    metrics.apiCalls.inc({ api: 'hubspot', operation: 'contacts.upsert', status: '200' }, 5);
    metrics.apiCalls.inc({ api: 'hubspot', operation: 'contacts.upsert', status: '401' });
    await new ApiStatsShipper(redis, new StatsKeys(config.redis.prefix), metrics.apiCalls).ship(Date.now());
    now = Date.now();
    expect((await engine().evaluate()).map((m) => m.id)).toEqual(['auth:hubspot']);
    expect(hook.bodies[0]!.text).toBe(
      'course-sync ALERT: HubSpot answered 401/403 1 time(s) in the last 10 min: check HUBSPOT_ACCESS_TOKEN (and its scopes)',
    );
    now += 11 * 60_000;
    expect((await engine().evaluate()).map((m) => `${m.transition} ${m.id}`)).toEqual(['resolve auth:hubspot']);
  });
});

describe('Redis unreachable from a worker', () => {
  it('posts once when the worker loses Redis and once when it is back', async () => {
    const hook = await startReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'course-sync-alert-redis-'));
    let own = await startLocalRedis({ dataDir: dir });
    const config = testConfig({ REDIS_URL: own.url, ALERT_WEBHOOK_URL: hook.url, ALERT_MIN_INTERVAL_SECONDS: '0' });
    const redis = new Redis(own.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    redis.on('error', () => undefined);
    const queues = openQueues(redis, config);
    const engine = new AlertEngine({ config, log: createLogger('silent'), redis, queues, worker: 'w1' });
    // The queues hear their connection's errors: nothing is printed raw to stderr while Redis is away.
    const printed = vi.spyOn(console, 'error');
    try {
      expect(await engine.evaluate()).toEqual([]);
      await own.stop();
      const down = await engine.evaluate();
      expect(down.map((m) => m.id)).toEqual(['redis-unreachable:w1']);
      expect(await engine.evaluate()).toEqual([]);
      own = await startLocalRedis({ dataDir: dir, port: own.port });
      await vi.waitFor(() => expect(redis.status).toBe('ready'), SETTLE);
      expect((await engine.evaluate()).map((m) => `${m.transition} ${m.id}`)).toEqual(['resolve redis-unreachable:w1']);
      expect(hook.bodies.map((b) => b.text.replace(/ \(.*\)/, ''))).toEqual([
        'course-sync ALERT: worker w1 cannot reach Redis: jobs are not being processed',
        'course-sync RESOLVED: worker w1 reaches Redis again',
      ]);
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
      await queues.close().catch(() => undefined);
      redis.disconnect();
      await own.stop();
      await hook.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
