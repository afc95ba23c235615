import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { enrollmentKey } from '../src/events/idempotency-key.ts';
import { createLogger } from '../src/log.ts';
import { TraceCompactor } from '../src/trace/compactor.ts';
import { isPackedField, packFields, unpackFields } from '../src/trace/packing.ts';
import { TraceReader } from '../src/trace/reader.ts';
import { basic } from './support/admin.ts';
import { generateEventKeyPair } from '../src/sendgrid-signature.ts';
import { emulatorEnv, SETTLE } from './support/env.ts';
import { enrollEvent } from './support/faults.ts';
import { startTestService } from './support/receiver.ts';
import { packedOnly } from './support/redis-texts.ts';
import { postEvents, sgEvent } from './support/sendgrid-events.ts';

// A finished trace packed into one field: read back unchanged by search, export and forget, in a
// fraction of the memory; steps written later stay beside it. Real workers, client libraries and
// emulators; the packing by hand (TRACE_COMPACT_AFTER_SECONDS=0) or by the tracer on its own.
const PASSWORD = 'trace-packing-password';
const auth = { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' };
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;

type Service = Awaited<ReturnType<typeof startTestService>>;

function start(env: Record<string, string>): Promise<Service> {
  return startTestService(
    { ...emulatorEnv(hubspot, sendgrid), HUBSPOT_BATCH_WAIT_MS: '20', DASHBOARD_PASSWORD: PASSWORD, ...env },
    'all',
  );
}

/** Posts enrollment `id` and waits until both its jobs are traced as done. */
async function enrollAndSettle(t: Service, id: string): Promise<void> {
  expect((await t.post(enrollEvent(id))).status).toBe(202);
  const reader = new TraceReader(t.redis, t.config);
  await vi.waitFor(
    async () => {
      const [trace] = await reader.load([enrollmentKey(id)]);
      expect(
        trace?.steps
          .filter((s) => s.kind === 'completed')
          .map((s) => s.queue)
          .sort(),
      ).toEqual(['crm-contacts', 'email-welcome']);
      expect(trace?.calls?.length).toBe(2);
    },
    { timeout: 25_000 },
  );
}

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
});
afterAll(async () => {
  await hubspot?.close();
  await sendgrid?.close();
});

describe('the packed form', () => {
  it('gives back every field as it was written, whatever it holds', () => {
    const fields: [string, string][] = [
      [
        'h',
        JSON.stringify({
          eventType: 'course.student_enroll',
          queues: ['crm-contacts'],
          studentEmail: 'z***@example.com',
        }),
      ],
      [
        's:1796150499537-crm-contacts-1-0',
        JSON.stringify({
          at: '2026-12-01T18:41:39.537Z',
          kind: 'failed',
          error: 'Zoë’s “name” 名前 \u0000 \\ "q"',
          attempt: 1,
        }),
      ],
      [
        'c:crm-contacts:1',
        JSON.stringify([
          { api: 'hubspot', request: { firstname: 'Zoë' }, response: { status: 207, error: 'INVALID_EMAIL' } },
        ]),
      ],
    ];
    expect(unpackFields(packFields(fields))).toEqual(fields);
  });

  it('refuses, by name, a format it does not know', () => {
    const packed = packFields([['h', '{}']]);
    packed[0] = 9;
    expect(() => unpackFields(packed)).toThrow(/packed with format 9/);
  });
});

describe('packing a finished trace by hand', () => {
  let t: Service;
  let reader: TraceReader;
  let compactor: TraceCompactor;
  beforeAll(async () => {
    t = await start({ TRACE_COMPACT_AFTER_SECONDS: '0' });
    reader = new TraceReader(t.redis, t.config);
    compactor = new TraceCompactor(t.redis, reader.keys, 0, createLogger('silent'));
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('keeps the journey as search reads it, by id and by e-mail, in under half the memory and the same lifetime', async () => {
    const id = 'pack_same';
    const key = reader.keys.trace(enrollmentKey(id));
    await enrollAndSettle(t, id);
    const before = await reader.search(id);
    const [memory, ttl] = [(await t.redis.memory('USAGE', key))!, await t.redis.pttl(key)];
    expect(before).toHaveLength(1);

    expect(await compactor.pack(enrollmentKey(id))).toBe('packed');

    expect(await packedOnly(t.redis, key)).toBe(true);
    expect(await reader.search(id)).toEqual(before);
    expect(await reader.search(`${id}@example.com`)).toEqual(before);
    expect((await t.redis.memory('USAGE', key))!).toBeLessThan(memory / 2);
    // In pieces of at most 64 bytes, the hash keeps Redis' compact encoding.
    expect(await t.redis.object('ENCODING', key)).toBe('listpack');
    const left = await t.redis.pttl(key);
    expect(left).toBeGreaterThan(ttl - 60_000);
    expect(left).toBeLessThanOrEqual(ttl);
    // Nothing new since: nothing to pack.
    expect(await compactor.pack(enrollmentKey(id))).toBe('unchanged');
  });

  it('keeps a step written after packing beside the packed field, and packs it in next time', async () => {
    const id = 'pack_later';
    const key = reader.keys.trace(enrollmentKey(id));
    await enrollAndSettle(t, id);
    expect(await compactor.pack(enrollmentKey(id))).toBe('packed');

    expect((await t.post(enrollEvent(id))).status).toBe(200);
    await vi.waitFor(
      async () => expect((await t.redis.hkeys(key)).filter((f) => !isPackedField(f))).toHaveLength(1),
      SETTLE,
    );
    const [withDuplicate] = await reader.load([enrollmentKey(id)]);
    expect(withDuplicate!.steps.map((s) => s.kind)).toContain('duplicate');
    expect(withDuplicate!.steps.filter((s) => s.kind === 'completed')).toHaveLength(2);

    expect(await compactor.pack(enrollmentKey(id))).toBe('packed');
    expect(await packedOnly(t.redis, key)).toBe(true);
    expect(await reader.load([enrollmentKey(id)])).toEqual([withDuplicate]);
  });

  it('leaves a trace alone while one of its jobs is not done', async () => {
    const key = reader.keys.trace('enroll-pack_waiting');
    const header = JSON.stringify({
      eventType: 'course.student_enroll',
      receivedAt: new Date().toISOString(),
      queues: ['crm-contacts', 'email-welcome'],
    });
    const done = JSON.stringify({ at: new Date().toISOString(), queue: 'crm-contacts', kind: 'completed', attempt: 1 });
    await t.redis.hset(key, 'h', header, 's:1-crm-contacts-1-0', done);
    await t.redis.expire(key, 600);

    expect(await compactor.pack('enroll-pack_waiting')).toBe('running');
    expect((await t.redis.hkeys(key)).sort()).toEqual(['h', 's:1-crm-contacts-1-0']);
  });

  it('looks again at a trace whose jobs are done before its header is written', async () => {
    const key = reader.keys.trace('enroll-pack_headless');
    const at = new Date().toISOString();
    const step = (queue: string) => JSON.stringify({ at, queue, kind: 'completed', attempt: 1 });
    await t.redis.hset(
      key,
      's:1-crm-contacts-1-0',
      step('crm-contacts'),
      's:1-email-welcome-1-0',
      step('email-welcome'),
    );
    await t.redis.expire(key, 600);
    const soon = new TraceCompactor(t.redis, reader.keys, 50, createLogger('silent'));
    const looks = vi.spyOn(soon, 'pack');
    try {
      soon.schedule('enroll-pack_headless');
      await vi.waitFor(async () => expect(await looks.mock.results[0]?.value).toBe('headless'), SETTLE);
      await t.redis.hset(
        key,
        'h',
        JSON.stringify({
          eventType: 'course.student_enroll',
          receivedAt: at,
          queues: ['crm-contacts', 'email-welcome'],
        }),
      );
      await vi.waitFor(async () => expect(await packedOnly(t.redis, key)).toBe(true), SETTLE);
    } finally {
      await soon.close();
    }
  });

  it('is read by export as text, and erased by forget', async () => {
    const id = 'pack_privacy';
    const key = reader.keys.trace(enrollmentKey(id));
    await enrollAndSettle(t, id);
    expect(await compactor.pack(enrollmentKey(id))).toBe('packed');
    const call = (path: string, body: unknown) =>
      fetch(`${t.base}/admin/api${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) }).then(
        async (r) => ({ status: r.status, json: await r.json() }),
      );

    const exported = await call('/privacy/export', { student: `${id}@example.com` });
    expect(exported.status).toBe(200);
    expect(exported.json.traces.map((tr: { key: string }) => tr.key)).toEqual([enrollmentKey(id)]);
    expect(exported.json.traces[0].steps.filter((s: { kind: string }) => s.kind === 'completed')).toHaveLength(2);
    const record = exported.json.records.find((r: { where: string }) => r.where === key);
    expect(JSON.parse(record.content.h)).toMatchObject({ enrollmentId: id });
    expect(record.content.z).toBeUndefined();

    expect((await call('/privacy/forget', { student: `${id}@example.com` })).status).toBe(200);
    expect(await t.redis.exists(key)).toBe(0);
  });
});

describe('TRACE_COMPACT_AFTER_SECONDS', () => {
  const eventKeys = generateEventKeyPair();
  let t: Service;
  beforeAll(async () => {
    t = await start({ TRACE_COMPACT_AFTER_SECONDS: '1', SENDGRID_WEBHOOK_PUBLIC_KEY: eventKeys.publicKey });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('has the tracer pack a journey once its jobs are done, still found by e-mail with its steps and calls', async () => {
    const id = 'pack_auto';
    const reader = new TraceReader(t.redis, t.config);
    await enrollAndSettle(t, id);
    await vi.waitFor(
      async () => expect(await packedOnly(t.redis, reader.keys.trace(enrollmentKey(id)))).toBe(true),
      SETTLE,
    );

    const [journey, ...more] = await reader.search(`${id}@example.com`);
    expect(more).toEqual([]);
    expect(journey!.header).toMatchObject({ enrollmentId: id, queues: ['crm-contacts', 'email-welcome'] });
    expect(
      journey!.steps
        .filter((s) => s.kind === 'completed')
        .map((s) => s.queue)
        .sort(),
    ).toEqual(['crm-contacts', 'email-welcome']);
    expect(journey!.calls?.map((c) => `${c.queue}:${c.attempt}`)).toEqual(['crm-contacts:1', 'email-welcome:1']);
  });

  it('packs a trace again with the SendGrid events that came after', async () => {
    const id = 'pack_events';
    const reader = new TraceReader(t.redis, t.config);
    const key = reader.keys.trace(enrollmentKey(id));
    await enrollAndSettle(t, id);
    await vi.waitFor(async () => expect(await packedOnly(t.redis, key)).toBe(true), SETTLE);
    const [journey] = await reader.load([enrollmentKey(id)]);
    const messageId = journey!.steps.find((s) => s.queue === 'email-welcome')!.sendgridMessageId!;

    // The status write to HubSpot that the event brings lands after the trace is packed again.
    await hubspot.injectFaults({
      delayMs: 2_500,
      match: (r) =>
        r.path.endsWith('/contacts/batch/upsert') && JSON.stringify(r.body).includes('loopwise_welcome_email_status'),
    });
    expect((await postEvents(t.base, eventKeys.privateKey, [sgEvent('delivered', id, messageId)])).status).toBe(200);
    await vi.waitFor(
      async () =>
        expect((await reader.load([enrollmentKey(id)]))[0]!.steps.map((s) => s.event).filter(Boolean)).toEqual([
          'delivered',
        ]),
      SETTLE,
    );
    await vi.waitFor(async () => expect(await packedOnly(t.redis, key)).toBe(true), SETTLE);
    const [after] = await reader.load([enrollmentKey(id)]);
    expect(after!.steps.filter((s) => s.kind === 'email')).toMatchObject([
      { event: 'delivered', emailStatus: 'delivered' },
    ]);
    expect(after!.steps.filter((s) => s.kind === 'completed')).toHaveLength(2);
    // That write is a call of its own, packed in beside the trace as well.
    await vi.waitFor(
      async () =>
        expect((await reader.load([enrollmentKey(id)]))[0]!.calls?.map((c) => `${c.queue}:${c.attempt}`)).toEqual([
          'crm-contacts:1',
          'email-status:1',
          'email-welcome:1',
        ]),
      SETTLE,
    );
    await vi.waitFor(
      async () => expect(await packedOnly(t.redis, reader.keys.calls(enrollmentKey(id)))).toBe(true),
      SETTLE,
    );
  });
});
