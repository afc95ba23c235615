import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import type { Enrollment } from '../src/events/types.ts';
import {
  courseUrl,
  firstNameOf,
  welcomeMail,
  welcomeTemplateData,
  type WelcomeSettings,
} from '../src/sendgrid/welcome-mapping.ts';
import { fixture } from './support/env.ts';

const settings: WelcomeSettings = {
  from: 'school@example.com',
  fromName: 'Course team',
  language: 'en',
  courseUrlPattern: 'https://school.example.com/courses/{slug}',
};
const seed = (): Enrollment => fixture('course.student_enroll').data;
const withUser = (user: Partial<Enrollment['user']>, course: Partial<Enrollment['course']> = {}): Enrollment => {
  const e = seed();
  return { ...e, user: { ...e.user, ...user }, course: { ...e.course, ...course } };
};
const html = (m: ReturnType<typeof welcomeMail>) =>
  (m.content as { type: string; value: string }[]).find((c) => c.type === 'text/html')!.value;
const text = (m: ReturnType<typeof welcomeMail>) =>
  (m.content as { type: string; value: string }[]).find((c) => c.type === 'text/plain')!.value;

describe('welcomeMail with a dynamic template', () => {
  const templated = {
    ...settings,
    templateId: 'd-welcome123',
    courseUrlPattern: 'https://school.example.com/c/{id}/{slug}',
  };

  it('maps the seed enrollment to template_id and dynamic_template_data', () => {
    expect(welcomeMail({ enrollment: seed() }, templated)).toEqual({
      from: { email: 'school@example.com', name: 'Course team' },
      templateId: 'd-welcome123',
      personalizations: [
        {
          to: [{ email: 'student@example.com', name: 'Sample User' }],
          customArgs: { enrollment_id: 'enroll_123456', course_id: 'course_789012' },
          dynamicTemplateData: {
            student_name: 'Sample User',
            first_name: 'Sample',
            course_name: 'Introduction to Programming',
            course_subtitle: 'Learn the basics of coding',
            course_slug: 'intro-to-programming',
            course_url: 'https://school.example.com/c/course_789012/intro-to-programming',
            enrollment_id: 'enroll_123456',
          },
        },
      ],
    });
  });

  it.each<[string, Enrollment, Partial<ReturnType<typeof welcomeTemplateData>>]>([
    ['no name', withUser({ name: null }), { student_name: '', first_name: '' }],
    ['a Chinese name', withUser({ name: '王小明' }), { student_name: '王小明', first_name: '王小明' }],
    ['a name with a newline', withUser({ name: 'Ana\r\nBcc: x' }), { student_name: 'Ana Bcc: x', first_name: 'Ana' }],
    [
      'no slug (the id stands in)',
      withUser({}, { slug: null }),
      { course_slug: '', course_url: 'https://school.example.com/c/course_789012/course_789012' },
    ],
    ['no subtitle', withUser({}, { subtitle: undefined }), { course_subtitle: '' }],
    [
      'a slug needing encoding',
      withUser({}, { slug: 'a b/c?d' }),
      { course_url: 'https://school.example.com/c/course_789012/a%20b%2Fc%3Fd' },
    ],
  ])('fills the template data for %s', (_case, enrollment, expected) => {
    expect(welcomeTemplateData(enrollment, templated)).toMatchObject(expected);
  });
});

describe('welcomeMail with the built-in content', () => {
  it.each<[string, WelcomeSettings['language'], RegExp, RegExp]>([
    [
      'English',
      'en',
      /^Welcome to Introduction to Programming$/,
      /^Hi Sample,\n\nWelcome to Introduction to Programming!\nLearn the basics of coding\n/,
    ],
    [
      'Traditional Chinese',
      'zh-TW',
      /^歡迎加入「Introduction to Programming」$/,
      /^Sample User，您好：\n\n歡迎加入「Introduction to Programming」！/,
    ],
  ])('writes subject, text and HTML in %s', (_lang, language, subject, body) => {
    const m = welcomeMail({ enrollment: seed() }, { ...settings, language });
    expect(m.templateId).toBeUndefined();
    expect(m.subject).toMatch(subject);
    expect(text(m)).toMatch(body);
    expect(text(m)).toContain('https://school.example.com/courses/intro-to-programming');
    expect(html(m)).toContain(`<html lang="${language}">`);
    expect(html(m)).toContain('href="https://school.example.com/courses/intro-to-programming"');
    expect((m.content as { type: string }[]).map((c) => c.type)).toEqual(['text/plain', 'text/html']);
    expect(m.personalizations![0]!.customArgs).toEqual({ enrollment_id: 'enroll_123456', course_id: 'course_789012' });
  });

  it.each<[string, Enrollment, string[], string[]]>([
    [
      '<script> in the name',
      withUser({ name: '<script>alert(1)</script> Lee' }),
      ['Hi &lt;script&gt;alert(1)&lt;/script&gt;,'],
      ['<script>'],
    ],
    [
      'markup in the course name',
      withUser({}, { name: 'C++ & <b>Rust</b>' }),
      ['C++ &amp; &lt;b&gt;Rust&lt;/b&gt;'],
      ['<b>Rust</b>'],
    ],
    [
      'a quote in the slug',
      withUser({}, { slug: 'x"onmouseover="alert(1)' }),
      ['href="https://school.example.com/courses/x%22onmouseover%3D%22alert(1)"'],
      ['"onmouseover'],
    ],
    ['an apostrophe in the name', withUser({ name: "O'Brien" }), ['Hi O&#39;Brien,'], ["O'Brien"]],
  ])('escapes %s in the HTML body', (_case, enrollment, present, absent) => {
    const body = html(welcomeMail({ enrollment }, settings));
    for (const s of present) expect(body).toContain(s);
    for (const s of absent) expect(body).not.toContain(s);
  });

  it('keeps the plain-text body and subject unescaped but on one line', () => {
    const m = welcomeMail({ enrollment: withUser({}, { name: 'C++ & <Rust>\nBcc: x' }) }, settings);
    expect(m.subject).toBe('Welcome to C++ & <Rust> Bcc: x');
    expect(text(m)).toContain('Welcome to C++ & <Rust> Bcc: x!');
  });

  it('greets a student without a name', () => {
    expect(text(welcomeMail({ enrollment: withUser({ name: '' }) }, settings))).toMatch(/^Hi there,/);
    expect(text(welcomeMail({ enrollment: withUser({ name: null }) }, { ...settings, language: 'zh-TW' }))).toMatch(
      /^同學，您好：/,
    );
    expect(welcomeMail({ enrollment: withUser({ name: '  ' }) }, settings).personalizations![0]!.to).toEqual([
      { email: 'student@example.com' },
    ]);
  });
});

describe('helpers', () => {
  it.each([
    ['Sample User', 'Sample'],
    ['  Ana   María López ', 'Ana'],
    ['王小明', '王小明'],
    ['陳 大文', '陳'],
    ['', ''],
    [null, ''],
  ])('firstNameOf(%j) = %j', (name, first) => expect(firstNameOf(name)).toBe(first));

  it.each([
    ['https://s.example/{slug}', { id: 'c1', name: 'n', slug: 'intro' }, 'https://s.example/intro'],
    ['https://s.example/{id}?s={slug}', { id: 'c 1', name: 'n', slug: 'intro' }, 'https://s.example/c%201?s=intro'],
    ['https://s.example/{slug}/{slug}', { id: 'c1', name: 'n' }, 'https://s.example/c1/c1'],
  ])('courseUrl(%j)', (pattern, course, url) => expect(courseUrl(pattern, course)).toBe(url));

  it('refuses a template id that is not a dynamic template (its data would be dropped by @sendgrid/mail)', () => {
    expect(() => loadConfig({ SENDGRID_WELCOME_TEMPLATE_ID: '13b8f94f-bcae-4ec6-b752-70d6cb59f932' })).toThrow(
      /SENDGRID_WELCOME_TEMPLATE_ID: must be a dynamic template id starting with "d-"/,
    );
    expect(loadConfig({ SENDGRID_WELCOME_TEMPLATE_ID: 'd-13b8f94fbcae4ec6' }).sendgrid.templateId).toBe(
      'd-13b8f94fbcae4ec6',
    );
  });
});
