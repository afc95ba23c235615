import { Client } from '@hubspot/api-client';
import type { Job } from 'bullmq';
import type { Config } from '../../src/config.ts';
import {
  startHubSpotEmulator,
  type HubSpotEmulator,
  type HubSpotEmulatorOptions,
} from '../../src/emulators/hubspot/index.ts';
import type { Enrollment } from '../../src/events/types.ts';
import type { EnrollmentJob } from '../../src/queues/jobs.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { startContactsWorker, type ContactsWorkerOptions } from '../../src/workers/contacts-worker.ts';
import type { RunningWorker, WorkerDeps } from '../../src/workers/deps.ts';
import { fixture, testConfig } from './env.ts';
import { finishedJob, testWorkerDeps } from './worker-deps.ts';

/** An enrollment like the seed payload, with its own id, student and course. */
export function enrollment(
  id: string,
  user: Partial<Enrollment['user']> = {},
  course: Partial<Enrollment['course']> = {},
  createdAt?: string,
): Enrollment {
  const e = fixture('course.student_enroll').data as Enrollment;
  return {
    ...e,
    id,
    ...(createdAt ? { created_at: createdAt } : {}),
    user: { ...e.user, ...user },
    course: { ...e.course, ...course },
  };
}

/**
 * A HubSpot emulator, a test prefix on the real Redis, and crm-contacts workers on it: the
 * service's WorkerDeps per worker (each its own connections, like separate processes).
 */
export async function contactsRig(env: Record<string, string> = {}, emulator: HubSpotEmulatorOptions = {}) {
  const em: HubSpotEmulator = await startHubSpotEmulator({ requestsPer10s: 1000, ...emulator });
  const config: Config = testConfig({
    HUBSPOT_ACCESS_TOKEN: em.token,
    HUBSPOT_BASE_URL: em.url,
    SENDGRID_API_KEY: 'SG.unused',
    HUBSPOT_BATCH_WAIT_MS: '50',
    ...env,
  });
  const deps: (WorkerDeps & { stop(): Promise<void> })[] = [];
  const workers: RunningWorker[] = [];
  const main = testWorkerDeps(config);
  const queue = main.queues.work[QUEUES.contacts];
  let n = 0;

  return {
    em,
    config,
    deps: main,
    queue,
    /** A HubSpot client on the emulator, for setting up what HubSpot holds before a test. */
    hubspot: new Client({ accessToken: em.token, basePath: em.url }),
    /** Starts one more crm-contacts worker, with WorkerDeps of its own. */
    async startWorker(opts: ContactsWorkerOptions = {}): Promise<RunningWorker> {
      const d = testWorkerDeps(config);
      deps.push(d);
      const w = await startContactsWorker(d, opts);
      workers.push(w);
      return w;
    },
    /** Enqueues enrollments as the receiver does (job id = idempotency key, default job options). */
    async add(...enrollments: Enrollment[]): Promise<Job<EnrollmentJob>[]> {
      return queue.addBulk(
        enrollments.map((e) => ({
          name: 'course.student_enroll',
          data: {
            key: `enroll-${e.id}`,
            eventType: 'course.student_enroll',
            receivedAt: new Date().toISOString(),
            correlationId: `corr-${++n}`,
            enrollment: e,
          },
          opts: { jobId: `enroll-${e.id}` },
        })),
      ) as Promise<Job<EnrollmentJob>[]>;
    },
    /** Waits until every job is completed or failed for good; returns them fresh from Redis. */
    settled(jobs: Job[], timeoutMs = 20_000): Promise<Job<EnrollmentJob>[]> {
      return Promise.all(jobs.map((j) => finishedJob<EnrollmentJob>(queue, j.id!, timeoutMs)));
    },
    /** Upsert requests the emulator received, as their input lists. */
    upserts(): { id: string; properties: Record<string, string> }[][] {
      return em.state.requestsTo('/contacts/batch/upsert').map((r) => (r.body as any).inputs);
    },
    async stop() {
      await Promise.all(workers.map((w) => w.close()));
      for (const d of deps) await d.stop();
      await main.stop();
      await em.close();
    },
  };
}

export type ContactsRig = Awaited<ReturnType<typeof contactsRig>>;
