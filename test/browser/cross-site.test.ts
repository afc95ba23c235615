import { createServer, type Server } from 'node:http';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/queues/names.ts';
import { openQueues, type QueueSet } from '../../src/queues/registry.ts';
import { deadLetterCounts, seedDeadLetters } from '../support/admin.ts';
import { hasChromium, launchChromium } from '../support/browser.ts';
import { startTestService } from '../support/receiver.ts';

// A real browser holds the operator's credentials for the console; a page on another origin then
// makes it submit a form and send a fetch to the admin API. Nothing may change.
describe.skipIf(!hasChromium)('the console against a page from another origin, in Chromium', () => {
  let t: Awaited<ReturnType<typeof startTestService>>;
  let queues: QueueSet;
  let attacker: Server;
  let attackerPort: number;
  const browsers: { close(): Promise<void> }[] = [];

  /** The other site's page: a text/plain form posting JSON to purge, and a no-cors fetch to replay and to pause bull-board's queue. */
  const evilPage = (base: string) => `<!doctype html><html><body>
<form id="f" method="post" enctype="text/plain" action="${base}/admin/api/dlq/${QUEUES.contacts}/purge"><input name='{"olderThan":"0m","x":"' value='"}'></form>
<script>
fetch('${base}/admin/api/dlq/${QUEUES.contacts}/replay', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"all":true}' })
  .finally(() => fetch('${base}/admin/queues/api/queues/${QUEUES.contacts}/pause', { method: 'PUT', mode: 'no-cors', credentials: 'include' }).catch(() => {}))
  .finally(() => { document.title = 'fetched'; document.getElementById('f').submit(); });
</script></body></html>`;

  async function operatorBrowser(): Promise<BrowserContext> {
    const b = await launchChromium({ httpCredentials: { username: 'ops', password: 'operator-pw' } });
    browsers.push(b);
    return b.context;
  }

  beforeAll(async () => {
    t = await startTestService({
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 'operator-pw',
      DASHBOARD_VIEWER_USER: 'viewer',
      DASHBOARD_VIEWER_PASSWORD: 'viewer-pw',
    });
    queues = openQueues(t.redis, t.config);
    await seedDeadLetters(queues, 4, 'browser-csrf');
    attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(evilPage(t.base)));
    await new Promise<void>((ok) => attacker.listen(0, '127.0.0.1', ok));
    attackerPort = (attacker.address() as { port: number }).port;
  }, 60_000);
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await new Promise((ok) => attacker?.close(ok));
    await queues?.close();
    await t?.stop();
  });

  it.each([
    ['another port of the same host (same-site)', () => `http://127.0.0.1:${attackerPort}/`],
    ['another host name (cross-site)', () => `http://localhost:${attackerPort}/`],
  ])('a page on %s submits a form and fetches while the browser is signed in: nothing changes', async (_name, url) => {
    const context = await operatorBrowser();
    const page = await context.newPage();
    // Signed in: the browser now holds the operator's credentials for the console's origin.
    expect((await page.goto(`${t.base}/admin`))!.status()).toBe(200);
    const before = await deadLetterCounts(queues);
    const refused: number[] = [];
    page.on(
      'response',
      (r) => r.url().startsWith(`${t.base}/admin/`) && r.request().method() !== 'GET' && refused.push(r.status()),
    );
    await page.goto(url());
    await page.waitForURL(`${t.base}/admin/api/dlq/${QUEUES.contacts}/purge`);
    expect(await page.textContent('body')).toContain('Cross-site request refused');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.every((s) => s === 403)).toBe(true);
    expect(await deadLetterCounts(queues)).toEqual(before);
    expect(before[QUEUES.contacts]).toBe(4);
    expect(await queues.work[QUEUES.contacts].isPaused()).toBe(false);
  });

  it('a viewer sees no action controls in bull-board, and the console says who is signed in', async () => {
    const b = await launchChromium({ httpCredentials: { username: 'viewer', password: 'viewer-pw' } });
    browsers.push(b);
    const page = await b.context.newPage();
    await page.goto(`${t.base}/admin/queues/queue/${QUEUES.contacts}-dlq`);
    await page.getByText('browser-csrf', { exact: false }).first().waitFor();
    for (const name of ['Retry all', 'Clean all', 'Promote all', 'Pause'])
      expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    await page.goto(`${t.base}/admin`);
    expect(await page.textContent('#who')).toContain('viewer (viewer)');
    expect(await page.locator('button:not([type=submit]), form[action*="replay"], form[action*="purge"]').count()).toBe(
      0,
    );
  });
});
