import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../config.ts';
import { validateEvent } from '../events/schemas.ts';
import type { Enrollment } from '../events/types.ts';
import type { WelcomeLanguage } from '../sendgrid/welcome-content.ts';
import { welcomeMail, welcomeTemplateData } from '../sendgrid/welcome-mapping.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { maskEmail } from '../privacy/email.ts';

const SEED = fileURLToPath(new URL('../../fixtures/loopwise/course.student_enroll.json', import.meta.url));
const LANGUAGES: WelcomeLanguage[] = ['en', 'zh-TW'];

interface PreviewOptions {
  lang?: WelcomeLanguage;
  html?: boolean;
  templateData?: boolean;
  file?: string;
}

function parseLanguage(value: string): WelcomeLanguage {
  if (!(LANGUAGES as string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${LANGUAGES.join(', ')}`);
  return value as WelcomeLanguage;
}

/** The enrollment of a webhook file (envelope or bare data), validated like the receiver does. */
export function readEnrollment(path: string): Enrollment {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { type?: string; data?: unknown };
  const data = parsed && typeof parsed === 'object' && 'data' in parsed ? parsed.data : parsed;
  return validateEvent('course.student_enroll', data).data as Enrollment;
}

/**
 * What `email preview` prints: the built-in welcome email (headers and text, or only the HTML),
 * or the `dynamic_template_data` a dynamic template would receive.
 */
export function previewText(
  enrollment: Enrollment,
  opts: PreviewOptions,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const config = loadConfig(env);
  const settings = { ...config.sendgrid, templateId: undefined, language: opts.lang ?? config.sendgrid.language };
  if (opts.templateData) return JSON.stringify(welcomeTemplateData(enrollment, settings), null, 2) + '\n';
  const mail = welcomeMail({ enrollment }, settings);
  const body = (type: string) =>
    (mail.content as { type: string; value: string }[]).find((c) => c.type === type)!.value;
  if (opts.html) return body('text/html');
  const to = mail.personalizations![0]!.to as { email: string; name?: string }[];
  const lines = [
    `From: ${settings.fromName} <${settings.from}>`,
    `To: ${to.map((t) => `${t.name ? `${t.name} ` : ''}<${maskEmail(t.email)}>`).join(', ')}`,
    `Subject: ${mail.subject}`,
    `Language: ${settings.language}`,
    '',
    body('text/plain'),
  ];
  if (config.sendgrid.templateId) {
    lines.unshift(
      `(SENDGRID_WELCOME_TEMPLATE_ID=${config.sendgrid.templateId} is set: real sends use that template; see --template-data. Below is the built-in email.)`,
      '',
    );
  }
  return lines.join('\n');
}

/** Registers `course-sync email preview`: prints the welcome email built for an enrollment. */
export function registerEmail(program: Command, io: CliIO): void {
  const email = program.command('email').description('welcome email tools');
  email
    .command('preview')
    .description('print the built-in welcome email for the seed enrollment (or --file), without sending it')
    .option('--lang <lang>', `language: ${LANGUAGES.join(' | ')} (default: WELCOME_EMAIL_LANGUAGE)`, parseLanguage)
    .option('--html', 'print only the HTML body (e.g. > welcome.html, then open it in a browser)')
    .option('--template-data', 'print the dynamic_template_data a SendGrid dynamic template receives')
    .option('--file <path>', 'a course.student_enroll webhook JSON instead of the seed sample')
    .addHelpText(
      'after',
      '\nExamples:\n  course-sync email preview\n  course-sync email preview --lang zh-TW --html > welcome.html\n  course-sync email preview --template-data',
    )
    .action((opts: PreviewOptions) => {
      let enrollment: Enrollment;
      try {
        enrollment = readEnrollment(opts.file ?? SEED);
      } catch (err) {
        io.err(`course-sync email preview: ${(err as Error).message}`);
        io.exitCode = EXIT.usage;
        return;
      }
      io.stdout.write(previewText(enrollment, opts, io.env));
    });
}
