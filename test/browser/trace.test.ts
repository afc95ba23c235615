import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../../src/emulators/sendgrid/index.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { fixture, SETTLE } from '../support/env.ts';
import { startTestService } from '../support/receiver.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`SKIPPED the trace browser test: ${CHROMIUM} not found (Debian: apt-get install -y chromium)`);

const EMAIL = 'student@example.com';
const root = join(import.meta.dirname, '..', '..');
/** README screenshots are rewritten only when missing or asked for (UPDATE_SCREENSHOTS=1), so runs leave the tree clean. */
const shot = (name: string) =>
  !existsSync(join(root, 'docs', name)) || process.env.UPDATE_SCREENSHOTS === '1'
    ? join(root, 'docs', name)
    : join(root, 'test-results', name);

describe.skipIf(!hasChromium)('the /admin page in a browser', () => {
  let hubspot: HubSpotEmulator;
  let sendgrid: SendGridEmulator;
  let t: Awaited<ReturnType<typeof startTestService>>;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    hubspot = await startHubSpotEmulator();
    sendgrid = await startSendGridEmulator();
    t = await startTestService(
      {
        HUBSPOT_BASE_URL: hubspot.url,
        HUBSPOT_ACCESS_TOKEN: hubspot.token,
        SENDGRID_BASE_URL: sendgrid.url,
        SENDGRID_API_KEY: sendgrid.apiKey,
        HUBSPOT_BATCH_WAIT_MS: '20',
        DASHBOARD_USER: 'ops',
        DASHBOARD_PASSWORD: 'browser-test',
        JOB_ATTEMPTS: '2',
        JOB_BACKOFF_MS: '10',
      },
      'all',
    );
    // Some traffic for the overview: one enrollment whose email SendGrid refuses (a dead letter),
    // then the seed enrollment and course.
    const auth = { authorization: 'Basic ' + Buffer.from('ops:browser-test').toString('base64') };
    sendgrid.failNext(1, 400);
    const refused = fixture('course.student_enroll');
    refused.data.id = 'enroll_browser_refused';
    refused.data.user.email = 'refused@example.com';
    expect((await t.post(refused)).status).toBe(202);
    await vi.waitFor(
      async () =>
        expect(await t.redis.exists(`${t.config.redis.prefix}:${QUEUES.email}-dlq:enroll-enroll_browser_refused`)).toBe(
          1,
        ),
      { ...SETTLE, timeout: 25_000 },
    );
    expect((await t.post(fixture('course.student_enroll'))).status).toBe(202);
    expect((await t.post(fixture('course.created'))).status).toBe(202);
    await vi.waitFor(
      async () => {
        const res = await fetch(`${t.base}/admin/api/events?q=enroll_123456`, { headers: auth });
        const [j] = (await res.json()).journeys;
        expect(j?.now.map((p: { state: string }) => p.state)).toEqual(['done', 'done']);
      },
      { ...SETTLE, timeout: 25_000 },
    );

    profile = mkdtempSync(join(tmpdir(), 'course-sync-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      httpCredentials: { username: 'ops', password: 'browser-test' },
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await t?.stop();
    await hubspot?.close();
    await sendgrid?.close();
  });

  it('shows the overview of every queue and refreshes it from JSON', async () => {
    const page = await context.newPage();
    const res = await page.goto(`${t.base}/admin`);
    expect(res!.status()).toBe(200);
    for (const name of ['crm-contacts', 'email-welcome', 'crm-products'])
      await page.getByRole('link', { name, exact: true }).waitFor();
    expect(await page.locator('[data-cell="email-welcome.deadLetters"]').textContent()).toBe('1');
    const refreshed = await page.waitForResponse((r) => r.url().endsWith('/admin/api/overview') && r.status() === 200, {
      timeout: 20_000,
    });
    expect((await refreshed.json()).cells['email-welcome.deadLetters']).toBe('1');
    mkdirSync(dirname(shot('overview.png')), { recursive: true });
    await page.screenshot({ path: shot('overview.png'), fullPage: true });
    await page.close();
  });

  it('finds the seed e-mail and shows its journey with the ids, on a phone-sized screen', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 412, height: 915 });
    await page.goto(`${t.base}/admin`);
    await page.getByRole('searchbox').fill(EMAIL);
    await page.getByRole('button', { name: 'Find' }).click();
    const journey = page.locator('article.journey[data-key="enroll-enroll_123456"]');
    await journey.waitFor();
    expect(page.url()).toBe(`${t.base}/admin`); // POSTed: the address is not in the URL

    const contact = [...hubspot.state.objects.contacts.values()].find((c) => c.properties.email === EMAIL)!;
    const [email] = sendgrid.outbox.to(EMAIL);
    const text = (await journey.textContent())!.replace(/\s+/g, ' ');
    expect(text).toContain('crm-contacts: done');
    expect(text).toContain('email-welcome: done');
    expect(text).toContain(`HubSpot contact ${contact.id}`);
    expect(text).toContain(`SendGrid message ${email!.messageId}`);
    expect(await page.content()).not.toContain(EMAIL);
    // Readable on a phone: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: shot('trace.png') });

    // Each job links to its bull-board page.
    await journey.getByRole('link', { name: 'crm-contacts: done' }).click();
    await page.waitForURL(`${t.base}/admin/queues/queue/crm-contacts/enroll-enroll_123456`);
    await page.getByText('enroll-enroll_123456').first().waitFor();
    await page.close();
  });
});
