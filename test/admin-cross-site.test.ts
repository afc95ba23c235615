import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../src/queues/names.ts';
import { openQueues, type QueueSet } from '../src/queues/registry.ts';
import { basic, deadLetterCounts, seedDeadLetters } from './support/admin.ts';
import { startTestService } from './support/receiver.ts';

// A page on another site, with the operator's password cached in the browser, makes the browser send
// state-changing requests to /admin: each is refused with 403 and changes nothing, and the JSON API
// refuses bodies that are not JSON (415). The same requests from the console's own origin work.
const PASSWORD = 'cross-site-password';
const auth = basic('admin', PASSWORD);
let t: Awaited<ReturnType<typeof startTestService>>;
let queues: QueueSet;

type Attempt = { method: string; path: string; type?: string; body?: string };
const attempts: Attempt[] = [
  { method: 'POST', path: `/admin/api/dlq/${QUEUES.contacts}/purge`, type: 'text/plain', body: '{"olderThan":"0m"}' },
  {
    method: 'POST',
    path: `/admin/api/dlq/${QUEUES.contacts}/replay`,
    type: 'application/x-www-form-urlencoded',
    body: '{"all":true,"x":"="}',
  },
  {
    method: 'POST',
    path: `/admin/api/dlq/${QUEUES.contacts}/purge`,
    type: 'application/json',
    body: '{"olderThan":"0m"}',
  },
  { method: 'PUT', path: `/admin/queues/api/queues/${QUEUES.contacts}/pause` },
  { method: 'PUT', path: '/admin/queues/api/queues/pause' },
  { method: 'POST', path: '/admin', type: 'application/x-www-form-urlencoded', body: 'q=enroll_1' },
];
const elsewhere = 'https://attacker.example';
const crossSiteHeaders: [string, Record<string, string>][] = [
  ['an Origin of another site', { origin: elsewhere }],
  ['Origin null (sandboxed frame)', { origin: 'null' }],
  ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
  ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }],
  ['only a Referer from another site', { referer: `${elsewhere}/page` }],
  ['the own Origin but Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site', origin: 'OWN' }],
  ['Origin null from a cross-site frame', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
];

async function send(a: Attempt, headers: Record<string, string>): Promise<Response> {
  const h: Record<string, string> = { authorization: auth, ...headers };
  if (a.type) h['content-type'] = a.type;
  if (h.origin === 'OWN') h.origin = t.base;
  return fetch(t.base + a.path, { method: a.method, headers: h, body: a.body });
}

beforeAll(async () => {
  t = await startTestService({ DASHBOARD_PASSWORD: PASSWORD });
  queues = openQueues(t.redis, t.config);
  await seedDeadLetters(queues, 3, 'cross');
});
afterAll(async () => {
  await queues?.close();
  await t?.stop();
});

describe('state-changing /admin requests from another site', () => {
  it.each(crossSiteHeaders)('with %s are refused with 403 and change nothing', async (_name, headers) => {
    const before = await deadLetterCounts(queues);
    for (const a of attempts) {
      const res = await send(a, headers);
      expect(res.status, `${a.method} ${a.path}`).toBe(403);
      expect((await res.json()).error).toMatch(/^Cross-site request refused/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    expect(await deadLetterCounts(queues)).toEqual(before);
    expect(await queues.work[QUEUES.contacts].isPaused()).toBe(false);
  });

  it('are refused before authentication, so they neither prompt nor count as failed logins', async () => {
    const res = await fetch(`${t.base}/admin/api/dlq/${QUEUES.contacts}/purge`, {
      method: 'POST',
      headers: { origin: elsewhere, authorization: basic('admin', 'guess') },
      body: '{}',
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(await t.redis.keys(`${t.config.redis.prefix}:cs:admin-login-failures:*`)).toEqual([]);
  });
});

describe('the JSON API from the own origin', () => {
  it.each([
    ['text/plain', 'text/plain'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['no content type', undefined],
  ])('answers 415 to %s and changes nothing', async (_name, type) => {
    const before = await deadLetterCounts(queues);
    const res = await send(
      { method: 'POST', path: `/admin/api/dlq/${QUEUES.contacts}/purge`, type, body: '{"olderThan":"0m"}' },
      { origin: 'OWN', 'sec-fetch-site': 'same-origin' },
    );
    expect(res.status).toBe(415);
    expect(await deadLetterCounts(queues)).toEqual(before);
  });

  it('acts on JSON sent from the own origin, as the console does, and on requests without browser headers, as scripts do', async () => {
    const own = await send(
      {
        method: 'POST',
        path: `/admin/api/dlq/${QUEUES.contacts}/purge`,
        type: 'application/json',
        body: '{"olderThan":"0m"}',
      },
      { origin: 'OWN', 'sec-fetch-site': 'same-origin' },
    );
    expect(own.status).toBe(200);
    expect((await own.json()).purged).toHaveLength(3);
    await seedDeadLetters(queues, 2, 'script');
    const script = await send(
      {
        method: 'POST',
        path: `/admin/api/dlq/${QUEUES.contacts}/purge`,
        type: 'application/json',
        body: '{"olderThan":"0m"}',
      },
      {},
    );
    expect(script.status).toBe(200);
    expect((await script.json()).purged).toHaveLength(2);
    const pause = await send(
      { method: 'PUT', path: `/admin/queues/api/queues/${QUEUES.products}/pause` },
      { origin: 'OWN' },
    );
    expect(pause.status).toBe(200);
    expect(await queues.work[QUEUES.products].isPaused()).toBe(true);
    await queues.work[QUEUES.products].resume();
    const search = await send(
      { method: 'POST', path: '/admin', type: 'application/x-www-form-urlencoded', body: 'q=enroll_1' },
      { origin: 'OWN', referer: `${t.base}/admin` },
    );
    expect(search.status).toBe(200);
    // The console's own form under Referrer-Policy: no-referrer: Origin null, Sec-Fetch-Site same-origin.
    const form = await send(
      { method: 'POST', path: '/admin', type: 'application/x-www-form-urlencoded', body: 'q=enroll_1' },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
    );
    expect(form.status).toBe(200);
  });
});

describe('headers of every /admin answer', () => {
  it.each([
    '/admin',
    '/admin/api/dlq',
    '/admin/queues',
    '/admin/queues/api/queues',
    '/admin/api/nothing-here',
    '/admin/assets/admin.css',
  ])('%s: no framing, no sniffing, no referrer', async (path) => {
    const res = await fetch(t.base + path, { headers: { authorization: auth } });
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    if (path.includes('/api/')) expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('are on refusals too (401 without credentials)', async () => {
    const res = await fetch(`${t.base}/admin/api/dlq`);
    expect(res.status).toBe(401);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('the own origin', () => {
  it('is PUBLIC_URL when set (a TLS proxy in front), and the Host then does not count', async () => {
    const s = await startTestService({ DASHBOARD_PASSWORD: PASSWORD, PUBLIC_URL: 'https://sync.example.com' });
    try {
      const purge = (origin: string) =>
        fetch(`${s.base}/admin/api/dlq/${QUEUES.contacts}/purge`, {
          method: 'POST',
          headers: { authorization: auth, origin, 'content-type': 'application/json' },
          body: '{"olderThan":"1d"}',
        });
      expect((await purge('https://sync.example.com')).status).toBe(200);
      expect((await purge(s.base)).status).toBe(403);
    } finally {
      await s.stop();
    }
  });

  it('is taken from X-Forwarded-Host and -Proto with TRUST_PROXY', async () => {
    const s = await startTestService({ DASHBOARD_PASSWORD: PASSWORD, TRUST_PROXY: 'true' });
    try {
      const headers = {
        authorization: auth,
        'content-type': 'application/json',
        'x-forwarded-host': 'ops.example.com',
        'x-forwarded-proto': 'https',
      };
      const purge = (origin: string) =>
        fetch(`${s.base}/admin/api/dlq/${QUEUES.contacts}/purge`, {
          method: 'POST',
          headers: { ...headers, origin },
          body: '{"olderThan":"1d"}',
        });
      expect((await purge('https://ops.example.com')).status).toBe(200);
      expect((await purge(s.base)).status).toBe(403);
    } finally {
      await s.stop();
    }
  });
});
