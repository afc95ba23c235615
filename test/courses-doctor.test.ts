import { afterEach, describe, expect, it } from 'vitest';
import {
  startHubSpotEmulator,
  type HubSpotEmulator,
  type HubSpotEmulatorOptions,
} from '../src/emulators/hubspot/index.ts';
import { COURSE_PROPERTIES } from '../src/hubspot/properties.ts';
import { runCli } from './support/cli.ts';

// `course-sync doctor` and `course-sync hubspot setup` about HubSpot's Courses object, against the emulator.
let em: HubSpotEmulator;
afterEach(async () => em?.close());
const start = async (opts: HubSpotEmulatorOptions) => {
  em = await startHubSpotEmulator(opts);
};
const env = (over: Record<string, string> = {}) => ({
  HUBSPOT_ACCESS_TOKEN: em.token,
  HUBSPOT_BASE_URL: em.url,
  SENDGRID_API_KEY: 'SG.unused',
  SENDGRID_BASE_URL: 'http://127.0.0.1:9',
  ...over,
});

/** The doctor's line for the Courses object, and the fix line under it. */
async function doctorSays(over: Record<string, string> = {}): Promise<{ line: string; fix?: string; code: number }> {
  const res = await runCli(['doctor'], env(over));
  const lines = res.stdout.split('\n');
  const at = lines.findIndex((l) => l.includes('HubSpot Courses object'));
  const fix = lines[at + 1]?.trim().startsWith('fix:') ? lines[at + 1]!.trim() : undefined;
  return { line: lines[at]!.replace(/\s+/g, ' '), fix, code: res.code };
}

describe('doctor', () => {
  it('says the Courses object is active and the token has its scopes', async () => {
    await start({ coursesObject: 'active' });
    const { line } = await doctorSays();
    expect(line).toBe(
      'ok HubSpot Courses object active (0-410), the token has crm.objects.courses.read and crm.objects.courses.write: each course is a course record with its students associated',
    );
  });

  it("under auto with it inactive, says today's behaviour applies and how to activate it (not a problem)", async () => {
    await start({ coursesObject: 'inactive' });
    const { line, fix } = await doctorSays();
    expect(line).toBe(
      "skipped HubSpot Courses object not active in the portal (0-410): today's behaviour applies (contacts with their course list and products, no course records)",
    );
    expect(fix).toBe(
      'fix: to use it, a super admin activates it in HubSpot: Settings → Objects → Courses (course-sync notices within 5 minutes; then run `course-sync hubspot setup`)',
    );
  });

  it('under on with it inactive, is a problem: the service will not start', async () => {
    await start({ coursesObject: 'inactive' });
    const { line, fix } = await doctorSays({ HUBSPOT_COURSES_OBJECT: 'on' });
    expect(line).toMatch(
      /^problem HubSpot Courses object not active in the portal \(0-410\), and HUBSPOT_COURSES_OBJECT=on: course-sync will not start$/,
    );
    expect(fix).toMatch(/Settings → Objects → Courses.*or set HUBSPOT_COURSES_OBJECT=auto/);
  });

  it('names the scopes the token lacks', async () => {
    await start({
      coursesObject: 'active',
      scopes: ['crm.objects.contacts.read', 'crm.objects.contacts.write', 'crm.objects.courses.read'],
    });
    const { line, fix } = await doctorSays();
    expect(line).toBe(
      'problem HubSpot Courses object active (0-410) but the token lacks crm.objects.courses.write: course records are not written',
    );
    expect(fix).toMatch(/give the private app the scopes crm\.objects\.courses\.read and crm\.objects\.courses\.write/);
  });

  it('under off asks HubSpot nothing about it', async () => {
    await start({ coursesObject: 'active' });
    const { line } = await doctorSays({ HUBSPOT_COURSES_OBJECT: 'off' });
    expect(line).toMatch(/^skipped HubSpot Courses object HUBSPOT_COURSES_OBJECT=off: no course records/);
    expect(em.state.requests.filter((r) => r.path.includes('0-410') || r.path.includes('access-token-info'))).toEqual(
      [],
    );
  });
});

describe('hubspot setup', () => {
  it('creates the course record properties when the object is active', async () => {
    await start({ coursesObject: 'active' });
    const res = await runCli(['hubspot', 'setup'], env());
    expect(res.code).toBe(0);
    for (const p of COURSE_PROPERTIES) expect(res.stdout).toContain(`created  courses property ${p.name}`);
    expect(em.state.properties.courses.get('loopwise_course_id')).toMatchObject({
      hasUniqueValue: true,
      groupName: 'loopwise',
    });
  });

  it('says how to activate it when it is not, and sets up the rest (exit 1 only under on)', async () => {
    await start({ coursesObject: 'inactive' });
    const auto = await runCli(['hubspot', 'setup'], env());
    expect(auto.code).toBe(0);
    expect(auto.stdout).toContain(
      'skipped  courses: the Courses object (0-410) is not active in this portal (a super admin activates it in Settings → Objects → Courses, then run this again)',
    );
    expect(auto.stdout).toContain('contacts property loopwise_enrolled_courses');
    const on = await runCli(['hubspot', 'setup'], env({ HUBSPOT_COURSES_OBJECT: 'on' }));
    expect(on.code).toBe(1);
  });
});
