import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { MappingFileError, parseContactMapping } from '../src/contact-mapping/file.ts';
import { describeMappingProblem, mappingProblems, type PortalProperty } from '../src/hubspot/contact-mapping-fit.ts';

const file = (properties: string) => `{\n  "properties": {\n${properties}\n  }\n}\n`;
const EMAIL = '    "email": "user.email"';

describe('parseContactMapping', () => {
  it('reads sources and constants in file order, with their lines', () => {
    const spec = parseContactMapping(
      file(`${EMAIL},\n    "hs_lead_source": {"value": "Loopwise"},\n    "school_course": "course.name"`),
      'm.json',
    );
    expect(spec).toEqual({
      path: 'm.json',
      entries: [
        { property: 'email', line: 3, source: 'user.email' },
        { property: 'hs_lead_source', line: 4, value: 'Loopwise' },
        { property: 'school_course', line: 5, source: 'course.name' },
      ],
    });
  });

  it.each([
    [
      'an unknown source',
      file(`${EMAIL},\n    "firstname": "user.firstname"`),
      4,
      'firstname',
      /property "firstname": unknown source "user\.firstname" \(sources: user\.email, user\.name, user\.first_name/,
    ],
    [
      'a property listed twice',
      file(`${EMAIL},\n    "phone": "user.phone",\n    "phone": "user.id"`),
      5,
      'phone',
      /property "phone" is listed twice \(lines 4 and 5\)/,
    ],
    [
      'the e-mail missing',
      file('    "firstname": "user.first_name"'),
      2,
      'email',
      /the e-mail is missing: "email": "user\.email" is required/,
    ],
    [
      'the e-mail from another source',
      file('    "email": "user.id"'),
      3,
      'email',
      /property "email" must be "user\.email"/,
    ],
    [
      "course-sync's course list",
      file(`${EMAIL},\n    "loopwise_enrolled_courses": "course.id"`),
      4,
      'loopwise_enrolled_courses',
      /is course-sync's own \(every course of the student\) and cannot be mapped/,
    ],
    [
      "course-sync's delivery status",
      file(`${EMAIL},\n    "loopwise_welcome_email_status": {"value": "sent"}`),
      4,
      'loopwise_welcome_email_status',
      /is course-sync's own \(the welcome email status\)/,
    ],
    [
      'a label instead of an internal name',
      file(`${EMAIL},\n    "Lead Source": {"value": "x"}`),
      4,
      'Lead Source',
      /is not a HubSpot property name/,
    ],
    [
      'an empty constant',
      file(`${EMAIL},\n    "hs_lead_source": {"value": "  "}`),
      4,
      'hs_lead_source',
      /an empty constant would never be written/,
    ],
    [
      'a malformed constant',
      file(`${EMAIL},\n    "hs_lead_source": {"constant": "x"}`),
      4,
      'hs_lead_source',
      /a constant is written \{"value": "<text>"\}/,
    ],
    [
      'a number',
      file(`${EMAIL},\n    "age": 3`),
      4,
      'age',
      /expected a source such as "user\.email" or \{"value": "<constant>"\}, got number/,
    ],
  ])('refuses %s, naming the line and the property', (_what, text, line, property, message) => {
    let err: unknown;
    try {
      parseContactMapping(text, 'm.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MappingFileError);
    expect(err).toMatchObject({ line, property });
    expect((err as Error).message).toMatch(new RegExp(`^m\\.json line ${line}: `));
    expect((err as Error).message).toMatch(message);
  });

  it.each([
    [
      'not JSON',
      '{\n  "properties": {\n    "email": "user.email",\n  }\n}',
      4,
      /not valid JSON: unexpected "}", expected a "quoted" key/,
    ],
    [
      'another top-level key',
      '{\n  "properties": {"email": "user.email"},\n  "propreties": {}\n}',
      3,
      /unknown key "propreties"/,
    ],
    ['no properties', '{}', 1, /no "properties" object/],
  ])('refuses a file that is %s, naming the line', (_what, text, line, message) => {
    expect(() => parseContactMapping(text, 'm.json')).toThrow(message);
    expect(() => parseContactMapping(text, 'm.json')).toThrow(new RegExp(`line ${line}:`));
  });
});

describe('HUBSPOT_CONTACT_MAPPING at start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mapping-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads course-sync's own file when unset: today's mapping", () => {
    const spec = loadConfig({ NODE_ENV: 'test' }).hubspot.contactMapping;
    expect(spec.path).toMatch(/config\/contact-mapping\.json$/);
    expect(spec.entries.map((e) => [e.property, 'source' in e ? e.source : e.value])).toEqual([
      ['email', 'user.email'],
      ['firstname', 'user.first_name'],
      ['lastname', 'user.last_name'],
      ['phone', 'user.phone'],
      ['loopwise_user_id', 'user.id'],
      ['loopwise_last_course_id', 'course.id'],
      ['loopwise_last_course_name', 'course.name'],
      ['loopwise_last_enrolled_at', 'enrollment.created_at'],
    ]);
  });

  it('stops start-up naming the key, the file, the line and the property', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, file(`${EMAIL},\n    "school_course": "course.title"`));
    expect(() => loadConfig({ NODE_ENV: 'test', HUBSPOT_CONTACT_MAPPING: path })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'test', HUBSPOT_CONTACT_MAPPING: path })).toThrow(
      `config HUBSPOT_CONTACT_MAPPING: ${path} line 4: property "school_course": unknown source "course.title"`,
    );
    expect(() => loadConfig({ NODE_ENV: 'test', HUBSPOT_CONTACT_MAPPING: join(dir, 'none.json') })).toThrow(
      /config HUBSPOT_CONTACT_MAPPING: .*none\.json: cannot be read \(ENOENT\)/,
    );
  });

  it('refuses an unknown HUBSPOT_COURSES_OBJECT, naming it', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', HUBSPOT_COURSES_OBJECT: 'yes' })).toThrow(
      'config HUBSPOT_COURSES_OBJECT: must be one of auto, on, off, got "yes"',
    );
    expect(loadConfig({ NODE_ENV: 'test' }).hubspot.coursesObject).toBe('auto');
  });
});

describe("mappingProblems (the portal's properties against the mapping)", () => {
  const prop = (name: string, type: string, extra: Partial<PortalProperty> = {}): [string, PortalProperty] => [
    name,
    { name, type, fieldType: 'text', ...extra },
  ];
  const portal = new Map([
    prop('email', 'string'),
    prop('phone', 'string'),
    prop('school_course', 'string'),
    prop('lead_source', 'enumeration', { options: [{ value: 'Loopwise' }, { value: 'Referral' }] }),
    prop('enrolled_on', 'date'),
    prop('enrolled_at', 'datetime'),
    prop('score', 'number'),
    prop('createdate', 'datetime', { modificationMetadata: { readOnlyValue: true } }),
  ]);
  const spec = (line: string) => parseContactMapping(file(`${EMAIL},\n${line}`), 'm.json');

  it.each([
    ['    "school_course": "course.name"', undefined],
    ['    "lead_source": {"value": "Loopwise"}', undefined],
    ['    "enrolled_at": "enrollment.created_at"', undefined],
    ['    "school_course": "enrollment.updated_at"', undefined],
    ['    "score": {"value": "12.5"}', undefined],
    ['    "loopwise_user_id": "user.id"', undefined],
    ['    "missing_one": "user.id"', /does not exist in the portal: create it in HubSpot/],
    ['    "lead_source": {"value": "Facebook"}', /"Facebook" is not one of its options \(Loopwise, Referral\)/],
    [
      '    "lead_source": "course.name"',
      /enumeration that takes only its options \(Loopwise, Referral\) and course\.name is free text/,
    ],
    ['    "enrolled_on": "enrollment.created_at"', /it is a date property \(midnight UTC only\)/],
    ['    "score": "user.id"', /it is a number property and user\.id is text/],
    ['    "score": {"value": "many"}', /"many" is not a number/],
    ['    "createdate": "enrollment.created_at"', /is set by HubSpot and cannot be written/],
  ])('%s → %s', (line, problem) => {
    const found = mappingProblems(spec(line), portal, new Set(['loopwise_user_id']));
    if (!problem) expect(found).toEqual([]);
    else {
      expect(found).toHaveLength(1);
      expect(describeMappingProblem(found[0]!)).toMatch(/^contacts property "\w+" \(mapping line 4\): /);
      expect(found[0]!.problem).toMatch(problem);
    }
  });
});
