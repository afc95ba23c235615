import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAge, formatRate, formatShare } from '../src/admin/overview-cells.ts';
import { apiFigures } from '../src/stats/overview.ts';
import { fixture } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

const PASSWORD = 'overview-test-password';
const auth = { authorization: 'Basic ' + Buffer.from(`admin:${PASSWORD}`).toString('base64') };
let t: Awaited<ReturnType<typeof startTestService>>;

const get = (path: string, headers: Record<string, string> = auth) => fetch(`${t.base}${path}`, { headers });

beforeAll(async () => {
  t = await startTestService({ DASHBOARD_PASSWORD: PASSWORD });
  expect((await t.post(fixture('course.student_enroll'))).status).toBe(202);
});
afterAll(async () => t.stop());

describe('formatting (pure)', () => {
  it.each([
    [null, '—'],
    [0, '0 s'],
    [119, '119 s'],
    [120, '2 min'],
    [7199, '120 min'],
    [7200, '2.0 h'],
    [200_000, '2.3 d'],
  ])('age %s → %s', (s, text) => expect(formatAge(s)).toBe(text));

  it.each([
    [0, '0'],
    [1 / 60, '0.017'],
    [2.25, '2.3'],
    [42.4, '42'],
  ])('rate %s → %s', (r, text) => expect(formatRate(r)).toBe(text));

  it.each([
    [null, '—'],
    [0, '0 %'],
    [0.0123, '1.2 %'],
    [0.5, '50 %'],
  ])('share %s → %s', (s, text) => expect(formatShare(s)).toBe(text));

  it('sums API calls per status family', () => {
    const totals = {
      'hubspot:200': 10,
      'hubspot:207': 2,
      'hubspot:429': 3,
      'hubspot:401': 1,
      'hubspot:403': 1,
      'hubspot:502': 2,
      'sendgrid:202': 7,
    };
    expect(apiFigures(totals, 'hubspot')).toEqual({ calls: 19, rateLimited: 3, authErrors: 2, serverErrors: 2 });
    expect(apiFigures(totals, 'sendgrid')).toEqual({ calls: 7, rateLimited: 0, authErrors: 0, serverErrors: 0 });
  });
});

describe('/admin overview page', () => {
  it('is behind the admin password', async () => {
    for (const path of ['/admin', '/admin/api/overview', '/admin/api/events?q=enroll_123456']) {
      expect((await get(path, {})).status).toBe(401);
    }
    const res = await fetch(`${t.base}/admin`, {
      method: 'POST',
      body: 'q=enroll_123456',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(401);
  });

  it('shows every queue with its figures, a search box, and refreshes from JSON with no inline script', async () => {
    const res = await get('/admin');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).toContain('<script src="/admin/assets/overview.js"></script>');
    expect(html).not.toMatch(/<script(?! src=)|<style|style="/);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('<form method="post" action="/admin" role="search">');
    for (const q of ['crm-contacts', 'email-welcome', 'crm-products']) {
      expect(html).toContain(`<a href="/admin/queues/queue/${q}">${q}</a>`);
      expect(html).toContain(`<a href="/admin/dead-letters#${q}">dead letters</a>`);
    }
    expect(html).toContain('<span data-cell="crm-contacts.waiting">1</span>');
    expect(html).toContain('<span data-cell="crm-products.waiting">0</span>');
    const script = await get('/admin/assets/overview.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("fetch('/admin/api/overview'");
  });

  it('answers the figures as JSON with the same formatted cells', async () => {
    const res = await get('/admin/api/overview');
    expect(res.status).toBe(200);
    const o = await res.json();
    expect(o.queues.map((q: any) => [q.name, q.counts.waiting, q.deadLetters])).toEqual([
      ['crm-contacts', 1, 0],
      ['email-welcome', 1, 0],
      ['crm-products', 0, 0],
      ['email-events', 0, 0],
    ]);
    expect(o.queues[0].oldestWaitingSeconds).toBeGreaterThanOrEqual(0);
    expect(o.apis.map((a: any) => a.api)).toEqual(['hubspot', 'sendgrid']);
    expect(o.cells['crm-contacts.waiting']).toBe('1');
    expect(o.cells['email-welcome.failureHour']).toBe('—');
    expect(o.alerts).toEqual([]);
  });

  it('searches by e-mail through the form and shows the journey without the address in clear', async () => {
    const res = await fetch(`${t.base}/admin`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ q: 'student@example.com' }).toString(),
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('1 event matches s***@example.com');
    expect(html).toContain('<article class="journey" data-key="enroll-enroll_123456">');
    expect(html).toContain(
      '<a href="/admin/queues/queue/crm-contacts/enroll-enroll_123456">crm-contacts: <b>waiting</b></a>',
    );
    expect(html).not.toContain('student@example.com');
  });

  it('says so when nothing matches', async () => {
    const html = await (await get('/admin?q=enroll_nobody')).text();
    expect(html).toContain('No event matches enroll_nobody');
  });
});

describe('GET /admin/api/events', () => {
  it('returns the journeys matching q', async () => {
    const res = await get('/admin/api/events?q=enroll_123456');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ query: 'enroll_123456', count: 1 });
    expect(body.journeys[0]).toMatchObject({
      key: 'enroll-enroll_123456',
      header: { studentEmail: 's***@example.com' },
    });
    expect(body.journeys[0].now.map((p: any) => p.state)).toEqual(['waiting', 'waiting']);
  });

  it('masks an e-mail query in the answer and refuses a missing q', async () => {
    const byEmail = await (await get('/admin/api/events?q=STUDENT%40example.com')).json();
    expect(byEmail).toMatchObject({ query: 'S***@example.com', count: 1 });
    expect(JSON.stringify(byEmail)).not.toMatch(/student@example\.com/i);
    const missing = await get('/admin/api/events');
    expect(missing.status).toBe(400);
  });
});

describe('/metrics', () => {
  it('carries the gauges the Prometheus alerting rules use', async () => {
    const text = await (await fetch(`${t.base}/metrics`)).text();
    expect(text).toMatch(/^course_sync_redis_up 1$/m);
    expect(text).toMatch(/^course_sync_queue_oldest_waiting_seconds\{queue="crm-contacts"\} \d/m);
    expect(text).toMatch(/^course_sync_queue_oldest_waiting_seconds\{queue="crm-products"\} 0$/m);
    expect(text).toMatch(/^course_sync_api_auth_errors_recent\{api="hubspot"\} 0$/m);
    expect(text).toContain('# TYPE course_sync_worker_last_seen_timestamp_seconds gauge');
  });
});
