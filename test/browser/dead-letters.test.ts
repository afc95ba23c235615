import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { seedDeadLetters } from '../support/admin.ts';
import { hasChromium, launchChromium } from '../support/browser.ts';
import { startTestService } from '../support/receiver.ts';

const root = join(import.meta.dirname, '..', '..');
/** The README screenshot is rewritten only when missing or asked for, so test runs leave the tree clean. */
const shot = (name: string) =>
  !existsSync(join(root, 'docs', name)) || process.env.UPDATE_SCREENSHOTS === '1'
    ? join(root, 'docs', name)
    : join(root, 'test-results', name);

describe.skipIf(!hasChromium)('the dead letters page in Chromium', () => {
  let t: Awaited<ReturnType<typeof startTestService>>;
  let queues: QueueSet;
  const browsers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    t = await startTestService({
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 'pw-op',
      DASHBOARD_VIEWER_USER: 'viewer',
      DASHBOARD_VIEWER_PASSWORD: 'pw-view',
    });
    queues = openQueues(t.redis, t.config);
    await seedDeadLetters(
      queues,
      12,
      'outage',
      QUEUES.contacts,
      'contacts.upsert: HubSpot 503 INTERNAL_ERROR: internal error',
    );
    await seedDeadLetters(
      queues,
      3,
      'blocked',
      QUEUES.contacts,
      'HubSpot 207 VALIDATION_ERROR: Email address x@blocked.example is invalid',
    );
    await seedDeadLetters(
      queues,
      2,
      'sg',
      QUEUES.email,
      'SendGrid 400: Does not contain a valid address. (personalizations.0.to.0.email)',
    );
  }, 60_000);
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await queues?.close();
    await t?.stop();
  });

  it('as operator: sees the groups, replays one and watches its count go to zero', async () => {
    const b = await launchChromium({ httpCredentials: { username: 'ops', password: 'pw-op' } });
    browsers.push(b);
    const page = await b.context.newPage();
    expect((await page.goto(`${t.base}/admin/dead-letters`))!.status()).toBe(200);
    const outage = page.locator('article.group', { hasText: 'HubSpot 503 INTERNAL_ERROR' });
    expect(await outage.locator('[data-count]').textContent()).toBe('12');
    expect(await page.locator('article.group').count()).toBe(3);
    mkdirSync(dirname(shot('dead-letters.png')), { recursive: true });
    await page.screenshot({ path: shot('dead-letters.png'), fullPage: true });

    let asked = '';
    page.once('dialog', (d) => ((asked = d.message()), void d.accept()));
    await outage.getByRole('button', { name: 'Replay group' }).click();
    await expect.poll(() => outage.locator('[data-count]').textContent(), { timeout: 10_000 }).toBe('0');
    expect(asked).toContain('Replay the 12 dead letter(s) of crm-contacts');
    expect(await page.locator('#result').textContent()).toContain('replayed 12');
    expect(await queues.deadLetter[QUEUES.contacts].count()).toBe(3);
    expect(await queues.work[QUEUES.contacts].getWaitingCount()).toBe(12);
    // The other groups are untouched.
    expect(await page.locator('article.group', { hasText: 'SendGrid 400' }).locator('[data-count]').textContent()).toBe(
      '2',
    );
  });

  it('as viewer: the same page, without the buttons', async () => {
    const b = await launchChromium({ httpCredentials: { username: 'viewer', password: 'pw-view' } });
    browsers.push(b);
    const page = await b.context.newPage();
    await page.goto(`${t.base}/admin/dead-letters`);
    await page.locator('article.group').first().waitFor();
    expect(await page.locator('article.group').count()).toBeGreaterThan(0);
    expect(await page.getByRole('button').count()).toBe(0);
  });
});
