import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentKey } from '../src/events/idempotency-key.ts';
import { resolvePiiHasher } from '../src/privacy/pii-hash.ts';
import { EventMatcher } from '../src/sendgrid/event-match.ts';
import type { EmailEvent } from '../src/sendgrid/events.ts';
import { SentMarkers } from '../src/sendgrid/sent-markers.ts';
import { TraceKeys } from '../src/trace/keys.ts';
import { TraceSendsByAddress } from '../src/trace/sends-by-address.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

// Matching an event that carries neither message id nor custom_args: the traces' e-mail index gives
// the student's enrollments, and the latest of their welcome emails sent before the event is the one.
const config = testConfig();
const prefix = config.redis.prefix;
let redis: Redis;
let sends: TraceSendsByAddress;
const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const event = (email: string, when: string, over: Partial<EmailEvent> = {}): EmailEvent => ({
  sgEventId: `e-${Math.random()}`,
  event: 'bounce',
  timestamp: at(when),
  email,
  ...over,
});

/** Indexes a trace under an address, as the intake does for an accepted enrollment. */
async function indexed(email: string, traceKey: string, receivedAt: string): Promise<void> {
  const hasher = await resolvePiiHasher(redis, prefix, config.trace.piiHashKey);
  await redis.zadd(new TraceKeys(prefix).index('email', hasher.hash(email)), Date.parse(receivedAt), traceKey);
}
async function sent(enrollmentId: string, sentAt: string): Promise<void> {
  const markers = new SentMarkers(redis, prefix, 10_000);
  await markers.claim(enrollmentId, 'job');
  await markers.record(enrollmentId, { messageId: `M-${enrollmentId}`, sentAt, jobId: 'job' });
}

beforeAll(async () => {
  redis = new Redis(redisUrl());
  sends = new TraceSendsByAddress(redis, config);
  await indexed('ann@example.com', enrollmentKey('ann:1%'), '2024-01-01T10:00:00Z');
  await indexed('ann@example.com', enrollmentKey('ann-2'), '2024-01-03T10:00:00Z');
  await indexed('ann@example.com', enrollmentKey('ann-unsent'), '2024-01-04T10:00:00Z');
  await indexed('ann@example.com', 'quarantine-1700000000000-0', '2024-01-05T10:00:00Z');
  await sent('ann:1%', '2024-01-01T10:00:05Z');
  await sent('ann-2', '2024-01-03T10:00:05Z');
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe("the enrollments of an address, from the traces' e-mail index", () => {
  it('are the enrollment traces under its keyed hash, newest first, ids unescaped; other traces and addresses left out', async () => {
    expect(await sends.enrollmentsOf(['ANN@example.com ', 'nobody@example.com'])).toEqual([
      ['ann-unsent', 'ann-2', 'ann:1%'],
      [],
    ]);
  });
});

describe('an event without message id nor custom_args', () => {
  const matcher = () => new EventMatcher(redis, prefix, sends, 7 * 86_400);

  it.each([
    ['after both sends: the latest one', '2024-01-05T00:00:00Z', { enrollmentId: 'ann-2', by: 'address' }],
    ['between them: the first', '2024-01-02T00:00:00Z', { enrollmentId: 'ann:1%', by: 'address' }],
    [
      'a few seconds before a send is recorded (whole-second timestamps): that send',
      '2024-01-03T10:00:02Z',
      { enrollmentId: 'ann-2', by: 'address' },
    ],
    ['before any send: none', '2023-12-31T00:00:00Z', {}],
    ['past the window after the last send: none', '2024-01-11T00:00:00Z', {}],
  ])('%s', async (_name, when, expected) => {
    expect(await matcher().match([event('ann@example.com', when)])).toEqual([expected]);
  });

  it("is matched only by address when it has neither id; an unknown message id stays another app's mail", async () => {
    const [byArgs, byUnknownId, byAddress] = await matcher().match([
      event('ann@example.com', '2024-01-05T00:00:00Z', { enrollmentId: 'someone' }),
      event('ann@example.com', '2024-01-05T00:00:00Z', { sgMessageId: 'UNKNOWN.filter' }),
      event('ann@example.com', '2024-01-05T00:00:00Z'),
    ]);
    expect([byArgs, byUnknownId, byAddress]).toEqual([
      { enrollmentId: 'someone', by: 'custom_args' },
      {},
      { enrollmentId: 'ann-2', by: 'address' },
    ]);
  });

  it('is not matched by address when nothing can look addresses up', async () => {
    expect(await new EventMatcher(redis, prefix).match([event('ann@example.com', '2024-01-05T00:00:00Z')])).toEqual([
      {},
    ]);
  });
});
