import { Queue } from 'bullmq';
import { startHubSpotEmulator, type RequestLogEntry } from '../../src/emulators/hubspot/index.ts';
import { createHubSpotCall } from '../../src/hubspot/call.ts';
import { createHubSpotClient } from '../../src/hubspot/client.ts';
import { ensureHubSpotSetup } from '../../src/hubspot/setup.ts';
import { QUEUES } from '../../src/queues/names.ts';
import type { BenchContext } from '../lib/context.ts';
import { fillPaused, startWorkerProcesses, waitUntil } from '../lib/drain.ts';
import { enrollment } from '../lib/enrollments.ts';

const S = '9 courses';

/** HubSpot's request budget per 10 s on Free/Starter: the run must not need more than one window. */
const LIMIT = 100;

/** What a request was, in the names the metrics use. */
function operationOf(r: RequestLogEntry): string {
  if (r.path.includes('/object-library/enablement')) return 'object-library.enablement';
  if (r.path.endsWith('/batch/associate/default')) return 'associations.create';
  const upsert = /^\/crm\/v3\/objects\/([^/]+)\/batch\/upsert$/.exec(r.path);
  if (upsert) return `${upsert[1] === '0-410' ? 'courses' : upsert[1]}.upsert`;
  if (/^\/crm\/v3\/properties\/[^/]+$/.test(r.path))
    return r.method === 'GET' ? 'properties.list' : 'properties.create';
  if (/^\/crm\/v3\/properties\/[^/]+\/groups/.test(r.path))
    return `properties.groups.${r.method === 'GET' ? 'list' : 'create'}`;
  if (/^\/crm\/v3\/properties\/[^/]+\/[^/]+$/.test(r.path))
    return r.method === 'GET' ? 'properties.get' : 'properties.update';
  return `${r.method} ${r.path}`;
}

/** "contacts.upsert 10, associations.create 10, ..." */
function byOperation(requests: RequestLogEntry[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(operationOf(r), (counts.get(operationOf(r)) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
}

/** One run: `n` enrollments across `courses` courses, drained by one worker process; what HubSpot was asked. */
async function run(ctx: BenchContext, name: string, n: number, courses: number, coursesObject: 'auto' | 'off') {
  const em = await startHubSpotEmulator({ requestsPer10s: LIMIT, coursesObject: 'active' });
  const prefix = `bench-${name}`;
  try {
    // The portal as `course-sync hubspot setup` leaves it; the run counts what the workers ask.
    await ensureHubSpotSetup(createHubSpotClient({ accessToken: em.token, baseUrl: em.url }), createHubSpotCall({}), [
      'contacts',
      'products',
      'courses',
    ]);
    em.state.requests.length = 0;
    const make = (tag: string, i: number) => {
      const e = enrollment(tag, i);
      const c = i % courses;
      return { ...e, course: { ...e.course, id: `course-${c}`, name: `Course ${c}`, slug: `course-${c}` } };
    };
    const filled = await fillPaused(ctx, prefix, QUEUES.contacts, name, n, 0, make);
    const env = ctx.env(prefix, {
      HUBSPOT_BASE_URL: em.url,
      HUBSPOT_ACCESS_TOKEN: em.token,
      HUBSPOT_REQUESTS_PER_10S: String(LIMIT),
      HUBSPOT_COURSES_OBJECT: coursesObject,
    });
    const workers = await startWorkerProcesses(ctx, name, env, 1);
    try {
      const t0 = await filled.resume();
      const done = new Queue(QUEUES.contacts, { connection: ctx.redis, prefix });
      await waitUntil(
        async () => (await done.getCompletedCount()) + (await done.getFailedCount()) >= n,
        120_000,
        `${n} contact jobs done`,
      );
      const seconds = (Date.now() - t0) / 1000;
      const failed = await done.getFailedCount();
      await done.close();
      const requests = [...em.state.requests];
      return {
        requests,
        seconds,
        failed,
        contacts: em.state.contacts.size,
        records: em.state.objects.courses.size,
        associations: em.state.associations.all('contacts', 'courses').length,
      };
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await filled.close();
    }
  } finally {
    await em.close();
  }
}

/**
 * Scenario 9: 1,000 enrollments of 1,000 students across 10 courses (no course event), drained by
 * one worker process against a set-up portal with the Courses object active: every HubSpot request
 * in all (start-up checks included), by operation — against the same run without course records.
 */
export async function courses(ctx: BenchContext): Promise<void> {
  const n = 1_000;
  const today = await run(ctx, 'courses-off', n, 10, 'off');
  const withCourses = await run(ctx, 'courses-on', n, 10, 'auto');
  const r = ctx.report;
  r.target(S, `HubSpot requests in all, ${n} enrollments / 10 courses`, withCourses.requests.length, 'req', 'max', 25);
  r.info(S, '  same without course records (HUBSPOT_COURSES_OBJECT=off)', today.requests.length, 'req');
  r.target(S, 'course records written', withCourses.records, '', 'min', 10);
  r.target(S, 'students associated with their course', withCourses.associations, '', 'min', n);
  r.target(S, 'contacts written', withCourses.contacts, '', 'min', n);
  r.target(S, 'failed jobs', withCourses.failed + today.failed, '', 'max', 0);
  r.target(S, '429s', withCourses.requests.filter((q) => q.status === 429).length, '', 'max', 0);
  r.note(
    S,
    `with course records, requests by operation: ${byOperation(withCourses.requests)} (${withCourses.seconds.toFixed(1)} s)`,
  );
  r.note(S, `without, requests by operation: ${byOperation(today.requests)} (${today.seconds.toFixed(1)} s)`);
  r.details.courses = {
    withCourses: { ...withCourses, requests: withCourses.requests.map((q) => `${q.method} ${q.path} ${q.status}`) },
    today: { ...today, requests: today.requests.map((q) => `${q.method} ${q.path} ${q.status}`) },
  };
}
