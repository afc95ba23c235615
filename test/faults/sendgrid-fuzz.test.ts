import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import {
  EVENT_SIGNATURE_HEADER,
  EVENT_TIMESTAMP_HEADER,
  generateEventKeyPair,
  signEventBatch,
} from '../../src/sendgrid-signature.ts';
import { report } from '../support/faults.ts';
import { startTestService } from '../support/receiver.ts';

// POST /webhooks/sendgrid under random input: it never answers 500, and nothing that is not
// signed with the configured key is ever stored.
const keys = generateEventKeyPair();
const other = generateEventKeyPair();
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

beforeAll(async () => {
  t = await startTestService({
    SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
    HUBSPOT_ACCESS_TOKEN: 'pat-x',
    SENDGRID_API_KEY: 'SG.x',
    WEBHOOK_MAX_BODY_BYTES: '65536',
  });
  queues = openQueues(t.redis, t.config);
});
afterAll(async () => {
  await queues?.close();
  await t?.stop();
});

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
  object: fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 6 }),
})).value;

/** Something like an event: the right keys with values of any type, or missing. */
const eventish = fc.record(
  {
    event: fc.oneof(fc.constantFrom('processed', 'delivered', 'bounce', 'open', 'nope'), anyJson),
    sg_event_id: fc.oneof(fc.string(), anyJson),
    timestamp: fc.oneof(fc.integer(), anyJson),
    email: fc.oneof(fc.emailAddress(), anyJson),
    sg_message_id: anyJson,
    enrollment_id: anyJson,
  },
  { requiredKeys: [] },
);

type Case = { body: string; signWith: 'right' | 'other' | 'none' | 'garbage'; timestamp: string };

async function send({ body, signWith, timestamp }: Case): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json', [EVENT_TIMESTAMP_HEADER]: timestamp };
  if (signWith === 'right') headers[EVENT_SIGNATURE_HEADER] = signEventBatch(keys.privateKey, timestamp, body);
  if (signWith === 'other') headers[EVENT_SIGNATURE_HEADER] = signEventBatch(other.privateKey, timestamp, body);
  if (signWith === 'garbage') headers[EVENT_SIGNATURE_HEADER] = Buffer.from(body.slice(0, 40)).toString('base64');
  const res = await fetch(`${t.base}/webhooks/sendgrid`, { method: 'POST', headers, body });
  await res.arrayBuffer();
  return res.status;
}

it('never answers 500 and stores nothing unsigned, whatever the body', async () => {
  const stored = () => queues.work[QUEUES.emailEvents].count();
  const statuses = new Map<number, number>();
  let signedAndStored = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        body: fc.oneof(
          fc.string(),
          anyJson.map((v) => JSON.stringify(v) ?? 'null'),
          fc.array(eventish, { maxLength: 8 }).map((a) => JSON.stringify(a)),
        ),
        signWith: fc.constantFrom('right', 'other', 'none', 'garbage'),
        timestamp: fc.oneof(fc.constant(String(Math.floor(Date.now() / 1000))), fc.string({ maxLength: 12 })),
      }),
      async (c: Case) => {
        const before = await stored();
        const status = await send(c);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect(status).toBeLessThan(500);
        const grew = (await stored()) - before;
        if (c.signWith !== 'right') {
          expect(status).toBe(401);
          expect(grew).toBe(0);
        }
        if (grew) signedAndStored++;
      },
    ),
    { numRuns: 400 },
  );
  report('sendgrid-fuzz', { runs: 400, byStatus: Object.fromEntries(statuses), signedAndStored });
});
