import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { openQueues } from '../src/queues/registry.ts';
import { redisUrl } from './support/env.ts';
import { formatEnv } from './support/formats-capture.ts';
import { loadFixture, readFixtures, type FormatFixture } from './support/formats.ts';
import { spawnService, type ServiceProcess } from './support/processes.ts';
import { startTestService } from './support/receiver.ts';

// A rolling deploy: a receiver of this release takes enrollments while the only worker is one
// release behind (the commit before job data carried `v`), then a worker of this release takes
// over as the old one stops mid-flow, with jobs of the previous format (the enrollment in the job)
// queued among the new ones. Nothing is lost and nothing is sent twice.
const PREVIOUS_RELEASE = 'ad6216f';
const ROOT = join(import.meta.dirname, '..');
const HALF = 20;

/** The previous release's files, from git, beside this checkout's node_modules; undefined without its history (a shallow clone). */
function previousRelease(): string | undefined {
  const dir = join(tmpdir(), `course-sync-release-${PREVIOUS_RELEASE}`);
  if (existsSync(join(dir, 'bin', 'course-sync.js'))) return dir;
  try {
    const archive = execFileSync('git', ['-C', ROOT, 'archive', PREVIOUS_RELEASE], { maxBuffer: 64 * 1024 * 1024 });
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    return dir;
  } catch {
    return undefined;
  }
}

const previous = previousRelease();
let hubspot: HubSpotEmulator;
let sendgrid: SendGridEmulator;

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ requestsPer10s: undefined });
  sendgrid = await startSendGridEmulator();
});
afterAll(async () => {
  await hubspot?.close();
  await sendgrid?.close();
});

function enrollment(n: number) {
  return {
    type: 'course.student_enroll',
    data: {
      id: `roll_${n}`,
      course: { id: 'course_roll', name: 'Rolling 101' },
      user: { id: `user_roll_${n}`, name: 'Roll Student', email: `roll-${n}@example.com` },
      created_at: new Date().toISOString(),
    },
  };
}

/** The previous format's jobs (the job-enrollment/1 fixture) under fresh ids and addresses. */
function previousFormatJobs(count: number): FormatFixture {
  const base = readFixtures().find((f) => f.format === 'job-enrollment' && f.version === 1)!;
  const jobs = Array.from({ length: count }, (_, n) =>
    base.jobs.map((j) => {
      const data = j.data as { key: string; enrollment: { id: string; user: { email: string } } };
      const id = `roll_old_${n}`;
      return {
        ...j,
        id: `enroll-${id}`,
        data: {
          ...data,
          key: `enroll-${id}`,
          enrollment: { ...data.enrollment, id, user: { ...data.enrollment.user, email: `roll-old-${n}@example.com` } },
        },
      };
    }),
  ).flat();
  return { ...base, records: [], jobs };
}

describe.skipIf(!previous)(`a rolling deploy from ${PREVIOUS_RELEASE}`, () => {
  it('loses nothing: the old worker runs what the new receiver wrote, the new worker what the old format queued; one welcome email each', async () => {
    const receiver = await startTestService(formatEnv(hubspot, sendgrid), 'receiver');
    const prefix = receiver.config.redis.prefix;
    const env = { ...formatEnv(hubspot, sendgrid), NODE_ENV: 'test', REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix };
    const queues = openQueues(receiver.redis, receiver.config);
    let old: ServiceProcess | undefined;
    let current: Awaited<ReturnType<typeof startTestService>> | undefined;
    const emailed = (n: number, old = false) => sendgrid.outbox.to(`roll-${old ? 'old-' : ''}${n}@example.com`).length;
    try {
      old = spawnService('previous worker', 'worker', env, previous);
      for (let n = 0; n < HALF; n++) expect((await receiver.post(enrollment(n))).status).toBe(202);
      // Only the old worker runs: it reads the new receiver's jobs and pending records.
      await vi.waitFor(() => expect(Array.from({ length: HALF }, (_, n) => emailed(n))).toEqual(Array(HALF).fill(1)), {
        timeout: 60_000,
        interval: 100,
      });

      current = await startTestService({ ...formatEnv(hubspot, sendgrid), QUEUE_PREFIX: prefix }, 'worker');
      const posting = (async () => {
        for (let n = HALF; n < 2 * HALF; n++) expect((await receiver.post(enrollment(n))).status).toBe(202);
      })();
      await loadFixture(receiver.redis, queues, prefix, previousFormatJobs(5));
      await old.stop();
      await posting;
      await vi.waitFor(
        () => {
          expect(Array.from({ length: 2 * HALF }, (_, n) => emailed(n))).toEqual(Array(2 * HALF).fill(1));
          expect(Array.from({ length: 5 }, (_, n) => emailed(n, true))).toEqual(Array(5).fill(1));
          const contacts = new Set([...hubspot.state.objects.contacts.values()].map((c) => c.properties.email));
          for (let n = 0; n < 2 * HALF; n++)
            expect(contacts.has(`roll-${n}@example.com`), `contact roll-${n}`).toBe(true);
          for (let n = 0; n < 5; n++)
            expect(contacts.has(`roll-old-${n}@example.com`), `contact roll-old-${n}`).toBe(true);
        },
        { timeout: 60_000, interval: 100 },
      );
      // A contacts batch is settled just after HubSpot has it: the jobs finish a moment after the contacts show.
      await vi.waitFor(
        async () => {
          for (const q of Object.values(queues.work))
            expect(await q.getJobCounts('failed', 'waiting', 'active', 'delayed'), q.name).toEqual({
              failed: 0,
              waiting: 0,
              active: 0,
              delayed: 0,
            });
        },
        { timeout: 30_000, interval: 100 },
      );
    } finally {
      await old?.kill();
      await current?.service.stop();
      await queues.close();
      await receiver.stop();
    }
  }, 180_000);
});
