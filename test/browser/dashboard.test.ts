import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/queues/names.ts';
import { deadLetterRig, enrollmentJob } from '../support/dead-letters.ts';
import { startTestService } from '../support/receiver.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`SKIPPED the dashboard browser test: ${CHROMIUM} not found (Debian: apt-get install -y chromium)`);

const root = join(import.meta.dirname, '..', '..');
/** The README screenshot is rewritten only when missing or asked for, so test runs leave the tree clean. */
const screenshotPath =
  !existsSync(join(root, 'docs', 'dashboard.png')) || process.env.UPDATE_SCREENSHOTS === '1'
    ? join(root, 'docs', 'dashboard.png')
    : join(root, 'test-results', 'dashboard.png');

describe.skipIf(!hasChromium)('bull-board in a browser', () => {
  let t: Awaited<ReturnType<typeof startTestService>>;
  let rig: ReturnType<typeof deadLetterRig>;
  let context: BrowserContext;
  let profile: string;
  let failedIds: string[];

  beforeAll(async () => {
    t = await startTestService({
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 'browser-test',
      JOB_ATTEMPTS: '2',
      JOB_BACKOFF_MS: '10',
    });
    rig = deadLetterRig(t.config, t.service.redisUrl);
    failedIds = await rig.kill(QUEUES.contacts, ['enroll_browser_1', 'enroll_browser_2'], 'HubSpot answered 502');
    await rig.queues.work[QUEUES.email].addBulk(
      ['enroll_browser_1', 'enroll_browser_2', 'enroll_browser_3'].map((id) => ({
        name: 'course.student_enroll',
        data: enrollmentJob(id),
        opts: { jobId: `enroll-${id}` },
      })),
    );
    profile = mkdtempSync(join(tmpdir(), 'course-sync-chromium-'));
    // A new, empty profile directory for this run.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      httpCredentials: { username: 'ops', password: 'browser-test' },
      viewport: { width: 1280, height: 800 },
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
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await rig?.stop();
    await t?.stop();
  });

  it('is refused without credentials', async () => {
    expect((await fetch(`${t.base}/admin/queues`)).status).toBe(401);
  });

  it('logs in and shows every work queue and dead-letter queue', async () => {
    const page = await context.newPage();
    const res = await page.goto(`${t.base}/admin/queues`);
    expect(res!.status()).toBe(200);
    const nav = page.locator('a[href^="/admin/queues/queue/"]');
    await nav.first().waitFor();
    const names = new Set((await nav.allTextContents()).map((s) => s.trim()));
    for (const name of [
      'crm-contacts',
      'email-welcome',
      'crm-products',
      'crm-contacts-dlq',
      'email-welcome-dlq',
      'crm-products-dlq',
    ]) {
      expect(names, name).toContain(name);
    }
    await page.getByText('FAILED', { exact: false }).first().waitFor();
    mkdirSync(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath });
    await page.close();
  });

  it('opens a failed job, sees its error and retries it', async () => {
    const [id] = failedIds;
    const page = await context.newPage();
    await page.goto(`${t.base}/admin/queues/queue/crm-contacts?status=failed`);
    await page.click(`a[href="/admin/queues/queue/crm-contacts/${id}?status=failed"]`);
    // The job page, not the list (whose "Retry all" uses the same icon): wait until the list is gone.
    await page.waitForURL(`**/admin/queues/queue/crm-contacts/${id}?status=failed`);
    await page.getByRole('button', { name: 'Retry all' }).waitFor({ state: 'detached' });
    await page.getByText('HubSpot answered 502 #2').first().waitFor();
    const retry = page.locator('button:has(svg.lucide-refresh-cw)');
    expect(await retry.count()).toBe(1);

    await retry.click();
    await page.getByText('Are you sure that you want to retry this job?').waitFor();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => rig.queues.work[QUEUES.contacts].getJobState(id!), { timeout: 10_000 }).toBe('waiting');
    // Only that job left the failed state.
    expect(await rig.queues.work[QUEUES.contacts].getJobState(failedIds[1]!)).toBe('failed');
    await page.close();
  });
});
