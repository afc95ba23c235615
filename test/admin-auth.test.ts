import type { Server } from 'node:http';
import type { Context } from 'koa';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';
import { mountAdmin } from '../src/admin/mount.ts';
import { identify, isAdminPath, resolveAdminCredentials, type AdminAccess } from '../src/admin/auth.ts';
import { createMetrics } from '../src/metrics.ts';
import type { SandboxSnapshot } from '../src/emulators/snapshot.ts';
import { EventIntake } from '../src/queues/intake.ts';
import { openQueues } from '../src/queues/registry.ts';
import { createApp } from '../src/receiver/app.ts';
import { Quarantine } from '../src/quarantine/store.ts';
import { dropPrefix, redisUrl, testConfig } from './support/env.ts';
import { startTestService } from './support/receiver.ts';
import { TraceWriter } from '../src/trace/writer.ts';

const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
const silent = createLogger('silent');

describe('identify, with Basic passwords', () => {
  const access: AdminAccess = { mode: 'basic', operator: { user: 'ops', password: 'pa:ss word', generated: false } };
  /** A request carrying `header` as its Authorization, as the gate reads it (Koa answers '' for a missing header). */
  const request = (header: string | undefined) =>
    ({ get: (name: string) => (name.toLowerCase() === 'authorization' ? (header ?? '') : '') }) as unknown as Context;
  it.each([
    ['the right user and password', basic('ops', 'pa:ss word'), true],
    ['a lower-case scheme', basic('ops', 'pa:ss word').replace('Basic', 'basic'), true],
    ['a wrong password', basic('ops', 'pa:ss wordx'), false],
    ['a password prefix', basic('ops', 'pa:ss'), false],
    ['a wrong user', basic('admin', 'pa:ss word'), false],
    ['an empty password', basic('ops', ''), false],
    ['no colon', 'Basic ' + Buffer.from('ops').toString('base64'), false],
    ['a Bearer token', 'Bearer pa:ss word', false],
    ['no header', undefined, false],
    ['garbage', 'Basic !!!', false],
  ])('%s → %s', (_case, header, ok) => {
    const who = identify(request(header), access);
    expect(who).toEqual(ok ? { user: { name: 'ops', role: 'operator' } } : { failed: header ? 'wrong' : 'missing' });
  });
});

describe('isAdminPath', () => {
  it.each([
    ['/admin', true],
    ['/admin/queues', true],
    ['/admin/api/dlq', true],
    ['/ADMIN/api/dlq', true],
    ['/%61dmin/api/dlq', true],
    ['//admin/queues', true],
    ['/admin%2Fapi', true],
    ['/webhooks/loopwise', false],
    ['/metrics', false],
    ['/healthz', false],
  ])('%s → %s', (path, admin) => {
    expect(isAdminPath(path)).toBe(admin);
  });
});

describe('resolveAdminCredentials', () => {
  it('uses DASHBOARD_USER and DASHBOARD_PASSWORD when a password is set, printing nothing', () => {
    const printed: string[] = [];
    const creds = resolveAdminCredentials(
      testConfig({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 's3cret' }),
      silent,
      (l) => printed.push(l),
    );
    expect(creds).toEqual({ user: 'ops', password: 's3cret', generated: false });
    expect(printed).toEqual([]);
  });

  it('turns admin off in production without a password', () => {
    const printed: string[] = [];
    const config = testConfig({ NODE_ENV: 'production', HUBSPOT_ACCESS_TOKEN: 'pat-x', SENDGRID_API_KEY: 'SG.x' });
    expect(resolveAdminCredentials(config, silent, (l) => printed.push(l))).toBeUndefined();
    expect(printed).toEqual([]);
  });

  it('outside production generates a random password and prints it once', () => {
    const printed: string[] = [];
    const a = resolveAdminCredentials(testConfig({ NODE_ENV: 'development' }), silent, (l) => printed.push(l))!;
    const b = resolveAdminCredentials(testConfig({ NODE_ENV: 'development' }), silent, () => undefined)!;
    expect(a.generated).toBe(true);
    expect(a.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(a.password).not.toBe(b.password);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toContain(a.password);
    expect(printed[0]).toContain('user "admin"');
  });
});

describe('a service with DASHBOARD_PASSWORD', () => {
  let t: Awaited<ReturnType<typeof startTestService>>;
  beforeAll(async () => {
    t = await startTestService({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'correct horse' });
  });
  afterAll(async () => t.stop());

  const paths = ['/admin', '/admin/queues', '/admin/queues/api/queues', '/admin/api/dlq', '/admin/api/quarantine'];

  it.each(paths)('%s answers 401 with a Basic challenge without credentials', async (path) => {
    const res = await fetch(t.base + path);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="course-sync admin"/);
  });

  it.each(paths)('%s answers 401 to a wrong password', async (path) => {
    const res = await fetch(t.base + path, { headers: { authorization: basic('ops', 'wrong horse') } });
    expect(res.status).toBe(401);
  });

  it.each(paths)('%s answers 200 with the right credentials', async (path) => {
    const res = await fetch(t.base + path, { headers: { authorization: basic('ops', 'correct horse') } });
    expect(res.status).toBe(200);
  });

  it('guards the admin API however the path is spelled', async () => {
    for (const path of ['/ADMIN/api/dlq', '/Admin/Api/Dlq', '/%61dmin/api/dlq', '/admin/api/dlq/']) {
      expect((await fetch(t.base + path)).status, path).toBe(401);
    }
  });

  it('shows every work queue and every dead-letter queue in bull-board', async () => {
    const res = await fetch(`${t.base}/admin/queues/api/queues`, {
      headers: { authorization: basic('ops', 'correct horse') },
    });
    const names = ((await res.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toEqual([
      'crm-contacts',
      'crm-contacts-dlq',
      'crm-products',
      'crm-products-dlq',
      'email-events',
      'email-events-dlq',
      'email-welcome',
      'email-welcome-dlq',
    ]);
  });

  it('leaves the webhook and health endpoints open', async () => {
    expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.base}/metrics`)).status).toBe(200);
  });
});

describe('production without DASHBOARD_PASSWORD', () => {
  let t: Awaited<ReturnType<typeof startTestService>>;
  beforeAll(async () => {
    t = await startTestService({
      NODE_ENV: 'production',
      HUBSPOT_ACCESS_TOKEN: 'pat-test',
      SENDGRID_API_KEY: 'SG.test',
    });
  });
  afterAll(async () => t.stop());

  it.each(['/admin', '/admin/queues', '/admin/queues/api/queues', '/admin/api/dlq'])(
    '%s is not reachable, with or without credentials',
    async (path) => {
      for (const headers of [
        {} as Record<string, string>,
        { authorization: basic('admin', '') },
        { authorization: basic('admin', 'admin') },
      ]) {
        const res = await fetch(t.base + path, { headers });
        expect(res.status).toBe(404);
      }
    },
  );
});

describe('outside production without DASHBOARD_PASSWORD, and the sandbox page', () => {
  const config = testConfig({ NODE_ENV: 'development' });
  const redis = new Redis(redisUrl());
  const queues = openQueues(redis, config);
  const intake = new EventIntake(redis, config, new TraceWriter(redis, config));
  const quarantine = new Quarantine(redis, config.redis.prefix, 100);
  const printed: string[] = [];
  const snapshot: SandboxSnapshot = {
    contacts: [{ id: '101', properties: { email: 'student@example.com', firstname: 'Sample' } }],
    products: [{ id: '202', properties: { name: 'Introduction to Programming — Basic', price: '1900' } }],
    emails: [
      {
        to: [{ email: 'student@example.com', name: 'Sample User' }],
        from: { email: 'no-reply@example.com' },
        subject: 'Welcome <script>alert(1)</script>',
        html: '<p>Hello <b>Sample</b></p>',
        text: 'Hello Sample',
        messageId: 'msg-1',
      },
    ],
  };
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const mount = mountAdmin({
      config,
      log: silent,
      redis,
      queues,
      quarantine,
      intake,
      metrics: createMetrics(),
      sandbox: () => snapshot,
      announce: (l) => printed.push(l),
    });
    const app = createApp({ config, log: silent, redis, intake, quarantine, queues, metrics: createMetrics(), mount });
    server = await new Promise<Server>((ok) => {
      const s = app.listen(0, '127.0.0.1', () => ok(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((ok) => server.close(ok));
    await queues.close();
    await dropPrefix(redis, config.redis.prefix);
    await redis.quit();
  });

  it('opens only with the printed random password', async () => {
    expect(printed).toHaveLength(1);
    const password = /^\s{6}(\S+)$/m.exec(printed[0]!)![1]!;
    expect((await fetch(`${base}/admin/queues`)).status).toBe(401);
    expect((await fetch(`${base}/admin/queues`, { headers: { authorization: basic('admin', '') } })).status).toBe(401);
    expect((await fetch(`${base}/admin/queues`, { headers: { authorization: basic('admin', password) } })).status).toBe(
      200,
    );
  });

  it('serves the sandbox page (behind the gate) with contacts, products and rendered e-mails, escaped', async () => {
    const password = /^\s{6}(\S+)$/m.exec(printed[0]!)![1]!;
    expect((await fetch(`${base}/admin/sandbox`)).status).toBe(401);
    const res = await fetch(`${base}/admin/sandbox`, { headers: { authorization: basic('admin', password) } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('to Sample User &lt;student@example.com&gt; · from no-reply@example.com');
    expect(html).toContain('Introduction to Programming — Basic');
    expect(html).toContain('Welcome &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).toContain(
      '<iframe sandbox="" title="HTML body" srcdoc="&lt;p&gt;Hello &lt;b&gt;Sample&lt;/b&gt;&lt;/p&gt;">',
    );
    expect(html).toContain('X-Message-Id msg-1');
    const json = await fetch(`${base}/admin/sandbox?format=json`, {
      headers: { authorization: basic('admin', password) },
    });
    expect(await json.json()).toEqual(snapshot);
  });
});

describe('the sandbox page outside sandbox mode', () => {
  let t: Awaited<ReturnType<typeof startTestService>>;
  beforeAll(async () => {
    t = await startTestService({
      DASHBOARD_PASSWORD: 'pw',
      HUBSPOT_ACCESS_TOKEN: 'pat-test',
      SENDGRID_API_KEY: 'SG.test',
    });
  });
  afterAll(async () => t.stop());

  it('answers 404 (after authentication)', async () => {
    expect((await fetch(`${t.base}/admin/sandbox`)).status).toBe(401);
    expect((await fetch(`${t.base}/admin/sandbox`, { headers: { authorization: basic('admin', 'pw') } })).status).toBe(
      404,
    );
  });
});
