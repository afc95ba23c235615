import { afterAll, beforeAll, expect, it } from 'vitest';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { adminRoutes, basic, spellings } from '../support/admin.ts';
import { report } from '../support/faults.ts';
import { startTestService } from '../support/receiver.ts';
import { enrollmentJob } from '../support/dead-letters.ts';

// Every route under /admin, enumerated from the code that serves it (bull-board's route table, the
// admin API router's layers, the overview and sandbox pages), each method, several spellings:
// without credentials or with wrong ones, 401 with a Basic challenge, and nothing changes. Each probe
// comes from its own address (X-Forwarded-For behind TRUST_PROXY), so the login throttle, which
// would answer 429 after 10 failures from one address, does not hide what the gate answers.
const PASSWORD = 'every-route-password';
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

beforeAll(async () => {
  // Sandbox mode (no HubSpot/SendGrid credentials), so /admin/sandbox is mounted too.
  t = await startTestService({
    DASHBOARD_USER: 'ops',
    DASHBOARD_PASSWORD: PASSWORD,
    NODE_ENV: 'development',
    TRUST_PROXY: 'true',
  });
  queues = openQueues(t.redis, t.config);
  await queues.work[QUEUES.contacts].add('course.student_enroll', enrollmentJob('admin_probe'), {
    jobId: 'enroll-admin_probe',
  });
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
      for (const authorization of [
        undefined,
        basic('ops', 'wrong'),
        basic('ops', ''),
        basic('', PASSWORD),
        'Bearer ' + PASSWORD,
      ]) {
        probes++;
        const from = {
          'x-forwarded-for': `10.${(probes >> 16) & 255}.${(probes >> 8) & 255}.${probes & 255}`,
          'content-type': 'application/json',
        };
        const res = await fetch(t.base + spelled, {
          method,
          headers: authorization ? { authorization, ...from } : from,
          body: method === 'GET' ? undefined : '{}',
        });
        await res.arrayBuffer();
        if (res.status !== 401 || !/^Basic realm=/.test(res.headers.get('www-authenticate') ?? ''))
          open.push(`${method} ${spelled} (${authorization ?? 'none'}) → ${res.status}`);
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
