import type { Job } from 'bullmq';
import type { Config } from '../../src/config.ts';
import {
  startHubSpotEmulator,
  type HubSpotEmulator,
  type HubSpotEmulatorOptions,
} from '../../src/emulators/hubspot/index.ts';
import type { Course, Enrollment } from '../../src/events/types.ts';
import { createHubSpotCall } from '../../src/hubspot/call.ts';
import { createHubSpotClient } from '../../src/hubspot/client.ts';
import { ensureHubSpotSetup } from '../../src/hubspot/setup.ts';
import type { CourseJob, EnrollmentJob } from '../../src/queues/jobs.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { startContactsWorker } from '../../src/workers/contacts-worker.ts';
import type { RunningWorker } from '../../src/workers/deps.ts';
import type { HubSpotWorkerOptions } from '../../src/workers/hubspot-kit.ts';
import { startProductsWorker } from '../../src/workers/products-worker.ts';
import { fixture, testConfig } from './env.ts';
import { finishedJob, testWorkerDeps } from './worker-deps.ts';

/** The seed course.created with its own id and `over` applied. */
export function course(id: string, over: Partial<Course> = {}): Course {
  return { ...fixture('course.created').data, id, ...over };
}

/** An enrollment in `c` of student `n`. */
export function enrollmentIn(
  c: Pick<Course, 'id' | 'name' | 'slug'>,
  n: string,
  user: Partial<Enrollment['user']> = {},
): Enrollment {
  const e = fixture('course.student_enroll').data as Enrollment;
  return {
    ...e,
    id: `e-${c.id}-${n}`,
    user: { ...e.user, id: `u-${n}`, email: `student-${n}@example.com`, ...user },
    course: { id: c.id, name: c.name, slug: c.slug ?? undefined },
  };
}

/**
 * A HubSpot emulator (its Courses object active unless told), a portal set up as `hubspot setup`
 * leaves it (`setup: false` to skip), and one process's crm-contacts and crm-products workers on a
 * test prefix of the real Redis.
 */
export async function coursesRig(
  env: Record<string, string> = {},
  emulator: HubSpotEmulatorOptions = {},
  opts: { setup?: boolean } = {},
) {
  const em: HubSpotEmulator = await startHubSpotEmulator({
    requestsPer10s: 1000,
    coursesObject: 'active',
    ...emulator,
  });
  const config: Config = testConfig({
    HUBSPOT_ACCESS_TOKEN: em.token,
    HUBSPOT_BASE_URL: em.url,
    SENDGRID_API_KEY: 'SG.unused',
    HUBSPOT_BATCH_WAIT_MS: '50',
    JOB_BACKOFF_MS: '10',
    ...env,
  });
  const client = createHubSpotClient(config.hubspot);
  if (opts.setup !== false) {
    const active = em.state.library.active('0-410');
    await ensureHubSpotSetup(
      client,
      createHubSpotCall({}),
      active ? ['contacts', 'products', 'courses'] : ['contacts', 'products'],
    );
    em.state.requests.length = 0;
  }
  const deps = testWorkerDeps(config);
  const workers: RunningWorker[] = [];
  const contacts = deps.queues.work[QUEUES.contacts];
  const products = deps.queues.work[QUEUES.products];
  let n = 0;
  return {
    em,
    config,
    deps,
    client,
    contacts,
    products,
    /** Starts the crm-contacts and crm-products workers (as one process), with `opts` (a clock of the test's). */
    async start(opts: Omit<HubSpotWorkerOptions, 'client'> = {}): Promise<void> {
      workers.push(
        await startContactsWorker(deps, { client, ...opts }),
        await startProductsWorker(deps, { client, ...opts }),
      );
    },
    /** Enqueues enrollments as the receiver does. */
    async enroll(...enrollments: Enrollment[]): Promise<Job<EnrollmentJob>[]> {
      return contacts.addBulk(
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
    /** Enqueues a course event as the receiver does. */
    async courseEvent(c: Course, type: CourseJob['eventType'] = 'course.created'): Promise<Job<CourseJob>> {
      const data: CourseJob = {
        key: `${type}-${c.id}-${c.updated_at}`,
        eventType: type,
        receivedAt: new Date().toISOString(),
        correlationId: `corr-${++n}`,
        course: c,
      };
      return products.add(type, data, { jobId: `${type}-${c.id}-${++n}` });
    },
    /** Waits until each job is completed or failed for good; returns them fresh. */
    settled<D>(jobs: Job<D>[]): Promise<Job<D>[]> {
      return Promise.all(
        jobs.map((j) => finishedJob<D>(j.queueName === products.name ? products : contacts, j.id!, 20_000)),
      );
    },
    /** The course record ids a contact (by e-mail) is associated with. */
    coursesOf(email: string): string[] {
      const c = em.state.contact(email);
      return c ? em.state.associations.from('contacts', c.id, 'courses').map((a) => a.toId) : [];
    },
    /** "METHOD path" of every request the emulator answered. */
    requestLines(): string[] {
      return em.state.requests.map((r) => `${r.method} ${r.path}`);
    },
    async stop(): Promise<void> {
      await Promise.all(workers.map((w) => w.close()));
      await deps.stop();
      await em.close();
    },
  };
}

export type CoursesRig = Awaited<ReturnType<typeof coursesRig>>;
