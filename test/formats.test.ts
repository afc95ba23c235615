import { existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { FORMATS } from '../src/formats.ts';
import { openQueues } from '../src/queues/registry.ts';
import { runCli } from './support/cli.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';
import { captureFormats, fixtureShape, formatEnv, FIXTURE_PII_HASH_KEY } from './support/formats-capture.ts';
import { legacyFixtures } from './support/formats-legacy.ts';
import { fixturePath, loadFixture, readFixtures, writeFixture, type FormatFixture } from './support/formats.ts';
import { startTestService } from './support/receiver.ts';

// Every format course-sync writes into Redis (src/formats.ts) is pinned by a fixture of its current
// version, and every version still read has one: this release must run the jobs an older one
// queued, and find by trace, export and forget the records it wrote. UPDATE_FORMAT_FIXTURES=1
// writes the current fixtures anew (after a version bump) and the rebuilt earlier ones if missing.
const UPDATE = process.env.UPDATE_FORMAT_FIXTURES === '1';
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
  if (UPDATE) for (const f of legacyFixtures()) if (!existsSync(fixturePath(f.format, f.version))) writeFixture(f);
});
afterAll(async () => {
  await hubspot?.close();
  await sendgrid?.close();
});

/**
 * What the pin compares: the shape, except the fields inside a trace's steps (`s:<order>`), which
 * differ by the kind of step and so by which steps a capture happened to catch (a SendGrid event's
 * step comes when the emulator's event arrives): the steps' field, and that each is JSON, stay pinned.
 */
function pinnedShape(shape: unknown): unknown {
  if (Array.isArray(shape)) return shape.map(pinnedShape);
  if (!shape || typeof shape !== 'object') return shape;
  return Object.fromEntries(
    Object.entries(shape).map(([k, v]) => [
      k,
      k === 's:<order>' ? 'a step (JSON; fields by its kind)' : pinnedShape(v),
    ]),
  );
}

describe('the formats this release writes', () => {
  it('match the fixture of their current version: a change without a new version fails', async () => {
    const captured = await captureFormats(hubspot, sendgrid);
    if (UPDATE) captured.forEach(writeFixture);
    const committed = readFixtures();
    for (const now of captured) {
      const pinned = committed.find((f) => f.format === now.format && f.version === now.version);
      expect(
        pinned,
        `format ${now.format} version ${now.version} has no fixture (${fixturePath(now.format, now.version)})`,
      ).toBeDefined();
      if (!isDeepStrictEqual(pinnedShape(now.shape), pinnedShape(pinned!.shape))) {
        expect
          .soft(pinnedShape(now.shape), `format ${now.format} changed: bump its version and add a fixture`)
          .toEqual(pinnedShape(pinned!.shape));
        throw new Error(
          `format ${now.format} changed: bump its version (src/formats.ts) and add a fixture (UPDATE_FORMAT_FIXTURES=1)`,
        );
      }
      // The committed fixture is what its shape says (no hand edit of one without the other).
      expect(fixtureShape(pinned!)).toEqual(pinned!.shape);
    }
  }, 90_000);

  it('has a fixture for every version still read, and no fixture of a version no longer listed', () => {
    const listed = FORMATS.flatMap((f) => f.versions.map((v) => `${f.name}/${v.version}`)).sort();
    expect(
      readFixtures()
        .map((f) => `${f.format}/${f.version}`)
        .sort(),
    ).toEqual(listed);
  });
});

/** What a fixture's expectations say, checked against the emulators and through the CLI. */
async function checkFound(fixtures: FormatFixture[], env: Record<string, string>): Promise<void> {
  for (const { query, key } of fixtures.flatMap((f) => f.expect.traces ?? [])) {
    const out = await runCli(['trace', query], env);
    expect(out.stdout, `trace ${query}`).toContain(key);
  }
  for (const id of fixtures.flatMap((f) => f.expect.sent ?? [])) {
    const out = await runCli(['export', id], env);
    const doc = JSON.parse(out.stdout) as { welcomeEmails: { enrollmentId: string; status?: string }[] };
    expect(
      doc.welcomeEmails.find((w) => w.enrollmentId === id),
      `export ${id}: its welcome email`,
    ).toMatchObject({ status: expect.any(String) });
  }
  // Fixtures captured together name one student: export once with everything each expects, then forget.
  const students = new Map<string, string[]>();
  for (const { email, where } of fixtures.flatMap((f) => f.expect.students ?? []))
    students.set(email, [...(students.get(email) ?? []), ...where]);
  for (const [email, where] of students) {
    const out = await runCli(['export', email], env);
    expect(out.code, `export ${email}: ${out.stderr}`).toBe(0);
    const records = (JSON.parse(out.stdout) as { records: { where: string }[] }).records.map((r) => r.where);
    for (const w of where)
      expect(
        records.some((r) => r.includes(w)),
        `export ${email} finds ${w} among ${records.join(', ')}`,
      ).toBe(true);
    const forget = await runCli(['forget', email, '--yes'], env);
    expect(forget.stdout, `forget ${email}`).toContain('checked: nothing left in Redis names the student');
    expect((await runCli(['export', email], env)).code, `export ${email} after forget`).toBe(1);
  }
}

describe('each fixture, read by this release', () => {
  const cliEnv = (prefix: string) => ({
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: prefix,
    PII_HASH_KEY: FIXTURE_PII_HASH_KEY,
  });

  it('jobs queued by every version complete: contacts written, one welcome email each, products written; then traced, exported, forgotten', async () => {
    const queued = readFixtures().filter((f) => f.jobs.length);
    expect(queued.map((f) => `${f.format}/${f.version}`)).toEqual(
      expect.arrayContaining([
        'job-enrollment/1',
        'job-enrollment/2',
        'pending/1',
        'pending/2',
        'job-course/1',
        'dead-letter/1',
      ]),
    );
    // Emulators of its own: what the capture wrote into the shared ones is not what these jobs did.
    const [hubspot, sendgrid] = await Promise.all([
      startHubSpotEmulator({ requestsPer10s: undefined }),
      startSendGridEmulator(),
    ]);
    const t = await startTestService(formatEnv(hubspot, sendgrid), 'receiver');
    const queues = openQueues(t.redis, t.config);
    let worker: Awaited<ReturnType<typeof startTestService>> | undefined;
    try {
      for (const f of queued) await loadFixture(t.redis, queues, t.config.redis.prefix, f);
      worker = await startTestService(
        { ...formatEnv(hubspot, sendgrid), QUEUE_PREFIX: t.config.redis.prefix },
        'worker',
      );
      for (const { queue, id } of queued.flatMap((f) => f.expect.replays ?? [])) {
        const replay = await runCli(['dlq', 'replay', queue, id], cliEnv(t.config.redis.prefix));
        expect(replay.stdout, `dlq replay ${queue} ${id}: ${replay.stderr}`).toContain(`replayed\t${queue}\t${id}`);
      }
      await vi.waitFor(
        async () => {
          for (const j of queued.flatMap((f) => f.jobs.filter((job) => !job.deadLetter)))
            expect(await (await queues.work[j.queue].getJob(j.id))?.getState(), `${j.queue} job ${j.id}`).toBe(
              'completed',
            );
        },
        { timeout: 45_000, interval: 100 },
      );
      // A replayed dead letter is a new job of its queue: its contact and email come when it has run.
      await vi.waitFor(
        () => {
          const contacts = [...hubspot.state.objects.contacts.values()];
          for (const { email, courses } of queued.flatMap((f) => f.expect.contacts ?? [])) {
            const contact = contacts.find((c) => c.properties.email === email);
            expect(contact, `HubSpot contact ${email}`).toBeDefined();
            for (const course of courses)
              expect(String(contact!.properties.loopwise_enrolled_courses).split(';')).toContain(course);
          }
          for (const email of new Set(queued.flatMap((f) => f.expect.welcomes ?? [])))
            expect(sendgrid.outbox.to(email), `welcome email to ${email}`).toHaveLength(1);
        },
        { timeout: 30_000, interval: 100 },
      );
      const planIds = [...hubspot.state.objects.products.values()].map((p) => p.properties.loopwise_plan_id);
      for (const plan of queued.flatMap((f) => f.expect.products ?? [])) expect(planIds).toContain(plan);
      await worker.service.stop();
      worker = undefined;
      await checkFound(queued, cliEnv(t.config.redis.prefix));
    } finally {
      await worker?.service.stop();
      await queues.close();
      await t.stop();
      await Promise.all([hubspot.close(), sendgrid.close()]);
    }
  }, 120_000);

  it('records written by every version are found by trace, export and forget', async () => {
    const stored = readFixtures().filter(
      (f) => !f.jobs.length && (f.expect.traces?.length || f.expect.students?.length || f.expect.sent?.length),
    );
    expect(stored.map((f) => `${f.format}/${f.version}`)).toEqual(
      expect.arrayContaining(['trace/1', 'trace/2', 'contact/1', 'contact/2', 'sent/1']),
    );
    const config = testConfig();
    const redis = new Redis(redisUrl());
    const queues = openQueues(redis, config);
    try {
      for (const f of stored) await loadFixture(redis, queues, config.redis.prefix, f);
      await checkFound(stored, cliEnv(config.redis.prefix));
    } finally {
      await queues.close();
      await dropPrefix(redis, config.redis.prefix);
      await redis.quit();
    }
  }, 60_000);
});
