import { appRoutes } from '@bull-board/api/dist/routes.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { adminApiRouter, type AdminApiDeps } from '../../src/admin/api.ts';
import { DASHBOARD_PATH } from '../../src/admin/bull-board.ts';
import { SANDBOX_PATH } from '../../src/admin/sandbox-page.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { report } from '../support/faults.ts';
import { startTestService } from '../support/receiver.ts';
import { enrollmentJob } from '../support/dead-letters.ts';

// Every route under /admin, enumerated from the code that serves it (bull-board's route table, the
// admin API router's layers, the overview and sandbox pages), each method, several spellings:
// without credentials or with wrong ones, 401 with a Basic challenge, and nothing changes.
const PASSWORD = 'every-route-password';
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

/** Fills route parameters with values that exist (a queue, a job), so a leak would really act. */
const fill = (path: string) => path.replace(':queueName', QUEUES.contacts).replace(':jobId', 'enroll-admin_probe').replace(':queue', QUEUES.contacts).replace(/:[A-Za-z]+/g, 'x');

function adminRoutes(): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  for (const path of [appRoutes.entryPoint.route].flat()) routes.push({ method: 'GET', path: DASHBOARD_PATH + (path === '/' ? '' : path) });
  for (const r of appRoutes.api) for (const method of [r.method].flat()) for (const path of [r.route].flat()) routes.push({ method: method.toUpperCase(), path: DASHBOARD_PATH + path });
  routes.push({ method: 'GET', path: `${DASHBOARD_PATH}/static/js/main.js` });
  const api = adminApiRouter({ log: createLogger('silent') } as unknown as AdminApiDeps);
  for (const layer of api.stack) for (const method of layer.methods.filter((m) => m !== 'HEAD')) routes.push({ method, path: String(layer.path) });
  routes.push(
    { method: 'GET', path: '/admin' },
    { method: 'POST', path: '/admin' },
    { method: 'GET', path: '/admin/' },
    { method: 'GET', path: '/admin/api/overview' },
    { method: 'GET', path: '/admin/api/events?q=student@example.com' },
    { method: 'GET', path: SANDBOX_PATH },
    { method: 'GET', path: `${SANDBOX_PATH}?format=json` },
  );
  return routes.map((r) => ({ ...r, path: fill(r.path) }));
}

/** The same path spelled the ways a router or proxy might treat as equal. */
const spellings = (path: string) => [path, path.replace('/admin', '/ADMIN'), path.replace('/admin', '/%61dmin'), path.replace('/admin', '//admin'), path.replace(/(\?|$)/, '/$1')];

beforeAll(async () => {
  // Sandbox mode (no HubSpot/SendGrid credentials), so /admin/sandbox is mounted too.
  t = await startTestService({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: PASSWORD, NODE_ENV: 'development' });
  queues = openQueues(t.redis, t.config);
  await queues.work[QUEUES.contacts].add('course.student_enroll', enrollmentJob('admin_probe'), { jobId: 'enroll-admin_probe' });
}, 60_000);
afterAll(async () => {
  await queues?.close();
  await t?.stop();
});

it('answers 401 with a Basic challenge on every admin route, method and spelling without the right credentials', async () => {
  const routes = adminRoutes();
  expect(routes.length).toBeGreaterThan(40);
  const open: string[] = [];
  let probes = 0;
  for (const { method, path } of routes) {
    for (const spelled of spellings(path)) {
      for (const authorization of [undefined, basic('ops', 'wrong'), basic('ops', ''), basic('', PASSWORD), 'Bearer ' + PASSWORD]) {
        probes++;
        const res = await fetch(t.base + spelled, { method, headers: authorization ? { authorization, 'content-type': 'application/json' } : { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
        await res.arrayBuffer();
        if (res.status !== 401 || !/^Basic realm=/.test(res.headers.get('www-authenticate') ?? '')) open.push(`${method} ${spelled} (${authorization ?? 'none'}) → ${res.status}`);
      }
    }
  }
  expect(open).toEqual([]);

  // None of the refused mutations (pause, clean, obliterate, retry, promote, replay, purge) happened.
  const queue = queues.work[QUEUES.contacts];
  expect(await queue.isPaused()).toBe(false);
  expect(await (await queue.getJob('enroll-admin_probe'))?.getState()).toBe('waiting');
  report('admin-auth', { routes: routes.length, probes, notRefused: open.length });
});

it('the enumerated routes are real: behind the gate, the right credentials reach them', async () => {
  const gets = adminRoutes().filter((r) => r.method === 'GET' && !r.path.includes('/static/'));
  const missing: string[] = [];
  for (const { path } of gets) {
    const res = await fetch(t.base + path, { headers: { authorization: basic('ops', PASSWORD) } });
    const text = await res.text();
    // A 404 that names what was not found (a job, a dead letter) comes from the route itself.
    const routeAnswered = res.status !== 404 || /"error"/.test(text);
    if (res.status === 401 || res.status >= 500 || !routeAnswered) missing.push(`${path} → ${res.status}`);
  }
  expect(missing).toEqual([]);
});
