import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { basic, deadLetterCounts, seedDeadLetters, stateChangingRoutes } from './support/admin.ts';
import { startTestService } from './support/receiver.ts';

const OPERATOR = basic('ops', 'operator-password');
const VIEWER = basic('marketing', 'viewer-password');
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

const get = (path: string, authorization: string, headers: Record<string, string> = {}) =>
  fetch(t.base + path, { headers: { authorization, ...headers } });
const metric = async (name: string) =>
  Number(
    new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(await (await fetch(`${t.base}/metrics`)).text())?.[1] ?? 0,
  );

beforeAll(async () => {
  t = await startTestService({
    DASHBOARD_USER: 'ops',
    DASHBOARD_PASSWORD: 'operator-password',
    DASHBOARD_VIEWER_USER: 'marketing',
    DASHBOARD_VIEWER_PASSWORD: 'viewer-password',
    TRUST_PROXY: 'true',
  });
  queues = openQueues(t.redis, t.config);
  await seedDeadLetters(queues, 2, 'roles');
});
afterAll(async () => {
  await queues?.close();
  await t?.stop();
});

describe('the viewer', () => {
  it.each([
    '/admin',
    '/admin/api/overview',
    '/admin/api/events?q=enroll_1',
    '/admin/api/dlq',
    '/admin/api/quarantine',
    '/admin/queues',
    '/admin/queues/api/queues',
  ])('may read %s', async (path) => {
    expect((await get(path, VIEWER)).status).toBe(200);
  });

  it('may search with the overview form', async () => {
    const res = await fetch(`${t.base}/admin`, {
      method: 'POST',
      headers: { authorization: VIEWER, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'q=enroll_1',
    });
    expect(res.status).toBe(200);
  });

  it("is refused (403) on every state-changing route, bull-board's included, and nothing changes", async () => {
    const before = await deadLetterCounts(queues);
    const routes = stateChangingRoutes();
    expect(routes.length).toBeGreaterThan(25);
    const open: string[] = [];
    for (const { method, path } of routes) {
      const res = await fetch(t.base + path, {
        method,
        headers: { authorization: VIEWER, 'content-type': 'application/json' },
        body: '{"all":true,"olderThan":"0m"}',
      });
      if (res.status !== 403) open.push(`${method} ${path} → ${res.status}`);
    }
    expect(open).toEqual([]);
    expect(await deadLetterCounts(queues)).toEqual(before);
    expect(await queues.work[QUEUES.contacts].isPaused()).toBe(false);
  });

  it('sees bull-board in read-only mode and the page says who is signed in', async () => {
    const board = (await (await get('/admin/queues/api/queues', VIEWER)).json()) as {
      queues: { readOnlyMode: boolean }[];
    };
    expect(board.queues.every((q) => q.readOnlyMode)).toBe(true);
    const asOperator = (await (await get('/admin/queues/api/queues', OPERATOR)).json()) as {
      queues: { readOnlyMode: boolean }[];
    };
    expect(asOperator.queues.some((q) => q.readOnlyMode)).toBe(false);
    expect(await (await get('/admin', VIEWER)).text()).toContain('signed in as <b>marketing</b> (viewer)');
    const page = await (await get('/admin', OPERATOR)).text();
    expect(page).toContain('signed in as <b>ops</b> (operator)');
    // The pictures are drawn on the server: SVG in the page, and again in the JSON the page refreshes from.
    expect(page).toMatch(/<div data-chart="crm-contacts\.hour"><figure class="chart"><svg /);
    expect(Object.keys((await (await get('/admin/api/overview', VIEWER)).json()).charts)).toContain('hubspot.budget');
  });
});

describe('operator actions', () => {
  it('are kept in the audit trail with who, what, where and how many, and shown on the overview', async () => {
    const replay = await fetch(`${t.base}/admin/api/dlq/${QUEUES.contacts}/replay`, {
      method: 'POST',
      headers: { authorization: OPERATOR, 'content-type': 'application/json' },
      body: '{"all":true}',
    });
    expect(replay.status).toBe(200);
    expect(await deadLetterCounts(queues)).toMatchObject({ [QUEUES.contacts]: 0 });
    expect(
      (
        await fetch(`${t.base}/admin/queues/api/queues/${QUEUES.email}/pause`, {
          method: 'PUT',
          headers: { authorization: OPERATOR },
        })
      ).status,
    ).toBe(200);
    await queues.work[QUEUES.email].resume();
    const trail = (await t.redis.lrange(`${t.config.redis.prefix}:cs:audit`, 0, -1)).map((s) => JSON.parse(s));
    expect(trail).toEqual([
      expect.objectContaining({ who: 'ops', via: 'bull-board', action: 'pause', queue: QUEUES.email }),
      expect.objectContaining({
        who: 'ops',
        via: 'admin-api',
        action: 'replay',
        queue: QUEUES.contacts,
        count: 2,
        detail: 'all',
      }),
    ]);
    const page = await (await get('/admin', VIEWER)).text();
    expect(page).toMatch(/<b>ops<\/b> <span class="muted">via admin-api<\/span> replay on crm-contacts \(2\) — all/);
    expect(await t.redis.ttl(`${t.config.redis.prefix}:cs:audit`)).toBeGreaterThan(0);
  });
});

describe('password guessing', () => {
  const from = (address: string) => ({ 'x-forwarded-for': address });

  it('is answered 429 with Retry-After after 10 failures from one address, even with the right password; other addresses are not affected', async () => {
    const failuresBefore = await metric('course_sync_admin_login_failures_total');
    for (let i = 1; i <= 10; i++) {
      const res = await get('/admin/api/dlq', basic('ops', `guess-${i}`), from('203.0.113.7'));
      expect(res.status, `attempt ${i}`).toBe(i < 10 ? 401 : 429);
    }
    const locked = await get('/admin/api/dlq', OPERATOR, from('203.0.113.7'));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(200);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(300);
    expect((await get('/admin/api/dlq', OPERATOR, from('203.0.113.8'))).status).toBe(200);
    expect(await metric('course_sync_admin_login_failures_total')).toBe(failuresBefore + 10);
    // The state is in Redis (shared by every receiver), expiring with its window.
    const key = `${t.config.redis.prefix}:cs:admin-login-failures:203.0.113.7`;
    expect(await t.redis.get(key)).toBe('10');
    expect(await t.redis.pttl(key)).toBeGreaterThan(200_000);
  });

  it('opens again once the window has passed', async () => {
    for (let i = 0; i < 10; i++) await get('/admin/api/dlq', basic('ops', 'wrong'), from('198.51.100.1'));
    expect((await get('/admin/api/dlq', OPERATOR, from('198.51.100.1'))).status).toBe(429);
    await t.redis.pexpire(`${t.config.redis.prefix}:cs:admin-login-failures:198.51.100.1`, 1); // as if 5 minutes passed
    await expect.poll(async () => (await get('/admin/api/dlq', OPERATOR, from('198.51.100.1'))).status).toBe(200);
  });

  it("does not count a request without credentials (the browser's first request) as a failure", async () => {
    for (let i = 0; i < 12; i++)
      expect((await fetch(`${t.base}/admin`, { headers: from('192.0.2.44') })).status).toBe(401);
    expect((await get('/admin', OPERATOR, from('192.0.2.44'))).status).toBe(200);
  });
});

describe('sign-on through a proxy (ADMIN_AUTH=proxy)', () => {
  async function proxied(
    env: Record<string, string>,
    headers: Record<string, string>,
    path = '/admin/api/dlq',
    method = 'GET',
  ) {
    const s = await startTestService({
      ADMIN_AUTH: 'proxy',
      ADMIN_OPERATORS: 'alice@school.example',
      TRUST_PROXY: 'true',
      ...env,
    });
    try {
      const res = await fetch(s.base + path, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: method === 'GET' ? undefined : '{"olderThan":"1d"}',
      });
      return { status: res.status, text: await res.text() };
    } finally {
      await s.stop();
    }
  }

  it('trusts the user header from an allow-listed proxy: operators by name, everyone else a viewer', async () => {
    const env = { ADMIN_PROXY_ALLOWLIST: '127.0.0.1/32' };
    expect(
      (
        await proxied(
          env,
          { 'x-forwarded-user': 'alice@school.example' },
          `/admin/api/dlq/${QUEUES.contacts}/purge`,
          'POST',
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await proxied(
          env,
          { 'x-forwarded-user': 'bob@school.example' },
          `/admin/api/dlq/${QUEUES.contacts}/purge`,
          'POST',
        )
      ).status,
    ).toBe(403);
    expect((await proxied(env, { 'x-forwarded-user': 'bob@school.example' }, '/admin')).text).toContain(
      'signed in as <b>bob@school.example</b> (viewer)',
    );
    expect(
      (
        await proxied(
          { ...env, ADMIN_PROXY_USER_HEADER: 'X-Auth-Request-Email' },
          { 'x-auth-request-email': 'alice@school.example' },
        )
      ).status,
    ).toBe(200);
  });

  it('answers 401 without the header, and to the header from any other address (X-Forwarded-For cannot fake one)', async () => {
    expect((await proxied({ ADMIN_PROXY_ALLOWLIST: '127.0.0.1' }, {})).status).toBe(401);
    expect(
      (await proxied({ ADMIN_PROXY_ALLOWLIST: '10.0.0.0/8' }, { 'x-forwarded-user': 'alice@school.example' })).status,
    ).toBe(401);
    expect(
      (
        await proxied(
          { ADMIN_PROXY_ALLOWLIST: '10.0.0.0/8' },
          { 'x-forwarded-user': 'alice@school.example', 'x-forwarded-for': '10.0.0.5' },
        )
      ).status,
    ).toBe(401);
    // Basic passwords do not open a proxy-mode console.
    expect(
      (
        await proxied(
          { ADMIN_PROXY_ALLOWLIST: '10.0.0.0/8', DASHBOARD_PASSWORD: 'pw' },
          { authorization: basic('admin', 'pw') },
        )
      ).status,
    ).toBe(401);
  });
});
