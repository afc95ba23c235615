import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import type { Enrollment } from '../src/events/types.ts';
import { createHubSpotCall } from '../src/hubspot/call.ts';
import { ContactCourses } from '../src/hubspot/contact-courses.ts';
import { compileContactMapping } from '../src/hubspot/contact-mapping-apply.ts';
import { writeEmailStatuses } from '../src/hubspot/email-status-write.ts';
import { setupOnce } from '../src/hubspot/setup.ts';
import {
  lastEnrollmentProperties,
  mapEnrollment,
  mergeByEmail,
  type MappedContact,
} from '../src/hubspot/contact-mapping.ts';
import { ENROLLED_COURSES } from '../src/hubspot/properties.ts';
import { runCli } from './support/cli.ts';
import { fixture, testConfig } from './support/env.ts';
import { contactsRig, enrollment, type ContactsRig } from './support/hubspot.ts';

const dir = mkdtempSync(join(tmpdir(), 'contact-mapping-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a mapping file and returns its path. */
function mappingFile(name: string, properties: Record<string, string | { value: string }>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ properties }, null, 2));
  return path;
}

/** Marketing's mapping: today's, plus a lead source, the course name in the school's own property, and no phone. */
const MARKETING = {
  email: 'user.email',
  firstname: 'user.first_name',
  lastname: 'user.last_name',
  loopwise_user_id: 'user.id',
  loopwise_last_course_id: 'course.id',
  school_course_name: 'course.name',
  loopwise_last_enrolled_at: 'enrollment.created_at',
  hs_lead_source: { value: 'Loopwise' },
};

describe('the default mapping file writes byte for byte what the built-in mapping wrote', () => {
  const TW = { phoneRegion: 'TW' };
  const seed = () => fixture('course.student_enroll').data as Enrollment;
  const e = (user: Partial<Enrollment['user']> = {}, over: Partial<Enrollment> = {}): Enrollment => ({
    ...seed(),
    ...over,
    user: { ...seed().user, ...user },
  });
  const defaults = compileContactMapping(testConfig().hubspot.contactMapping);

  it.each([
    ['the seed enrollment', e()],
    ['a name without a space', e({ name: '王小明' })],
    ['no name', e({ name: null })],
    ['a national phone number', e({ phone_number: '0912 345 678' })],
    ['a phone that is not a number', e({ phone_number: 'call me maybe' })],
    ['no phone', e({ phone_number: undefined })],
    ['an offset timestamp', e({}, { created_at: '2023-12-04T18:45:44+08:00' })],
    ['no course name', e({}, { course: { id: 'c-x', name: '' } })],
    ['a padded, upper-case address', e({ email: '  Student@Example.COM ' })],
  ])('%s', (_what, enrollment) => {
    const m = mapEnrollment(enrollment, TW) as Extract<MappedContact, { ok: true }>;
    expect(mapEnrollment(enrollment, { ...TW, extraSources: defaults.extraSources })).toEqual(m);
    const [d] = mergeByEmail([m]);
    // The contacts sync's first write of a contact, and a re-write of its course properties (contacts-sync.ts writeRound).
    const first = {
      ...d!.properties,
      email: d!.email,
      [ENROLLED_COURSES]: [...d!.courses.keys()].join(';'),
      ...lastEnrollmentProperties(d!.last),
    };
    const rewrite = { email: d!.email, [ENROLLED_COURSES]: 'a;b', ...lastEnrollmentProperties(d!.last) };
    for (const props of [first, rewrite, m.input.properties])
      expect(JSON.stringify(defaults.toHubSpot(props))).toBe(JSON.stringify(props));
  });
});

describe('a contact mapping marketing controls, against the emulator', () => {
  let rig: ContactsRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  async function portalWithMarketingProperties(r: ContactsRig): Promise<void> {
    await r.hubspot.crm.properties.coreApi.create('contacts', {
      name: 'school_course_name',
      label: 'School course',
      type: 'string' as any,
      fieldType: 'text' as any,
      groupName: 'contactinformation',
    });
    await r.hubspot.crm.properties.coreApi.create('contacts', {
      name: 'hs_lead_source',
      label: 'Lead source',
      type: 'enumeration' as any,
      fieldType: 'select' as any,
      groupName: 'contactinformation',
      options: [
        { label: 'Loopwise', value: 'Loopwise', displayOrder: 0, hidden: false },
        { label: 'Referral', value: 'Referral', displayOrder: 1, hidden: false },
      ],
    });
  }

  it('the default file sends the seed contact exactly as before', async () => {
    rig = await contactsRig();
    await rig.startWorker();
    await rig.settled(await rig.add(enrollment('seed-default')));
    expect(JSON.stringify(rig.upserts()[0]![0]!.properties)).toBe(
      '{"email":"student@example.com","firstname":"Sample","lastname":"User","phone":"+1234567890","loopwise_user_id":"user_345678","loopwise_enrolled_courses":"course_789012","loopwise_last_course_id":"course_789012","loopwise_last_course_name":"Introduction to Programming","loopwise_last_enrolled_at":"2023-05-15T14:30:00.000Z"}',
    );
  });

  it('adds hs_lead_source, renames the course-name property and drops the phone: the contact written has exactly that', async () => {
    rig = await contactsRig({ HUBSPOT_CONTACT_MAPPING: mappingFile('marketing.json', MARKETING) });
    await portalWithMarketingProperties(rig);
    await rig.startWorker();
    const [job] = await rig.settled(
      await rig.add(
        enrollment('m1', { email: 'mary@example.com', name: 'Mary Ann Smith', phone_number: '0912 345 678' }),
      ),
    );
    expect(job!.returnvalue).toEqual(expect.objectContaining({ contactId: expect.any(String) }));

    const expected = {
      email: 'mary@example.com',
      firstname: 'Mary Ann',
      lastname: 'Smith',
      loopwise_user_id: 'user_345678',
      [ENROLLED_COURSES]: 'course_789012',
      loopwise_last_course_id: 'course_789012',
      school_course_name: 'Introduction to Programming',
      loopwise_last_enrolled_at: '2023-05-15T14:30:00.000Z',
      hs_lead_source: 'Loopwise',
    };
    const sent = rig
      .upserts()
      .flat()
      .map((i) => i.properties);
    expect(sent).toEqual([expected]);
    expect(Object.keys(sent[0]!)).toEqual(Object.keys(expected));
    const { hs_object_id, createdate, lastmodifieddate, ...stored } =
      rig.em.state.contact('mary@example.com')!.properties;
    expect(stored).toEqual(expected);
  });

  it('leaves the welcome email status writes as they were: the e-mail and the status, no constant', async () => {
    rig = await contactsRig({ HUBSPOT_CONTACT_MAPPING: mappingFile('status.json', MARKETING) });
    await portalWithMarketingProperties(rig);
    const call = createHubSpotCall({});
    const deps = {
      client: rig.hubspot,
      call,
      setup: setupOnce(rig.hubspot, call, ['contacts']),
      options: { ensure: async () => undefined, has: () => true },
      courses: new ContactCourses(rig.deps.redis, rig.config.redis.prefix),
      mapping: compileContactMapping(rig.config.hubspot.contactMapping),
    };
    await writeEmailStatuses(deps, [{ email: 'status@example.com', status: 'delivered' }]);
    expect(
      rig
        .upserts()
        .flat()
        .map((i) => i.properties),
    ).toEqual([{ email: 'status@example.com', loopwise_welcome_email_status: 'delivered' }]);
  });

  it('takes other enrollment fields when the mapping names them', async () => {
    const path = mappingFile('extra.json', {
      email: 'user.email',
      full_name: 'user.name',
      course_slug: 'course.slug',
      enrollment_state: 'enrollment.state',
      enrollment_id: 'enrollment.id',
      updated: 'enrollment.updated_at',
      subtitle: 'course.subtitle',
    });
    rig = await contactsRig({ HUBSPOT_CONTACT_MAPPING: path });
    for (const name of ['full_name', 'course_slug', 'enrollment_state', 'enrollment_id', 'updated', 'subtitle']) {
      await rig.hubspot.crm.properties.coreApi.create('contacts', {
        name,
        label: name,
        type: 'string' as any,
        fieldType: 'text' as any,
        groupName: 'contactinformation',
      });
    }
    await rig.startWorker();
    await rig.settled(await rig.add(enrollment('x1', { email: 'x@example.com', name: '  Padded   Name ' })));
    expect(rig.upserts().flat()[0]!.properties).toEqual({
      email: 'x@example.com',
      full_name: 'Padded Name',
      course_slug: 'intro-to-programming',
      subtitle: 'Learn the basics of coding',
      enrollment_id: 'x1',
      enrollment_state: 'pending',
      updated: '2023-05-15T14:30:00.000Z',
      [ENROLLED_COURSES]: 'course_789012',
    });
  });
});

describe('a mapping naming a property the portal lacks', () => {
  let em: HubSpotEmulator;
  beforeAll(async () => {
    em = await startHubSpotEmulator();
  });
  afterAll(async () => em.close());
  const env = (path: string) => ({
    HUBSPOT_ACCESS_TOKEN: em.token,
    HUBSPOT_BASE_URL: em.url,
    HUBSPOT_CONTACT_MAPPING: path,
  });

  it('is refused by `hubspot setup`, naming the property, and nothing is changed', async () => {
    const path = mappingFile('lacking.json', MARKETING);
    const res = await runCli(['hubspot', 'setup'], env(path));
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(
      'REFUSED  contacts property "school_course_name" (mapping line 8): does not exist in the portal',
    );
    expect(res.stdout).toContain(
      'REFUSED  contacts property "hs_lead_source" (mapping line 10): does not exist in the portal',
    );
    expect(res.stderr).toContain(
      `the contact mapping ${path} does not fit this portal (school_course_name, hs_lead_source); nothing was changed`,
    );
    expect(em.state.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('is reported by doctor, naming the property', async () => {
    const path = mappingFile('lacking-doctor.json', MARKETING);
    const res = await runCli(['doctor'], {
      ...env(path),
      SENDGRID_API_KEY: 'SG.unused',
      SENDGRID_BASE_URL: 'http://127.0.0.1:9',
    });
    const line = res.stdout.split('\n').find((l) => l.includes('HubSpot contact mapping'))!;
    expect(line).toMatch(
      /^problem\s+HubSpot contact mapping\s+2 of the properties of .*lacking-doctor\.json do not fit the portal: contacts property "school_course_name" \(mapping line 8\): does not exist in the portal/,
    );
    expect(res.code).toBe(1);
  });

  it('with the properties created, `hubspot setup` goes on and doctor says the mapping fits', async () => {
    const path = mappingFile('fitting.json', MARKETING);
    const hs = (await import('@hubspot/api-client')).Client;
    const client = new hs({ accessToken: em.token, basePath: em.url });
    await client.crm.properties.coreApi.create('contacts', {
      name: 'school_course_name',
      label: 'School course',
      type: 'string' as any,
      fieldType: 'text' as any,
      groupName: 'contactinformation',
    });
    await client.crm.properties.coreApi.create('contacts', {
      name: 'hs_lead_source',
      label: 'Lead source',
      type: 'string' as any,
      fieldType: 'text' as any,
      groupName: 'contactinformation',
    });
    const setup = await runCli(['hubspot', 'setup'], env(path));
    expect(setup.code).toBe(0);
    expect(setup.stdout).not.toContain('REFUSED');
    const doctor = await runCli(['doctor'], {
      ...env(path),
      SENDGRID_API_KEY: 'SG.unused',
      SENDGRID_BASE_URL: 'http://127.0.0.1:9',
    });
    expect(doctor.stdout).toMatch(/ok\s+HubSpot contact mapping\s+the 8 properties of .*fitting\.json fit the portal/);
  });
});
