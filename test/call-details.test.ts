import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { enrollmentKey } from '../src/events/idempotency-key.ts';
import { createLogger } from '../src/log.ts';
import { TraceCompactor } from '../src/trace/compactor.ts';
import { packFields, traceFields } from '../src/trace/packing.ts';
import { TraceReader } from '../src/trace/reader.ts';
import { runCli } from './support/cli.ts';
import { emulatorEnv } from './support/env.ts';
import { enrollEvent } from './support/faults.ts';
import { startTestService } from './support/receiver.ts';
import { packedOnly } from './support/redis-texts.ts';
import { ageKeys, DAY_MS } from './support/redis-clock.ts';

// The call details of a journey (what each record asked of HubSpot and SendGrid and was answered)
// live CALL_DETAIL_RETENTION_DAYS (7), the journey itself TRACE_RETENTION_DAYS (30): kept apart,
// each with its own TTL. Time passes by shortening the TTLs (ageKeys), never by waiting.
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;
let t: Awaited<ReturnType<typeof startTestService>>;
let reader: TraceReader;
let compactor: TraceCompactor;

const cli = (...args: string[]) => runCli(args, { REDIS_URL: t.service.redisUrl, QUEUE_PREFIX: t.config.redis.prefix });
const fieldsOf = async (key: string) => traceFields(await t.redis.hgetallBuffer(key), true);

/** Posts enrollment `id` and waits until both its jobs are traced as done, with their call details. */
async function enrollAndSettle(id: string): Promise<string> {
  expect((await t.post(enrollEvent(id))).status).toBe(202);
  await vi.waitFor(
    async () => {
      const [trace] = await reader.load([enrollmentKey(id)]);
      expect(
        trace?.steps
          .filter((s) => s.kind === 'completed')
          .map((s) => s.queue)
          .sort(),
      ).toEqual(['crm-contacts', 'email-welcome']);
      expect(trace?.calls?.map((c) => c.queue)).toEqual(['crm-contacts', 'email-welcome']);
    },
    { timeout: 25_000 },
  );
  return enrollmentKey(id);
}

/** Turns a journey into what the earlier version wrote: its calls inside the trace (`c:` fields), packed with it or not. */
async function asEarlierVersion(key: string, packed: boolean): Promise<void> {
  const calls = Object.entries(await fieldsOf(reader.keys.calls(key))).map(([name, json]): [string, string] => [
    `c:${name}`,
    json,
  ]);
  await t.redis.del(reader.keys.calls(key));
  if (!packed) return void (await t.redis.hset(reader.keys.trace(key), ...calls.flat()));
  const fields = Object.entries(traceFields(await t.redis.hgetallBuffer(reader.keys.trace(key))));
  const ttl = await t.redis.pttl(reader.keys.trace(key));
  await t.redis
    .multi()
    .del(reader.keys.trace(key))
    .hset(reader.keys.trace(key), 'z', packFields([...fields, ...calls]))
    .pexpire(reader.keys.trace(key), ttl)
    .exec();
}

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
  t = await startTestService(
    { ...emulatorEnv(hubspot, sendgrid), HUBSPOT_BATCH_WAIT_MS: '20', TRACE_COMPACT_AFTER_SECONDS: '0' },
    'all',
  );
  reader = new TraceReader(t.redis, t.config);
  compactor = new TraceCompactor(t.redis, reader.keys, 0, createLogger('silent'), { callRetentionMs: 7 * DAY_MS });
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await hubspot?.close();
  await sendgrid?.close();
});

describe('call details', () => {
  it('of a 7-day-old journey are gone while its steps remain, and trace --calls says they expired', async () => {
    const key = await enrollAndSettle('calls_week');
    expect(await t.redis.hkeys(reader.keys.trace(key))).not.toContainEqual(expect.stringMatching(/^c:/));
    const callsTtl = await t.redis.pttl(reader.keys.calls(key));
    expect(callsTtl).toBeGreaterThan(7 * DAY_MS - 60_000);
    expect(callsTtl).toBeLessThanOrEqual(7 * DAY_MS);
    expect(await t.redis.pttl(reader.keys.trace(key))).toBeGreaterThan(29 * DAY_MS);
    // Packed once finished, each on its own.
    const [before] = await reader.load([key]);
    expect(await compactor.pack(key)).toBe('packed');
    expect(await packedOnly(t.redis, reader.keys.calls(key))).toBe(true);
    expect(await reader.load([key])).toEqual([before]);

    await ageKeys(t.redis, t.config.redis.prefix, 6 * DAY_MS);
    expect((await cli('trace', 'calls_week', '--calls')).stdout).toMatch(
      /call: crm-contacts attempt 1: hubspot contacts\.upsert asked/,
    );

    await ageKeys(t.redis, t.config.redis.prefix, DAY_MS + 60_000);
    expect(await t.redis.exists(reader.keys.calls(key))).toBe(0);
    const [after] = await reader.load([key]);
    expect(after!.steps).toEqual(before!.steps);
    expect(after!.header).toEqual(before!.header);
    expect(after).toMatchObject({ calls: [], callsExpiredAfterDays: 7 });
    const shown = await cli('trace', 'calls_week', '--calls');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/email-welcome +completed/);
    expect(shown.stdout).toMatch(
      /calls: call details expired: they are kept 7 days after the calls \(CALL_DETAIL_RETENTION_DAYS\)/,
    );
    expect(shown.stdout).not.toMatch(/call: /);
  });

  it('the earlier version kept in the trace are shown while young, moved out beside it when it is packed again', async () => {
    for (const packed of [false, true]) {
      const key = await enrollAndSettle(`calls_old_${packed}`);
      const [now] = await reader.load([key]);
      await asEarlierVersion(key, packed);
      expect(await reader.load([key])).toEqual([now]);

      await t.redis.hset(
        reader.keys.trace(key),
        's:9999999999999-later',
        JSON.stringify({ at: new Date().toISOString(), kind: 'duplicate' }),
      );
      expect(await compactor.pack(key)).toBe('packed');
      expect(Object.keys(await fieldsOf(reader.keys.trace(key))).filter((f) => f.startsWith('c:'))).toEqual([]);
      expect(Object.keys(await fieldsOf(reader.keys.calls(key))).sort()).toEqual(['crm-contacts:1', 'email-welcome:1']);
      expect(await t.redis.pttl(reader.keys.calls(key))).toBeLessThanOrEqual(7 * DAY_MS);
      expect((await reader.load([key]))[0]!.calls).toEqual(now!.calls);
    }
  });

  it('the earlier version kept in an 8-day-old trace are not shown, and dropped when it is packed again', async () => {
    const key = await enrollAndSettle('calls_old_aged');
    await asEarlierVersion(key, true);
    await ageKeys(t.redis, t.config.redis.prefix, 8 * DAY_MS);
    expect((await reader.load([key]))[0]).toMatchObject({ calls: [], callsExpiredAfterDays: 7 });

    await t.redis.hset(
      reader.keys.trace(key),
      's:9999999999999-later',
      JSON.stringify({ at: new Date(Date.now() - 8 * DAY_MS).toISOString(), kind: 'duplicate' }),
    );
    expect(await compactor.pack(key)).toBe('packed');
    expect(Object.keys(await fieldsOf(reader.keys.trace(key))).filter((f) => f.startsWith('c:'))).toEqual([]);
    expect(await t.redis.exists(reader.keys.calls(key))).toBe(0);
  });

  it('are found by export and removed by forget, in the new form and the earlier one', async () => {
    for (const [id, earlier] of [
      ['calls_forget_new', false],
      ['calls_forget_old', true],
    ] as const) {
      const key = await enrollAndSettle(id);
      if (earlier) await asEarlierVersion(key, false);
      else expect(await compactor.pack(key)).toBe('packed');

      const exported = await cli('export', id);
      expect(exported.code).toBe(0);
      const records = (JSON.parse(exported.stdout) as { records: { kind: string; where: string; content: unknown }[] })
        .records;
      const where = earlier ? reader.keys.trace(key) : reader.keys.calls(key);
      const held = records.find((r) => r.where === where)!;
      expect(held.kind).toBe(earlier ? 'traces' : 'call details');
      expect(JSON.stringify(held.content)).toMatch(/contacts\.upsert.*mail\.send|mail\.send.*contacts\.upsert/);

      const forgotten = await cli('forget', id, '--yes');
      expect(forgotten.code).toBe(0);
      expect(forgotten.stdout).toMatch(/nothing left in Redis names the student/);
      expect(await t.redis.exists(reader.keys.trace(key), reader.keys.calls(key))).toBe(0);
    }
  });
});
