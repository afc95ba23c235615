import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.ts';
import { QUEUES } from '../src/queues/names.ts';
import { pendingEvent, pendingKey } from '../src/queues/pending-events.ts';
import { startLocalRedis, type LocalRedis } from '../src/redis/local-server.ts';
import { startService, type RunningService } from '../src/service.ts';
import { SETTLE, testConfig } from './support/env.ts';
import { enrollEvent, postSigned } from './support/faults.ts';

// The intake's promises under the worst a webhook burst can bring: every delivery of an event sent
// 50 times at once, and Redis killed (SIGKILL) and started again from its AOF in the middle of the
// burst. A 2xx means both jobs of the enrollment (and its pending record) are in Redis, never one
// without the other, and no job twice; a 503 is safe to deliver again, and the redelivery ends
// with both jobs too. `appendfsync always`: what Redis acknowledged survives the kill.
const COPIES = 50;
const EVENTS = 24;
let dir: string;
let redis: LocalRedis;
let service: RunningService;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-burst-'));
  redis = await startLocalRedis({ dataDir: dir, appendfsync: 'always' });
  service = await startService(testConfig({ REDIS_URL: redis.url }), 'receiver', createLogger('silent'));
  base = `http://127.0.0.1:${service.port}`;
}, 30_000);
afterAll(async () => {
  await service?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Posts enrollment `id` COPIES times at once; the statuses (0: no answer). */
async function burst(id: string): Promise<number[]> {
  const body = enrollEvent(id);
  return (await Promise.all(Array.from({ length: COPIES }, () => postSigned(base, body, 10_000)))).map((r) => r.status);
}

/** Kills Redis (SIGKILL); resolves once its process is gone. */
async function killRedis(): Promise<void> {
  const gone = new Promise((ok) => redis.process.once('exit', ok));
  redis.process.kill('SIGKILL');
  await gone;
}

it('keeps both jobs of an enrollment together and each once, through 50 copies at a time and a Redis restart mid-burst', async () => {
  const ids = Array.from({ length: EVENTS }, (_, i) => `burst_${i}`);
  const statuses = new Map<string, number[]>();
  let killed: Promise<void> | undefined;
  for (const [i, id] of ids.entries()) {
    // Redis goes down while the copies of the ninth event are in flight, stays down for the whole
    // burst of the tenth, and comes back from its AOF on the same port after it.
    if (i === 9) await killed;
    const copies = burst(id);
    if (i === 8) killed = new Promise((ok) => setTimeout(ok, 3)).then(killRedis);
    statuses.set(id, await copies);
    if (i === 9) redis = await startLocalRedis({ dataDir: dir, port: redis.port, appendfsync: 'always' });
  }

  // Only 202 (accepted), 200 (duplicate) and 503 (not stored: send again) are answers a delivery may get.
  const all = [...statuses.values()].flat();
  expect(all.filter((s) => ![200, 202, 503].includes(s))).toEqual([]);
  expect(all.filter((s) => s === 503).length).toBeGreaterThan(0); // the outage was met
  // Dedupe: never two 202s for one event, however many copies arrived at once.
  for (const [id, s] of statuses) expect(s.filter((x) => x === 202).length, id).toBeLessThanOrEqual(1);

  const check = new Redis(redis.url);
  const prefix = service.config.redis.prefix;
  const state = async (id: string) => {
    const [contacts, email, pending] = await Promise.all([
      check.exists(`${prefix}:${QUEUES.contacts}:enroll-${id}`),
      check.exists(`${prefix}:${QUEUES.email}:enroll-${id}`),
      check.hgetall(pendingKey(prefix, `enroll-${id}`)).catch(() => ({})),
    ]);
    return { contacts, email, data: pendingEvent(`enroll-${id}`, pending)?.data as { id?: string } | undefined };
  };
  // Both or neither, for every event; both for every event answered 2xx.
  for (const id of ids) {
    const s = await state(id);
    expect([s.contacts, s.email, s.data ? 1 : 0], id).toEqual(s.contacts ? [1, 1, 1] : [0, 0, 0]);
    if (statuses.get(id)!.some((x) => x === 200 || x === 202)) expect(s.contacts, id).toBe(1);
  }

  // Every event that got no 2xx can be delivered again: it ends accepted (or a duplicate of a write that did land).
  for (const id of ids.filter((id) => !statuses.get(id)!.some((x) => x === 200 || x === 202))) {
    await vi.waitFor(
      async () => expect([200, 202], id).toContain((await postSigned(base, enrollEvent(id))).status),
      SETTLE,
    );
  }
  for (const id of ids)
    expect(await state(id), id).toEqual({ contacts: 1, email: 1, data: expect.objectContaining({ id }) });

  // No job twice: each queue lists every event once.
  for (const queue of [QUEUES.contacts, QUEUES.email]) {
    const waiting = await check.lrange(`${prefix}:${queue}:wait`, 0, -1);
    expect([...waiting].sort()).toEqual(ids.map((id) => `enroll-${id}`).sort());
  }
  await check.quit();
}, 60_000);
