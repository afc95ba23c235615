import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { fixture } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

// `npm start` with no credentials: receiver, workers and both emulators in one process.
let t: Awaited<ReturnType<typeof startTestService>>;
const auth = { authorization: 'Basic ' + Buffer.from('admin:sandbox-pass').toString('base64') };

beforeAll(async () => {
  t = await startTestService({ DASHBOARD_PASSWORD: 'sandbox-pass', HUBSPOT_BATCH_WAIT_MS: '20' }, 'all');
});
afterAll(async () => t.stop());

async function sandboxPage(): Promise<string> {
  const res = await fetch(`${t.base}/admin/sandbox`, { headers: auth });
  expect(res.status).toBe(200);
  return res.text();
}

it('runs in sandbox mode: a signed enrollment becomes an emulated HubSpot contact and one welcome email', async () => {
  expect(t.config.sandbox).toBe(true);
  const body = fixture('course.student_enroll');
  body.data.user.name = 'Sandbox <b>Student</b>';
  const res = await t.post(body);
  expect(res.status).toBe(202);

  // The welcome email's status may reach the contact before the contacts worker writes it:
  // wait for the contact with its course.
  const page = await vi.waitFor(
    async () => {
      const page = await sandboxPage();
      expect(page).toMatch(/HubSpot contacts \(1\)/);
      expect(page).toMatch(/SendGrid e-mails \(1\)/);
      expect(page).toContain('course_789012');
      return page;
    },
    { timeout: 20_000, interval: 100 },
  );
  // Student-supplied text is escaped on the page.
  expect(page).not.toContain('<b>Student</b>');
  // In the console's frame (its navigation), saying plainly that the emulators start empty and how to send a new event.
  expect(page).toMatch(
    /<header><h1>course-sync<\/h1><a href="\/admin">Overview<\/a>.*<a href="\/admin\/sandbox">Sandbox<\/a>/,
  );
  expect(page).toContain('each start of course-sync begins them empty');
  expect(page).toContain('course-sync emit course.student_enroll --id enroll_2');

  await t.post(fixture('course.created'));
  await vi.waitFor(async () => expect(await sandboxPage()).toContain('Introduction to Programming – Basic Plan'), {
    timeout: 20_000,
    interval: 100,
  });
  // The products' many properties scroll inside their box, which says so.
  expect(await sandboxPage()).toMatch(
    /<h2>HubSpot products \(2\)<\/h2><p class="meta">\d+ properties: scroll sideways to see them all<\/p><div class="scroll">/,
  );
});

it('shows the course records, the students associated with them and the contact mapping', async () => {
  const snapshot = async () => (await fetch(`${t.base}/admin/sandbox?format=json`, { headers: auth })).json();
  await vi.waitFor(
    async () => {
      const s = await snapshot();
      expect(s.courses.map((c: any) => c.properties.loopwise_course_id)).toEqual(
        expect.arrayContaining(['course_789012', '550e8400-e29b-41d4-a716-446655440000']),
      );
      expect(s.associations).toContainEqual(
        expect.objectContaining({ contactEmail: 'student@example.com', courseName: 'Introduction to Programming' }),
      );
    },
    { timeout: 20_000, interval: 100 },
  );
  const page = await sandboxPage();
  expect(page).toMatch(/HubSpot course records \(Courses object\) \(\d+\)/);
  expect(page).toMatch(/HubSpot contacts associated with course records \(\d+\)/);
  expect(page).toContain('The contact the seed enrollment would produce');
});

it('keeps the sandbox page behind the admin password', async () => {
  expect((await fetch(`${t.base}/admin/sandbox`)).status).toBe(401);
});

it('closes the loop: the SendGrid emulator posts signed delivery events, which reach the trace and the HubSpot contact', async () => {
  const body = fixture('course.student_enroll');
  body.data.id = 'enroll_sandbox_events';
  body.data.user.email = 'events@bounce.example.com';
  expect((await t.post(body)).status).toBe(202);
  const journey = async () =>
    (await (await fetch(`${t.base}/admin/api/events?q=enroll_sandbox_events`, { headers: auth })).json()).journeys[0];
  await vi.waitFor(
    async () =>
      expect((await journey()).steps.map((s: any) => s.event).filter(Boolean)).toEqual(
        expect.arrayContaining(['processed', 'bounce']),
      ),
    { timeout: 20_000, interval: 200 },
  );
  const bounce = (await journey()).steps.find((s: any) => s.event === 'bounce');
  expect(bounce).toMatchObject({ kind: 'email', emailStatus: 'bounced', reason: expect.stringContaining('550') });
  const contactStatus = async () =>
    (await (await fetch(`${t.base}/admin/sandbox?format=json`, { headers: auth })).json()).contacts.find(
      (c: any) => c.properties.email === 'events@bounce.example.com',
    )?.properties.loopwise_welcome_email_status;
  await vi.waitFor(async () => expect(await contactStatus()).toBe('bounced'), { timeout: 20_000, interval: 200 });
});
