import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Page } from 'playwright-core';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { seedDeadLetters } from '../support/admin.ts';
import { hasChromium, launchChromium } from '../support/browser.ts';
import { fixture, SETTLE } from '../support/env.ts';
import { startTestService } from '../support/receiver.ts';

// What a newcomer sees first, in a real browser: every page of the console in sandbox mode, with
// hostile text in a student's name, a dead letter's error and a quarantined delivery. No page may
// log an error in the browser console (CSP refusals, a missing icon, a failed script), run a
// script from the data, or fail a request of its own.
const HOSTILE = `<img src=x onerror="alert('xss')"><script>alert("xss")</script>'"`;

describe.skipIf(!hasChromium)('every console page in Chromium, with a hostile record', () => {
  let t: Awaited<ReturnType<typeof startTestService>>;
  let queues: QueueSet;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  const auth = { authorization: 'Basic ' + Buffer.from('ops:pw-console').toString('base64') };

  beforeAll(async () => {
    // No HubSpot or SendGrid credentials: sandbox mode, as `npm start` runs the first time.
    t = await startTestService(
      { DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'pw-console', HUBSPOT_BATCH_WAIT_MS: '20' },
      'all',
    );
    queues = openQueues(t.redis, t.config);
    const enroll = fixture('course.student_enroll');
    enroll.data.id = 'enroll_hostile';
    enroll.data.user.name = HOSTILE;
    expect((await t.post(enroll)).status).toBe(202);
    const broken = fixture('course.student_enroll');
    broken.data.id = HOSTILE;
    delete broken.data.user;
    expect((await t.post(broken)).status).toBe(422);
    await seedDeadLetters(queues, 1, 'hostile', QUEUES.contacts, `HubSpot 400: ${HOSTILE}`);
    await vi.waitFor(
      async () => {
        const sandbox = await (await fetch(`${t.base}/admin/sandbox?format=json`, { headers: auth })).json();
        expect(sandbox.contacts.length).toBe(1);
        expect(sandbox.emails.length).toBe(1);
      },
      { ...SETTLE, timeout: 25_000 },
    );
    browser = await launchChromium({ httpCredentials: { username: 'ops', password: 'pw-console' } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await queues?.close();
    await t?.stop();
  });

  /** Opens `path` and reports every console error, page error, dialog and failed request of its own origin. */
  async function problemsOf(path: string, ready: (page: Page) => Promise<unknown>): Promise<string[]> {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('response', (r) => void (r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`)));
    const res = await page.goto(`${t.base}${path}`);
    expect(res!.status(), path).toBe(200);
    await ready(page);
    await page.waitForLoadState('networkidle');
    await page.close();
    return problems;
  }

  it.each([
    ['/admin', (p: Page) => p.locator('#who').waitFor()],
    ['/admin?q=enroll_hostile', (p: Page) => p.locator('.journey').first().waitFor()],
    ['/admin/dead-letters', (p: Page) => p.locator('article.group').first().waitFor()],
    ['/admin/quarantine', (p: Page) => p.locator('main').waitFor()],
    ['/admin/sandbox', (p: Page) => p.locator('iframe').first().waitFor()],
    ['/admin/queues', (p: Page) => p.locator('a[href^="/admin/queues/queue/"]').first().waitFor()],
    ['/admin/queues/queue/crm-contacts-dlq', (p: Page) => p.getByText('hostile', { exact: false }).first().waitFor()],
  ])('%s shows no error in the browser console', async (path, ready) => {
    expect(await problemsOf(path, ready)).toEqual([]);
  });

  it('shows the hostile name as text, never as markup', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${t.base}/admin/sandbox`);
    expect(await page.locator('main').innerText()).toContain(HOSTILE);
    expect(await page.locator('main img[src="x"], main script').count()).toBe(0);
    await page.close();
  });
});
