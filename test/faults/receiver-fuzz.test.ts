import fc from 'fast-check';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WORK_QUEUES } from '../../src/queues/names.ts';
import { WebhookSignature } from '../../src/receiver/signature.ts';
import { fixture, SECRET } from '../support/env.ts';
import { startTestService } from '../support/receiver.ts';

let t: Awaited<ReturnType<typeof startTestService>>;
beforeAll(async () => {
  t = await startTestService({ WEBHOOK_MAX_BODY_BYTES: '65536' });
});
afterAll(async () => t.stop());

const sign = (raw: string) => new WebhookSignature([SECRET]).sign(raw);

async function send(raw: string, headers: Record<string, string>) {
  const res = await fetch(`${t.base}/webhooks/loopwise`, { method: 'POST', headers, body: raw });
  const text = await res.text();
  return { status: res.status, text };
}

async function workJobs(): Promise<number> {
  let n = 0;
  for (const name of WORK_QUEUES) {
    const q = new Queue(name, { connection: t.redis, prefix: t.config.redis.prefix });
    n += await q.count();
    await q.close();
  }
  return n;
}

/** A value of any JSON shape, deeply nested at times. */
const anyJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 5 }),
})).value;

/** A known event whose data is broken in one of many ways. */
const brokenKnownEvent = fc
  .record({
    type: fc.constantFrom('course.created', 'course.updated', 'course.student_enroll'),
    path: fc.constantFrom(
      'id',
      'user',
      'user.email',
      'course',
      'course.id',
      'created_at',
      'updated_at',
      'plans',
      'plans.0.amount',
      'plans.0.currency',
      'name',
    ),
    value: fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.integer(),
      fc.double({ noInteger: true }),
      fc.string({ maxLength: 3 }),
      fc.array(fc.integer(), { maxLength: 2 }),
      fc.constant({}),
    ),
  })
  .map(({ type, path, value }) => {
    const body = fixture(type);
    const parts = path.split('.');
    let target: any = body.data;
    for (const p of parts.slice(0, -1)) target = target?.[p];
    if (target && typeof target === 'object') target[parts.at(-1)!] = value;
    return body;
  });

it('never crashes and never enqueues on malformed, truncated, mis-signed or wrongly typed input', async () => {
  const seed = JSON.stringify(fixture('course.student_enroll'));
  const before = await workJobs();
  const cases = fc.oneof(
    // random JSON, correctly signed: 202 ignored or 4xx; never a work job unless it is a valid event
    anyJson.map((v) => ({ raw: JSON.stringify(v) ?? 'null', signed: true, ct: 'application/json' })),
    // the seed truncated at a random point, signed
    fc.nat({ max: seed.length - 1 }).map((n) => ({ raw: seed.slice(0, n), signed: true, ct: 'application/json' })),
    // random bytes
    fc
      .uint8Array({ maxLength: 300 })
      .map((b) => ({ raw: Buffer.from(b).toString('latin1'), signed: true, ct: 'application/json' })),
    // a valid event, mis-signed
    fc
      .string({ minLength: 1, maxLength: 70 })
      .map((sig) => ({ raw: seed, signed: false, ct: 'application/json', sig })),
    // a valid event, wrong content type
    fc
      .constantFrom('text/plain', 'application/x-www-form-urlencoded', '', 'application/jsonp')
      .map((ct) => ({ raw: seed, signed: true, ct })),
    // deeply nested
    fc
      .integer({ min: 100, max: 5000 })
      .map((d) => ({ raw: '['.repeat(d) + ']'.repeat(d), signed: true, ct: 'application/json' })),
    // oversized
    fc.integer({ min: 65537, max: 200_000 }).map((n) => ({
      raw: JSON.stringify({ type: 'course.created', data: { pad: 'x'.repeat(n) } }),
      signed: true,
      ct: 'application/json',
    })),
    // a known type whose data (or one of its parts) is deeply nested
    fc
      .tuple(
        fc.constantFrom('course.created', 'course.student_enroll'),
        fc.integer({ min: 50, max: 3000 }),
        fc.constantFrom('data', 'user', 'plans'),
      )
      .map(([type, d, where]) => {
        const nested = '{"a":'.repeat(d) + '1' + '}'.repeat(d);
        const raw =
          where === 'data'
            ? `{"type":"${type}","data":${nested}}`
            : seed.replace(where === 'user' ? /"user":\{[^}]*\}/ : /"course":\{[^}]*\}/, `"${where}":${nested}`);
        return { raw, signed: true, ct: 'application/json' };
      }),
    // prototype-pollution keys in the envelope and the data
    fc.constantFrom('__proto__', 'constructor', 'prototype').map((k) => ({
      raw: `{"type":"course.student_enroll","${k}":{"polluted":1},"data":{"${k}":{"polluted":1},"id":"x"}}`,
      signed: true,
      ct: 'application/json',
    })),
  );
  await fc.assert(
    fc.asyncProperty(cases, async (c: any) => {
      const headers: Record<string, string> = {};
      if (c.ct) headers['content-type'] = c.ct;
      headers['loopwise-webhook-signature'] = c.signed ? sign(c.raw) : c.sig;
      const res = await send(c.raw, headers);
      const ignored = res.status === 202 && JSON.parse(res.text).ignored === true;
      expect(ignored || (res.status >= 400 && res.status < 500), `status ${res.status} for ${c.raw.slice(0, 80)}`).toBe(
        true,
      );
      if (res.status >= 400) expect(JSON.parse(res.text).error).toEqual(expect.any(String));
    }),
    { numRuns: 300 },
  );
  // Nothing of it reached a work queue, and no prototype was polluted.
  expect(await workJobs()).toBe(before);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  await fc.assert(
    fc.asyncProperty(brokenKnownEvent, async (body) => {
      const raw = JSON.stringify(body);
      const res = await send(raw, { 'content-type': 'application/json', 'loopwise-webhook-signature': sign(raw) });
      // Either the mutation left the event valid (202) or it is refused with the fields named (422).
      if (res.status === 422) expect(JSON.parse(res.text).errors.length).toBeGreaterThan(0);
      else expect([202, 200]).toContain(res.status);
    }),
    { numRuns: 200 },
  );
  // The process is alive and healthy.
  expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
});

it('puts nothing on a work queue from unsigned or mis-signed input', async () => {
  const before = await workJobs();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('course.created', 'course.updated', 'course.student_enroll'),
      fc.stringMatching(/^[0-9a-f]{64}$/),
      async (type, sig) => {
        const body = fixture(type);
        body.data.id = `fuzz-${sig.slice(0, 12)}`;
        const res = await send(JSON.stringify(body), {
          'content-type': 'application/json',
          'loopwise-webhook-signature': sig,
        });
        expect(res.status).toBe(401);
      },
    ),
    { numRuns: 100 },
  );
  expect(await workJobs()).toBe(before);
});

it.each(Object.getOwnPropertyNames(Object.prototype))(
  'refuses a payload with an own "%s" key with 422 naming it (not a 500)',
  async (key) => {
    for (const where of ['data', 'user', 'course']) {
      const body = fixture('course.student_enroll');
      const target = where === 'data' ? body.data : body.data[where];
      const raw = JSON.stringify(body).replace(
        JSON.stringify(target),
        JSON.stringify(target).replace(/^\{/, `{"${key}":{"polluted":1},`),
      );
      const res = await send(raw, { 'content-type': 'application/json', 'loopwise-webhook-signature': sign(raw) });
      expect(res.status, `${where}.${key}`).toBe(422);
      expect(JSON.parse(res.text).errors).toEqual([
        expect.objectContaining({ field: where === 'data' ? `data.${key}` : `data.${where}.${key}` }),
      ]);
    }
  },
);
