import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log.ts';
import { QUEUES } from '../src/queues/names.ts';
import { openQueues } from '../src/queues/registry.ts';
import { Quarantine } from '../src/quarantine/store.ts';
import { formatJourney } from '../src/trace/format.ts';
import { dayOf, DayIndex, shortEmailHash } from '../src/trace/day-index.ts';
import { resolvePiiHasher } from '../src/privacy/pii-hash.ts';
import { TraceSearch } from '../src/trace/search.ts';
import { Tracer } from '../src/trace/tracer.ts';
import { runCli } from './support/cli.ts';
import { deadLetterRig } from './support/dead-letters.ts';
import { fixture } from './support/env.ts';
import { startTestService } from './support/receiver.ts';
import { adminLinks } from '../src/console-links.ts';

const EMAIL = 'student@example.com';
let t: Awaited<ReturnType<typeof startTestService>>;
let search: TraceSearch;

/** Every key and value under the test's trace keys, as one string. */
async function traceDump(): Promise<string> {
  const keys = await t.redis.keys(`${t.config.redis.prefix}:cs:trace*`);
  const parts = [...keys];
  for (const key of keys) {
    const type = await t.redis.type(key);
    if (type === 'hash') parts.push(JSON.stringify(await t.redis.hgetall(key)));
    if (type === 'zset') parts.push(JSON.stringify(await t.redis.zrange(key, 0, '-1')));
    if (type === 'string') parts.push((await t.redis.get(key)) ?? '');
  }
  return parts.join('\n');
}

// A service (and queue prefix) per test: each sets up the events it looks at, so tests pass alone and in any order.
beforeEach(async () => {
  t = await startTestService({ JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '10' });
  search = new TraceSearch({
    redis: t.redis,
    config: t.config,
    queues: openQueues(t.redis, t.config),
    quarantine: new Quarantine(t.redis, t.config.redis.prefix, 100),
    links: adminLinks,
  });
});
afterEach(async () => t.stop());

/** Delivers the seed enrollment (202 the first time, 200 duplicate after). */
const enroll = () => t.post(fixture('course.student_enroll'));

describe('the trace of an accepted event', () => {
  it('is found by enrollment id, e-mail (any case), course id and idempotency key', async () => {
    const res = await t.post(fixture('course.student_enroll'));
    expect(res.status).toBe(202);
    for (const query of ['enroll_123456', EMAIL, '  Student@Example.COM ', 'course_789012', 'enroll-enroll_123456']) {
      const [journey, ...more] = await search.find(query);
      expect(more).toEqual([]);
      expect(journey!.key).toBe('enroll-enroll_123456');
      expect(journey!.header).toMatchObject({
        eventType: 'course.student_enroll',
        enrollmentId: 'enroll_123456',
        courseId: 'course_789012',
        studentEmail: 's***@example.com',
        queues: [QUEUES.contacts, QUEUES.email],
        correlationId: res.headers.get('x-request-id'),
      });
      expect(Date.parse(journey!.header!.receivedAt)).toBeGreaterThan(Date.now() - 60_000);
    }
  });

  it('says where each job is now, with its bull-board page', async () => {
    await enroll();
    const [journey] = await search.find('enroll_123456');
    expect(journey!.now).toEqual([
      { queue: QUEUES.contacts, state: 'waiting', url: '/admin/queues/queue/crm-contacts/enroll-enroll_123456' },
      { queue: QUEUES.email, state: 'waiting', url: '/admin/queues/queue/email-welcome/enroll-enroll_123456' },
    ]);
  });

  it('records a redelivery answered 200 duplicate as a step', async () => {
    await enroll();
    const again = await t.post(fixture('course.student_enroll'));
    expect(again.status).toBe(200);
    const [journey] = await search.find('enroll_123456');
    expect(journey!.steps).toEqual([
      expect.objectContaining({ kind: 'duplicate', correlationId: again.headers.get('x-request-id') }),
    ]);
  });

  it('finds course events by course id and by plan id', async () => {
    const res = await t.post(fixture('course.created'));
    expect(res.status).toBe(202);
    for (const query of ['550e8400-e29b-41d4-a716-446655440000', 'plan_456']) {
      const journeys = await search.find(query);
      expect(journeys.map((j) => j.key)).toEqual([res.json.key]);
      expect(journeys[0]!.header).toMatchObject({ planIds: ['plan_123', 'plan_456'], queues: [QUEUES.products] });
    }
  });

  it('finds a signed but schema-invalid delivery in quarantine by the ids it names', async () => {
    const event = fixture('course.student_enroll');
    event.data.id = 'enroll_broken';
    event.data.user.email = 'broken@example.com';
    event.data.created_at = 'yesterday';
    const res = await t.post(event);
    expect(res.status).toBe(422);
    for (const query of ['enroll_broken', 'broken@example.com']) {
      const [journey, ...more] = await search.find(query);
      expect(more).toEqual([]);
      expect(journey!.header).toMatchObject({
        eventType: 'course.student_enroll',
        enrollmentId: 'enroll_broken',
        queues: [],
        studentEmail: 'b***@example.com',
      });
      expect(journey!.steps).toEqual([
        expect.objectContaining({ kind: 'quarantined', error: expect.stringMatching(/^422: .*created_at/) }),
      ]);
      const id = journey!.header!.quarantineId!;
      expect(journey!.now).toEqual([
        {
          queue: 'quarantine',
          state: 'quarantine',
          detail: expect.stringMatching(/created_at/),
          url: `/admin/api/quarantine/${id}`,
        },
      ]);
    }
    // An unsigned body is kept in quarantine too, but never indexed: anyone could have sent it.
    const forged = fixture('course.student_enroll');
    forged.data.id = 'enroll_forged';
    expect((await t.post(forged, { secret: false })).status).toBe(401);
    expect(await search.find('enroll_forged')).toEqual([]);
  });

  it('finds nothing for an unknown id or address', async () => {
    expect(await search.find('enroll_nobody')).toEqual([]);
    expect(await search.find('nobody@example.com')).toEqual([]);
    expect(await search.find('   ')).toEqual([]);
  });

  it('keeps no e-mail in clear: the index holds a keyed hash, every trace key expires', async () => {
    await enroll();
    const dump = await traceDump();
    expect(dump).not.toMatch(/student@example\.com/i);
    // While the jobs wait, the header is read from the enrollment's pending record: shown masked.
    const [journey] = await search.find(EMAIL);
    expect(journey!.header!.studentEmail).toBe('s***@example.com');
    const hasher = await resolvePiiHasher(t.redis, t.config.redis.prefix);
    expect(hasher.hash(EMAIL)).toMatch(/^[0-9a-f]{64}$/);
    const day = new DayIndex(t.config.redis.prefix, t.config.trace.retentionDays);
    expect(await t.redis.hgetall(day.emailKey(dayOf(Date.now())))).toEqual({
      [shortEmailHash(hasher.hash(EMAIL))]: 'enroll-enroll_123456',
    });
    for (const key of await t.redis.keys(`${t.config.redis.prefix}:cs:trace*`)) {
      const ttl = await t.redis.ttl(key);
      expect(ttl).toBeGreaterThan(29 * 86_400);
      // A day's index expires whole once its last entry is 30 days old.
      expect(ttl).toBeLessThanOrEqual(
        key.includes(':cs:trace-idx:') ? day.expireAt(Date.now()) - Math.floor(Date.now() / 1000) : 30 * 86_400,
      );
    }
  });

  it('uses PII_HASH_KEY when set, so the same address hashes differently per key', async () => {
    const generated = await resolvePiiHasher(t.redis, t.config.redis.prefix);
    const again = await resolvePiiHasher(t.redis, t.config.redis.prefix);
    const configured = await resolvePiiHasher(t.redis, t.config.redis.prefix, 'configured-key');
    expect(again.hash(EMAIL)).toBe(generated.hash(EMAIL));
    expect(configured.hash(EMAIL)).not.toBe(generated.hash(EMAIL));
  });
});

describe('course-sync trace', () => {
  const env = () => ({ REDIS_URL: t.service.redisUrl, QUEUE_PREFIX: t.config.redis.prefix });

  it('prints the journey one line per step and exits 0', async () => {
    await enroll();
    await enroll();
    const res = await runCli(['trace', 'enroll_123456'], env());
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'enroll-enroll_123456  course.student_enroll  enrollment enroll_123456 · course course_789012 · s***@example.com',
    );
    expect(lines[1]).toMatch(/^ {2}\S+Z {2}receiver {7}received → crm-contacts, email-welcome {2}\(request [\w-]+\)$/);
    expect(lines[2]).toMatch(/receiver\s+duplicate delivery answered 200 duplicate/);
    expect(lines.at(-1)).toBe('  now: crm-contacts waiting · email-welcome waiting');
    expect(res.stdout + res.stderr).not.toContain(EMAIL);
  });

  it('finds by e-mail and prints JSON with --json', async () => {
    await enroll();
    const res = await runCli(['trace', EMAIL, '--json'], env());
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).map((j: { key: string }) => j.key)).toEqual(['enroll-enroll_123456']);
    expect(res.stdout).not.toContain(EMAIL);
  });

  it('exits 1 when nothing matches, without echoing an e-mail', async () => {
    const res = await runCli(['trace', 'someone.else@example.com'], env());
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/no event matches "s\*\*\*@example.com"/);
  });

  it('exits 3 without REDIS_URL and no running service, and when Redis does not answer', async () => {
    expect((await runCli(['trace', 'enroll_123456'])).code).toBe(3);
    expect((await runCli(['trace', 'enroll_123456'], { REDIS_URL: 'redis://127.0.0.1:1' })).code).toBe(3);
  });
});

describe('the tracer', () => {
  // Its own service and prefix: the failing worker below takes every crm-contacts job it finds.
  let t: Awaited<ReturnType<typeof startTestService>>;
  let search: TraceSearch;
  beforeAll(async () => {
    t = await startTestService({ JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '10' });
    search = new TraceSearch({
      redis: t.redis,
      config: t.config,
      queues: openQueues(t.redis, t.config),
      links: adminLinks,
    });
  });
  afterAll(async () => t.stop());

  it('records each failed attempt with its error and the dead letter with every error', async () => {
    const rig = deadLetterRig(t.config, t.service.redisUrl);
    const tracer = new Tracer({
      config: t.config,
      log: createLogger('silent'),
      connect: () => new Redis(t.service.redisUrl, { maxRetriesPerRequest: null }),
      redis: rig.redis,
      queues: rig.queues,
    });
    await tracer.start();
    try {
      const event = fixture('course.student_enroll');
      event.data.id = 'enroll_doomed';
      expect((await t.post(event)).status).toBe(202);
      const worker = rig.work(QUEUES.contacts, async (job) => {
        throw new Error(`HubSpot answered 503 #${job.attemptsMade + 1}`);
      });
      await vi.waitFor(
        async () => expect(await rig.deadLetters.get(QUEUES.contacts, 'enroll-enroll_doomed')).toBeTruthy(),
        { timeout: 15_000 },
      );
      await worker.close();
      await vi.waitFor(
        async () =>
          expect((await search.find('enroll_doomed'))[0]!.steps.map((s) => s.kind)).toContain('dead-lettered'),
        { timeout: 15_000 },
      );
      await tracer.settled();

      const [journey] = await search.find('enroll_doomed');
      const steps = journey!.steps.filter((s) => s.queue === QUEUES.contacts);
      expect(steps.map((s) => [s.kind, s.attempt, s.error])).toEqual([
        ['retrying', 1, 'HubSpot answered 503 #1'],
        ['retrying', 2, 'HubSpot answered 503 #2'],
        ['failed', 3, 'HubSpot answered 503 #3'],
        ['dead-lettered', 3, undefined],
      ]);
      expect(steps[3]!.errors!.map((e) => e.message)).toEqual([
        'HubSpot answered 503 #1',
        'HubSpot answered 503 #2',
        'HubSpot answered 503 #3',
      ]);
      expect(steps.slice(0, 3).every((s) => typeof s.durationMs === 'number')).toBe(true);
      expect(journey!.now[0]).toMatchObject({
        queue: QUEUES.contacts,
        state: 'dead letter',
        url: '/admin/queues/queue/crm-contacts-dlq/enroll-enroll_doomed',
      });
      expect(journey!.now[1]).toMatchObject({ queue: QUEUES.email, state: 'waiting' });
      const text = formatJourney(journey!).join('\n');
      expect(text).toContain(
        'dead-lettered (attempt 3) after 3 error(s) [1] HubSpot answered 503 #1 [2] HubSpot answered 503 #2 [3] HubSpot answered 503 #3',
      );

      // Counted once per attempt, in the minute it happened.
      const stats = await t.redis.keys(`${t.config.redis.prefix}:cs:stats:crm-contacts:m:*`);
      const counts = await Promise.all(stats.map((k) => t.redis.hgetall(k)));
      const sum = (f: string) => counts.reduce((n, c) => n + Number(c[f] ?? 0), 0);
      expect([sum('retried'), sum('failed')]).toEqual([2, 1]);

      // Replayed: a step, and the job is back on its queue.
      expect(await rig.deadLetters.replay(QUEUES.contacts, ['enroll-enroll_doomed'])).toEqual({
        replayed: ['enroll-enroll_doomed'],
        notReplayed: [],
      });
      await vi.waitFor(
        async () => expect((await search.find('enroll_doomed'))[0]!.steps.map((s) => s.kind)).toContain('replayed'),
        { timeout: 15_000 },
      );
      expect((await search.find('enroll_doomed'))[0]!.now[0]).toMatchObject({ state: 'waiting' });
    } finally {
      await tracer.close();
      await rig.stop();
    }
  });

  it('runs in one worker process at a time; another takes over when it stops', async () => {
    const make = () =>
      new Tracer({
        config: t.config,
        log: createLogger('silent'),
        connect: () => new Redis(t.service.redisUrl, { maxRetriesPerRequest: null }),
        redis: t.redis,
        queues: openQueues(t.redis, t.config),
      });
    const first = make();
    const second = make();
    await first.start();
    await second.start();
    try {
      expect([first.leading, second.leading]).toEqual([true, false]);
      await first.close();
      await vi.waitFor(() => expect(second.leading).toBe(true), { timeout: 15_000 });
      // The new one resumes the streams: a dead letter made now is traced.
      const rig = deadLetterRig(t.config, t.service.redisUrl);
      await rig.kill(QUEUES.email, ['enroll_takeover']);
      await rig.stop();
      await vi.waitFor(
        async () =>
          expect((await search.find('enroll-enroll_takeover'))[0]?.steps.map((s) => s.kind)).toContain('dead-lettered'),
        { timeout: 15_000 },
      );
    } finally {
      await first.close();
      await second.close();
    }
  });
});
