import { afterAll, beforeAll, expect, it } from 'vitest';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { basic, deadLetterCounts, seedDeadLetters, spellings, stateChangingRoutes } from '../support/admin.ts';
import { enrollmentJob } from '../support/dead-letters.ts';
import { report } from '../support/faults.ts';
import { startTestService } from '../support/receiver.ts';

// Every state-changing route under /admin (bull-board's route table and the admin API's layers), in
// every spelling: refused to a cross-site request carrying the operator's password, refused to the
// viewer, and refused to an address that guessed too often — and nothing changes.
const OPERATOR = basic('ops', 'operator-everywhere');
const VIEWER = basic('viewer', 'viewer-everywhere');
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

async function sweep(
  headers: (probe: number) => Record<string, string>,
  expected: number,
): Promise<{ probes: number; open: string[] }> {
  const open: string[] = [];
  let probes = 0;
  for (const { method, path } of stateChangingRoutes()) {
    for (const spelled of spellings(path)) {
      probes++;
      const res = await fetch(t.base + spelled, {
        method,
        headers: { 'content-type': 'application/json', ...headers(probes) },
        body: '{"all":true,"olderThan":"0m"}',
      });
      await res.arrayBuffer();
      if (res.status !== expected) open.push(`${method} ${spelled} → ${res.status}`);
    }
  }
  return { probes, open };
}

async function nothingChanged(): Promise<void> {
  expect(await deadLetterCounts(queues)).toEqual({
    [QUEUES.contacts]: 3,
    [QUEUES.email]: 0,
    [QUEUES.products]: 0,
    [QUEUES.emailEvents]: 0,
  });
  expect(await queues.work[QUEUES.contacts].isPaused()).toBe(false);
  expect(await (await queues.work[QUEUES.contacts].getJob('enroll-admin_probe'))?.getState()).toBe('waiting');
}

beforeAll(async () => {
  t = await startTestService({
    DASHBOARD_USER: 'ops',
    DASHBOARD_PASSWORD: 'operator-everywhere',
    DASHBOARD_VIEWER_USER: 'viewer',
    DASHBOARD_VIEWER_PASSWORD: 'viewer-everywhere',
    TRUST_PROXY: 'true',
  });
  queues = openQueues(t.redis, t.config);
  await seedDeadLetters(queues, 3, 'everywhere');
  await queues.work[QUEUES.contacts].add('course.student_enroll', enrollmentJob('admin_probe'), {
    jobId: 'enroll-admin_probe',
  });
}, 60_000);
afterAll(async () => {
  await queues?.close();
  await t?.stop();
});

it("refuses every state-changing route, in every spelling, to a cross-site request with the operator's password", async () => {
  const variants: Record<string, string>[] = [
    { origin: 'https://evil.example' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { referer: 'https://evil.example/x' },
  ];
  const { probes, open } = await sweep((n) => ({ authorization: OPERATOR, ...variants[n % variants.length]! }), 403);
  expect(open).toEqual([]);
  await nothingChanged();
  report('admin-cross-site', { probes, notRefused: open.length });
});

it('refuses every state-changing route, in every spelling, to the viewer', async () => {
  const { probes, open } = await sweep(() => ({ authorization: VIEWER }), 403);
  expect(open).toEqual([]);
  await nothingChanged();
  report('admin-viewer', { probes, notRefused: open.length });
});

it('answers 429 on every route to an address that failed 10 logins, also with the right password; others get in', async () => {
  for (let i = 0; i < 10; i++)
    await (
      await fetch(`${t.base}/admin`, {
        headers: { authorization: basic('ops', `guess ${i}`), 'x-forwarded-for': '203.0.113.99' },
      })
    ).arrayBuffer();
  const { probes, open } = await sweep(() => ({ authorization: OPERATOR, 'x-forwarded-for': '203.0.113.99' }), 429);
  expect(open).toEqual([]);
  await nothingChanged();
  expect(
    (
      await fetch(`${t.base}/admin/api/dlq`, {
        headers: { authorization: OPERATOR, 'x-forwarded-for': '203.0.113.100' },
      })
    ).status,
  ).toBe(200);
  report('admin-throttle', { probes, notRefused: open.length });
});
