import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic } from './support/admin.ts';
import { startTestService } from './support/receiver.ts';

// /admin/contact-mapping: the mapping in use and the contact the seed enrollment would produce
// under it, every value escaped.
const dir = mkdtempSync(join(tmpdir(), 'mapping-page-'));
const path = join(dir, 'marketing.json');
let t: Awaited<ReturnType<typeof startTestService>>;

beforeAll(async () => {
  writeFileSync(
    path,
    JSON.stringify(
      {
        properties: {
          email: 'user.email',
          firstname: 'user.first_name',
          school_course_name: 'course.name',
          hs_lead_source: { value: '<b onmouseover="x()">Loopwise</b>' },
        },
      },
      null,
      2,
    ),
  );
  t = await startTestService({ DASHBOARD_PASSWORD: 'pw', HUBSPOT_CONTACT_MAPPING: path });
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("shows the mapping and the seed enrollment's contact under it, escaped", async () => {
  const res = await fetch(`${t.base}/admin/contact-mapping`, { headers: { authorization: basic('admin', 'pw') } });
  expect(res.status).toBe(200);
  const html = await res.text();
  expect(html).toContain(path);
  expect(html).toContain('<td>school_course_name</td><td>course.name</td><td>5</td>');
  expect(html).toContain('<td>school_course_name</td><td>Introduction to Programming</td>');
  expect(html).toContain('<td>firstname</td><td>Sample</td>');
  expect(html).toContain('<td>loopwise_enrolled_courses</td><td>course_789012</td>');
  expect(html).toContain('&lt;b onmouseover=&quot;x()&quot;&gt;Loopwise&lt;/b&gt;');
  expect(html).not.toContain('<b onmouseover');
  expect(html).not.toContain('<td>phone</td>');
});

it('is behind the admin sign-in', async () => {
  expect((await fetch(`${t.base}/admin/contact-mapping`)).status).toBe(401);
});
