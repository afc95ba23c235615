import { appRoutes } from '@bull-board/api/dist/routes.js';
import { adminApiRouter, type AdminApiDeps } from '../../src/admin/api.ts';
import { DASHBOARD_PATH } from '../../src/console-links.ts';
import { SANDBOX_PATH } from '../../src/admin/sandbox-page.ts';
import { createLogger } from '../../src/log.ts';
import type { DeadLetter } from '../../src/queues/dead-letter.ts';
import { QUEUES, type WorkQueueName } from '../../src/queues/names.ts';
import type { QueueSet } from '../../src/queues/registry.ts';
import { enrollmentJob } from './dead-letters.ts';

/** A Basic `Authorization` header value. */
export const basic = (user: string, password: string) =>
  'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

/** Puts `n` dead letters of enrollments `<prefix>-<i>` in `queue`'s dead-letter queue, as a worker's last failure would. */
export async function seedDeadLetters(
  queues: QueueSet,
  n: number,
  prefix: string,
  queue: WorkQueueName = QUEUES.contacts,
  error = 'HubSpot answered 500',
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const data = enrollmentJob(`${prefix}-${i}`);
    const letter: DeadLetter = {
      queue,
      jobId: data.key,
      name: 'course.student_enroll',
      data,
      attemptsMade: 3,
      errors: [{ attempt: 3, message: error, at: new Date().toISOString() }],
      deadAt: new Date().toISOString(),
      unrecoverable: false,
    };
    await queues.deadLetter[queue].add('course.student_enroll', letter, { jobId: data.key });
    ids.push(data.key);
  }
  return ids;
}

/** The dead letters of every work queue, by queue. */
export async function deadLetterCounts(queues: QueueSet): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, q] of Object.entries(queues.deadLetter)) out[name] = await q.count();
  return out;
}

/** Fills route parameters with values that exist (a queue, a job), so a leak would really act. */
const fill = (path: string) =>
  path
    .replace(':queueName', QUEUES.contacts)
    .replace(':jobId', 'enroll-admin_probe')
    .replace(':queue', QUEUES.contacts)
    .replace(/:[A-Za-z]+/g, 'x');

/**
 * Every route under /admin, enumerated from the code that serves it: bull-board's route table, the
 * admin API router's layers, the overview, assets and sandbox pages.
 */
export function adminRoutes(): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  for (const path of [appRoutes.entryPoint.route].flat())
    routes.push({ method: 'GET', path: DASHBOARD_PATH + (path === '/' ? '' : path) });
  for (const r of appRoutes.api)
    for (const method of [r.method].flat())
      for (const path of [r.route].flat()) routes.push({ method: method.toUpperCase(), path: DASHBOARD_PATH + path });
  routes.push({ method: 'GET', path: `${DASHBOARD_PATH}/static/js/main.js` });
  const api = adminApiRouter({ log: createLogger('silent') } as unknown as AdminApiDeps);
  for (const layer of api.stack)
    for (const method of layer.methods.filter((m) => m !== 'HEAD')) routes.push({ method, path: String(layer.path) });
  routes.push(
    { method: 'GET', path: '/admin' },
    { method: 'POST', path: '/admin' },
    { method: 'GET', path: '/admin/' },
    { method: 'GET', path: '/admin/api/overview' },
    { method: 'GET', path: '/admin/api/events?q=student@example.com' },
    { method: 'GET', path: '/admin/assets/admin.css' },
    { method: 'GET', path: SANDBOX_PATH },
    { method: 'GET', path: '/admin/contact-mapping' },
    { method: 'GET', path: `${SANDBOX_PATH}?format=json` },
  );
  return routes.map((r) => ({ ...r, path: fill(r.path) }));
}

/** The state-changing routes among them (every method but GET), the search form excepted. */
export function stateChangingRoutes(): { method: string; path: string }[] {
  return adminRoutes().filter((r) => r.method !== 'GET' && !(r.method === 'POST' && r.path === '/admin'));
}

/** The same path spelled the ways a router or proxy might treat as equal. */
export const spellings = (path: string) => [
  path,
  path.replace('/admin', '/ADMIN'),
  path.replace('/admin', '/%61dmin'),
  path.replace('/admin', '//admin'),
  path.replace(/(\?|$)/, '/$1'),
];
