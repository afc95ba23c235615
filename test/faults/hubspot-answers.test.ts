import { Client } from '@hubspot/api-client';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { idempotencyKey } from '../../src/events/idempotency-key.ts';
import { createHubSpotCall } from '../../src/hubspot/call.ts';
import { setupOnce } from '../../src/hubspot/setup.ts';
import { createLogger } from '../../src/log.ts';
import { EventIntake } from '../../src/queues/intake.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues } from '../../src/queues/registry.ts';
import { startService } from '../../src/service.ts';
import { TraceWriter } from '../../src/trace/writer.ts';
import { dropPrefix, redisUrl, testConfig } from '../support/env.ts';
import { courseEvent, deadLetterCount, emailTally, enrollEvent, report, unfinished } from '../support/faults.ts';

// A few thousand enrollments while HubSpot answers every way it documents, at random: 423 and 477
// with Retry-After, 502/503/504, connections reset, its burst limit (429), its daily limit (429
// DAILY, running out half-way with the reset a few seconds off), students it already
// holds with earlier courses (history reads), addresses it holds as another contact's secondary
// one (409) and addresses it refuses (207). Every contact must end with every course it enrolled
// in, once, nothing be lost, and only the refused addresses be dead letters.

const STUDENTS = 600;
const COURSES = 10;
const EXISTING = 150;
const SECONDARY = 20;
/** Students whose address HubSpot refuses (a digit in the top-level domain): answered per record in a 207. */
const REFUSED = new Set([200, 300, 400, 500, 599]);

/** A small seeded generator (mulberry32), so a failing run can be repeated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const email = (i: number) => (REFUSED.has(i) ? `mix${i}@example.c0m` : `mix${i}@example.com`);
const course = (c: number) => `mixcourse${c}`;

let hubspot: HubSpotEmulator | undefined;
let sendgrid: SendGridEmulator | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await hubspot?.close();
  await sendgrid?.close();
});

/** HubSpot as marketing left it: some students already there with an earlier course, some under a work address. */
async function seedPortal(em: HubSpotEmulator): Promise<void> {
  const client = new Client({ accessToken: em.token, basePath: em.url });
  await setupOnce(client, createHubSpotCall({})).ensure();
  await client.crm.properties.coreApi.update('contacts', 'loopwise_enrolled_courses', {
    options: [{ label: 'Legacy', value: 'legacy', hidden: false, displayOrder: 0 }],
  });
  const inputs = Array.from({ length: EXISTING }, (_, i) => ({
    idProperty: 'email',
    id: i < SECONDARY ? `work${i}@work.example` : email(i),
    properties: { loopwise_enrolled_courses: 'legacy' },
  }));
  for (let i = 0; i < inputs.length; i += 100)
    await client.crm.contacts.batchApi.upsert({ inputs: inputs.slice(i, i + 100) });
  for (let i = 0; i < SECONDARY; i++) em.state.addSecondaryEmail(em.state.contact(`work${i}@work.example`)!, email(i));
}

describe('HubSpot answering every documented way at random', () => {
  it(
    'ends with every contact holding every course it enrolled in, no duplicate, nothing lost',
    { timeout: 240_000 },
    async () => {
      const rand = random(20261207);
      // The usage endpoint answers past the limit, so the pause ends at its resetsAt (a few seconds off).
      hubspot = await startHubSpotEmulator({
        requestsPer10s: 20,
        intervalMs: 1000,
        portal: { accountInfoOverDailyLimit: 'answered' },
      });
      sendgrid = await startSendGridEmulator();
      await seedPortal(hubspot);
      hubspot.state.requests.length = 0;
      const crm = (q: { path: string }) => q.path.startsWith('/crm/v3/objects/');
      const at = (p: number) => (q: { path: string }) => crm(q) && rand() < p;
      for (const [status, p, retryAfterSeconds] of [
        [423, 0.04, 1],
        [477, 0.01, 1],
        [502, 0.02],
        [503, 0.02],
        [504, 0.02],
      ] as const) {
        await hubspot.injectFaults({ status, retryAfterSeconds, count: Infinity, match: at(p) });
      }
      await hubspot.injectFaults({ reset: true, count: Infinity, match: at(0.01) });

      const config = testConfig({
        HUBSPOT_ACCESS_TOKEN: hubspot.token,
        HUBSPOT_BASE_URL: hubspot.url,
        // More than the emulator's 20 a second lets through: its burst limit answers 429 now and then.
        HUBSPOT_REQUESTS_PER_10S: '1000',
        HUBSPOT_BATCH_WAIT_MS: '100',
        SENDGRID_API_KEY: sendgrid.apiKey,
        SENDGRID_BASE_URL: sendgrid.url,
        JOB_ATTEMPTS: '25',
        JOB_BACKOFF_MS: '100',
      });
      const service = await startService(config, 'worker', createLogger('silent'));
      const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
      const queues = openQueues(redis, config);
      cleanups.push(async () => {
        await service.stop();
        await queues.close();
        await dropPrefix(redis, config.redis.prefix);
        await redis.quit();
      });
      const intake = new EventIntake(redis, config, new TraceWriter(redis, config));

      // Each student enrolls in 1–6 of the courses; one delivery in 20 comes twice.
      const expected = new Map<number, Set<string>>();
      const events: any[] = [];
      for (let i = 0; i < STUDENTS; i++) {
        const taken = new Set<string>(i < EXISTING ? ['legacy'] : []);
        const n = 1 + Math.floor(rand() * 6);
        for (let k = 0; k < n; k++) {
          const c = Math.floor(rand() * COURSES);
          if (taken.has(course(c))) continue;
          taken.add(course(c));
          const e = enrollEvent(`mix_${i}_${c}`, { id: course(c), name: `Course ${c}` });
          e.data.user.email = email(i);
          events.push(e);
          if (rand() < 0.05) events.push(structuredClone(e));
        }
        expected.set(i, taken);
      }
      for (let c = 0; c < COURSES; c++)
        events.splice(Math.floor(rand() * events.length), 0, courseEvent('course.created', course(c)));
      const enrollments = events.filter((e) => e.type === 'course.student_enroll');
      const started = Date.now();
      const outcomes = new Map<string, number>();
      let dailyAt: number | undefined;
      for (let i = 0; i < events.length; i += 50) {
        const results = await Promise.all(
          events.slice(i, i + 50).map((e) => intake.accept(e, idempotencyKey(e), `corr-${i}`)),
        );
        for (const r of results) outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
        // Half-way, the portal's daily calls run out until a reset 4 s later.
        if (dailyAt === undefined && i >= events.length / 2) {
          dailyAt = Date.now();
          hubspot.exhaustDaily(dailyAt + 4000);
        }
      }
      expect(enrollments.length).toBeGreaterThanOrEqual(1500);

      // Done when nothing is left but the refused addresses' jobs, failed for good (and dead-lettered).
      const refusedJobs = [
        ...new Set(enrollments.filter((e) => e.data.user.email.endsWith('.c0m')).map((e) => `enroll-${e.data.id}`)),
      ];
      const settled = (c: Record<string, number>) => !c.waiting && !c.active && !c.delayed && !c.prioritized;
      await vi.waitFor(
        async () => {
          const { byQueue } = await unfinished(queues);
          expect(Object.values(byQueue).every(settled) && byQueue[QUEUES.contacts]!.failed).toBe(refusedJobs.length);
        },
        { timeout: 150_000, interval: 500 },
      );
      const drainedMs = Date.now() - started;

      const state = hubspot.state;
      const wrong: string[] = [];
      for (const [i, taken] of expected) {
        if (REFUSED.has(i)) continue;
        const contact = i < SECONDARY ? state.contact(`work${i}@work.example`) : state.contact(email(i));
        const got = state.values(contact, 'loopwise_enrolled_courses').sort();
        if (JSON.stringify(got) !== JSON.stringify([...taken].sort()))
          wrong.push(`${email(i)}: ${got.join(',')} ≠ ${[...taken].sort().join(',')}`);
      }
      expect(wrong).toEqual([]);
      const addresses = [...state.objects.contacts.values()].map((c) => c.properties.email);
      expect(new Set(addresses).size).toBe(addresses.length);
      expect(state.objects.contacts.size).toBe(STUDENTS - REFUSED.size);
      for (let c = 0; c < COURSES; c++)
        expect(
          [...state.products.values()].filter((p) => p.properties.loopwise_course_id === course(c)).length,
        ).toBeGreaterThan(0);
      const dead = (await queues.deadLetter[QUEUES.contacts].getJobs(['waiting'])).map(
        (j) => (j.data as { jobId: string }).jobId,
      );
      expect(new Set(dead)).toEqual(new Set(refusedJobs));
      // SendGrid may refuse those addresses too; nothing else is a dead letter.
      const deadEmails = (await queues.deadLetter[QUEUES.email].getJobs(['waiting'])).map(
        (j) => (j.data as { jobId: string }).jobId,
      );
      expect(deadEmails.every((id) => refusedJobs.includes(id))).toBe(true);
      expect(await deadLetterCount(queues)).toBe(dead.length + deadEmails.length);
      const tally = emailTally(sendgrid);
      expect(tally.duplicates).toBe(0);
      expect(new Set(enrollments.map((e) => e.data.id)).size).toBe(tally.perEnrollment.size);

      const answered = new Map<string, number>();
      for (const q of state.requests) answered.set(String(q.status), (answered.get(String(q.status)) ?? 0) + 1);
      // The daily limit was met and waited out: at most a few calls while it lasted, work after it.
      const during = state.requests.filter((q) => q.at >= dailyAt! && q.at < dailyAt! + 4000);
      expect(during.filter((q) => q.status === 429).length).toBeGreaterThan(0);
      expect(during.filter((q) => q.path.startsWith('/crm/')).length).toBeLessThanOrEqual(20);
      expect(
        state.requests.some((q) => q.at >= dailyAt! + 4000 && q.status === 200 && q.path.startsWith('/crm/')),
      ).toBe(true);
      report('hubspot-answers-mixed', {
        enrollments: enrollments.length,
        accepted: Object.fromEntries(outcomes),
        students: STUDENTS,
        alreadyInHubSpot: EXISTING,
        secondaryAddresses: SECONDARY,
        hubspotRequests: state.requests.length,
        answers: Object.fromEntries([...answered].sort()),
        callsWhileDailyLimitLasted: during.length,
        contactsWrong: wrong.length,
        deadLetters: dead.length,
        duplicateEmails: tally.duplicates,
        drainedMs,
      });
    },
  );
});
