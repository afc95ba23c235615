import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { recordKey } from '../src/redis/keys.ts';
import { EmailEventLog } from '../src/sendgrid/email-status.ts';
import {
  EMAIL_STATUSES,
  nextStatus,
  statusOfEvent,
  type EmailEvent,
  type EmailEventType,
  type EmailStatus,
} from '../src/sendgrid/events.ts';
import { SentMarkers } from '../src/sendgrid/sent-markers.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';

const prefix = testConfig().redis.prefix;
let redis: Redis;
let seq = 0;
/** Waits until a key has expired (a claim or attempt lapsing), instead of sleeping a fixed time. */
const lapsed = (...parts: string[]) =>
  vi.waitFor(async () => expect(await redis.exists(recordKey(prefix, ...parts))).toBe(0), { interval: 5 });
const event = (enrollmentId: string, type: EmailEventType, at: number, over: Partial<EmailEvent> = {}): EmailEvent => ({
  sgEventId: `ev${++seq}`,
  event: type,
  timestamp: at,
  email: 'x@example.com',
  enrollmentId,
  ...over,
});

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.quit();
});

// [events in the order they arrive (type, second)] → the status they leave.
const cases: [string, [EmailEventType, number][], EmailStatus][] = [
  [
    'forward only',
    [
      ['processed', 1],
      ['deferred', 2],
      ['delivered', 3],
    ],
    'delivered',
  ],
  [
    'a late deferred does not move back',
    [
      ['processed', 1],
      ['delivered', 3],
      ['deferred', 2],
    ],
    'delivered',
  ],
  [
    'a late delivered never hides a bounce',
    [
      ['bounce', 5],
      ['delivered', 3],
    ],
    'bounced',
  ],
  [
    'a delivered arriving later still loses to the bounce',
    [
      ['processed', 1],
      ['bounce', 2],
      ['delivered', 9],
    ],
    'bounced',
  ],
  [
    'between two final ones, the later event',
    [
      ['delivered', 1],
      ['bounce', 2],
      ['spamreport', 3],
    ],
    'spam_report',
  ],
  [
    'an earlier final one does not replace a later one',
    [
      ['spamreport', 3],
      ['bounce', 2],
    ],
    'spam_report',
  ],
  [
    'opens and clicks are no status',
    [
      ['processed', 1],
      ['open', 2],
      ['click', 3],
    ],
    'sent',
  ],
  [
    'unsubscribe is final',
    [
      ['delivered', 1],
      ['unsubscribe', 2],
    ],
    'unsubscribed',
  ],
  [
    'dropped is final',
    [
      ['processed', 1],
      ['dropped', 2],
      ['delivered', 3],
    ],
    'dropped',
  ],
  [
    'opens and clicks never move a status back',
    [
      ['processed', 1],
      ['deferred', 2],
      ['open', 3],
      ['click', 4],
    ],
    'deferred',
  ],
  [
    'an open after a bounce leaves it bounced',
    [
      ['delivered', 1],
      ['bounce', 2],
      ['open', 3],
      ['click', 4],
    ],
    'bounced',
  ],
  [
    'a group unsubscribe is an unsubscribe',
    [
      ['delivered', 1],
      ['group_unsubscribe', 2],
    ],
    'unsubscribed',
  ],
  [
    'a group resubscribe does not undo it (statuses only move forward)',
    [
      ['delivered', 1],
      ['group_unsubscribe', 2],
      ['group_resubscribe', 3],
    ],
    'unsubscribed',
  ],
  [
    'a late bounce after delivery bounces it',
    [
      ['processed', 1],
      ['delivered', 2],
      ['bounce', 900],
    ],
    'bounced',
  ],
  [
    'a spam report after a late bounce wins when later',
    [
      ['delivered', 1],
      ['bounce', 2],
      ['spamreport', 3],
    ],
    'spam_report',
  ],
];

describe('the welcome email status rule', () => {
  it.each(cases)('%s (the pure rule)', (_name, events, expected) => {
    let current: { status: EmailStatus; at: number } | undefined;
    for (const [type, at] of events) {
      const status = statusOfEvent(type);
      const next = status && nextStatus(current, { status, at });
      if (next) current = { status: next, at };
    }
    expect(current?.status).toBe(expected);
  });

  it.each(cases)('%s (the Lua applying it in Redis)', async (name, events, expected) => {
    const log = new EmailEventLog(redis, prefix, 60);
    const id = `rule-${name.replace(/\W+/g, '-')}`;
    for (const [type, at] of events) await log.apply([event(id, type, at)]);
    const [record] = await log.read([id]);
    expect(record!.status).toBe(expected);
  });

  it('knows every status', () => {
    expect(EMAIL_STATUSES).toEqual([
      'sent',
      'deferred',
      'delivered',
      'bounced',
      'dropped',
      'spam_report',
      'unsubscribed',
    ]);
  });
});

describe('events', () => {
  it('are applied once per sg_event_id, and counted as opens and clicks', async () => {
    const log = new EmailEventLog(redis, prefix, 60);
    const open = event('counts', 'open', 10);
    const results = await log.apply([open, { ...open }, event('counts', 'click', 11), event('counts', 'open', 12)]);
    expect(results.map((r) => r.outcome)).toEqual(['applied', 'duplicate', 'applied', 'applied']);
    expect(await log.read(['counts'])).toEqual([expect.objectContaining({ opens: 2, clicks: 1 })]);
  });

  it("are matched by the send's X-Message-Id when they carry no custom_args, and left out when course-sync did not send them", async () => {
    const markers = new SentMarkers(redis, prefix, 10_000);
    await markers.claim('by-message', 'job-1');
    await markers.record('by-message', { messageId: 'MSGID123', sentAt: new Date().toISOString(), jobId: 'job-1' });
    const log = new EmailEventLog(redis, prefix, 60);
    const [ours, theirs] = await log.apply([
      event('', 'delivered', 5, { enrollmentId: undefined, sgMessageId: 'MSGID123.filter0001.0' }),
      event('', 'delivered', 5, { enrollmentId: undefined, sgMessageId: 'OTHER.x' }),
    ]);
    expect(ours).toMatchObject({ outcome: 'applied', enrollmentId: 'by-message', status: 'delivered' });
    expect(theirs!.outcome).toBe('unmatched');
  });
});

describe('a send of unknown outcome', () => {
  it("makes the next attempt wait for SendGrid's event, which settles it as sent", async () => {
    const markers = new SentMarkers(redis, prefix, 50, 60_000);
    expect(await markers.claim('crashed', 'job-a')).toEqual({ state: 'claimed' });
    // The worker dies between SendGrid's 202 and the marker: no record, no release; its claim lapses.
    await lapsed('sending', 'crashed');
    expect((await markers.claim('crashed', 'job-a')).state).toBe('unsure');
    await new EmailEventLog(redis, prefix, 60).apply([event('crashed', 'processed', 7, { sgMessageId: 'SENT1.x' })]);
    expect(await markers.claim('crashed', 'job-a')).toEqual({
      state: 'sent',
      marker: { messageId: 'SENT1', sentAt: new Date(7000).toISOString(), jobId: 'SendGrid event' },
    });
  });

  it('sends once the grace has passed without an event, and not at all when the Event Webhook is off', async () => {
    const graceful = new SentMarkers(redis, prefix, 20, 30);
    await graceful.claim('silent', 'job-b');
    await lapsed('send-attempt', 'silent');
    expect((await graceful.claim('silent', 'job-b')).state).toBe('claimed');
    const off = new SentMarkers(redis, prefix, 20, 0);
    await off.claim('no-webhook', 'job-c');
    await lapsed('sending', 'no-webhook');
    expect((await off.claim('no-webhook', 'job-c')).state).toBe('claimed');
  });
});

describe('the welcome email record', () => {
  it('lives SENT_MARKER_TTL_DAYS from the send, and again from each event that changes it; a bounce reason keeps no address', async () => {
    const ttl = 3 * 86_400;
    const markers = new SentMarkers(redis, prefix, 10_000, 0, ttl);
    await markers.claim('lifetime', 'job-l');
    await markers.record('lifetime', { messageId: 'LIFE1', sentAt: new Date().toISOString(), jobId: 'job-l' });
    const key = recordKey(prefix, 'sent', 'lifetime');
    expect(await redis.ttl(key)).toBe(ttl);

    await redis.expire(key, 60);
    const log = new EmailEventLog(redis, prefix, 60, ttl);
    await log.apply([event('lifetime', 'bounce', 9, { reason: '550 5.1.1 <Jane.Doe@School.example>: user unknown' })]);
    expect(await redis.ttl(key)).toBe(ttl);
    expect(await redis.hget(key, 'reason')).toBe('550 5.1.1 <J***@School.example>: user unknown');
    // An event for an enrollment course-sync holds no record of leaves no record without a lifetime.
    await log.apply([event('unrecorded', 'open', 9)]);
    expect(await redis.ttl(recordKey(prefix, 'sent', 'unrecorded'))).toBe(ttl);
  });

  it("keeps only what cannot be told otherwise (no own job id, no rank, no empty reason), and reads an earlier version's on", async () => {
    const markers = new SentMarkers(redis, prefix, 10_000);
    const log = new EmailEventLog(redis, prefix, 60);
    const sentAt = new Date().toISOString();
    await markers.claim('slim', 'enroll-slim');
    await markers.record('slim', { messageId: 'SLIM1', sentAt, jobId: 'enroll-slim' });
    await log.apply([event('slim', 'delivered', 5)]);
    expect(Object.keys(await redis.hgetall(recordKey(prefix, 'sent', 'slim'))).sort()).toEqual([
      'messageId',
      'sentAt',
      'status',
      'statusAt',
    ]);
    expect(await markers.get('slim')).toEqual({ messageId: 'SLIM1', sentAt, jobId: 'enroll-slim' });
    expect(await markers.claim('slim', 'enroll-slim')).toEqual({
      state: 'sent',
      marker: { messageId: 'SLIM1', sentAt, jobId: 'enroll-slim' },
    });

    // As the earlier version wrote it: the job id, the rank, a reason.
    const old = recordKey(prefix, 'sent', 'old');
    await redis.hset(
      old,
      'messageId',
      'OLD1',
      'sentAt',
      sentAt,
      'jobId',
      'enroll-old',
      'status',
      'bounced',
      'statusRank',
      '4',
      'statusAt',
      '5000',
      'reason',
      '550 5.1.1 unknown',
    );
    await log.apply([event('old', 'delivered', 9)]);
    expect((await log.read(['old']))[0]).toMatchObject({ status: 'bounced', reason: '550 5.1.1 unknown' });
    await log.apply([event('old', 'spamreport', 10)]);
    expect((await log.read(['old']))[0]).toMatchObject({ status: 'spam_report', statusAt: 10_000, reason: undefined });
    expect(await redis.hmget(old, 'statusRank', 'reason', 'jobId')).toEqual([null, null, 'enroll-old']);
    expect(await markers.get('old')).toEqual({ messageId: 'OLD1', sentAt, jobId: 'enroll-old' });
  });
});
