import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { previewText, readEnrollment } from '../src/cli/email.ts';
import { runCli } from './support/cli.ts';
import { fixture } from './support/env.ts';

const run = (args: string[]) => runCli(args, { NODE_ENV: 'development' });
const dir = mkdtempSync(join(tmpdir(), 'cs-email-preview-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const seed = () => fixture('course.student_enroll').data;

describe('email preview', () => {
  it('prints the English email for the seed enrollment, with the address masked', () => {
    const out = previewText(seed(), {}, { NODE_ENV: 'development' });
    expect(out).toMatch(
      /^From: Course team <no-reply@example.com>\nTo: Sample User <s\*\*\*@example.com>\nSubject: Welcome to Introduction to Programming\nLanguage: en\n\nHi Sample,/,
    );
    expect(out).not.toContain('student@example.com');
  });

  it('prints Traditional Chinese with --lang zh-TW and only the HTML with --html', () => {
    expect(previewText(seed(), { lang: 'zh-TW' }, {})).toContain('Subject: 歡迎加入「Introduction to Programming」');
    const html = previewText({ ...seed(), user: { ...seed().user, name: '<script>x</script>' } }, { html: true }, {});
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).not.toContain('<script>');
  });

  it('prints the dynamic_template_data with --template-data', () => {
    const data = JSON.parse(
      previewText(seed(), { templateData: true }, { COURSE_URL_PATTERN: 'https://s.example/{slug}' }),
    );
    expect(data).toMatchObject({
      first_name: 'Sample',
      course_url: 'https://s.example/intro-to-programming',
      enrollment_id: 'enroll_123456',
    });
  });

  it('reads an enrollment webhook file, validated like the receiver', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ type: 'course.student_enroll', data: { ...seed(), id: 'enroll_file' } }));
    expect(readEnrollment(good).id).toBe('enroll_file');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...seed(), user: { email: 'nope' } }));
    expect(() => readEnrollment(bad)).toThrow(/data.user.email/);
  });

  it('runs as `course-sync email preview` and exits 2 on a bad file or language', async () => {
    const ok = await run(['email', 'preview', '--lang', 'zh-TW']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Sample User，您好：');
    const missing = await run(['email', 'preview', '--file', join(dir, 'missing.json')]);
    expect([missing.code, missing.stdout]).toEqual([2, '']);
    expect(missing.stderr).toMatch(/missing\.json: no such file/);
    const french = await run(['email', 'preview', '--lang', 'fr']);
    expect(french.code).toBe(2);
    expect(french.stderr).toMatch(/expected one of en, zh-TW/);
  });
});
