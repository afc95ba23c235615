import type { MailDataRequired } from '@sendgrid/mail';
import type { Config } from '../config.ts';
import type { Enrollment } from '../events/types.ts';
import { oneLine, welcomeContent, type WelcomeVars } from './welcome-content.ts';

/** The settings the welcome email is built from (`config.sendgrid`). */
export type WelcomeSettings = Pick<
  Config['sendgrid'],
  'from' | 'fromName' | 'templateId' | 'language' | 'courseUrlPattern'
>;

/** The variables a SendGrid dynamic template receives (`dynamic_template_data`). */
export interface WelcomeTemplateData {
  student_name: string;
  first_name: string;
  course_name: string;
  course_subtitle: string;
  course_slug: string;
  course_url: string;
  enrollment_id: string;
}

const CJK = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]/;

/** The course link: `{slug}` (the id when there is no slug) and `{id}` replaced, URL-encoded. */
export function courseUrl(pattern: string, course: Enrollment['course']): string {
  const slug = course.slug?.trim() || course.id;
  return pattern.replaceAll('{slug}', encodeURIComponent(slug)).replaceAll('{id}', encodeURIComponent(course.id));
}

/** The name to greet with: the first word of a Western name, the whole of a CJK name ('' if none). */
export function firstNameOf(name: string | null | undefined): string {
  const n = oneLine(name ?? '');
  if (!n) return '';
  if (CJK.test(n) && !n.includes(' ')) return n;
  return n.split(' ')[0]!;
}

/** Every value the email shows, as plain text (escaping is the renderer's job). */
function welcomeVars(enrollment: Enrollment, settings: WelcomeSettings): WelcomeVars {
  const studentName = oneLine(enrollment.user.name ?? '');
  return {
    studentName,
    firstName: firstNameOf(studentName),
    courseName: oneLine(enrollment.course.name),
    courseSubtitle: oneLine(enrollment.course.subtitle ?? ''),
    courseUrl: courseUrl(settings.courseUrlPattern, enrollment.course),
    senderName: settings.fromName,
  };
}

/** The `dynamic_template_data` of the welcome template. */
export function welcomeTemplateData(enrollment: Enrollment, settings: WelcomeSettings): WelcomeTemplateData {
  const v = welcomeVars(enrollment, settings);
  return {
    student_name: v.studentName,
    first_name: v.firstName,
    course_name: v.courseName,
    course_subtitle: v.courseSubtitle,
    course_slug: enrollment.course.slug ?? '',
    course_url: v.courseUrl,
    enrollment_id: enrollment.id,
  };
}

/**
 * The Mail Send request of one enrollment's welcome email: one personalization to the student,
 * `custom_args` naming the enrollment and course; the dynamic template when `templateId` is set,
 * otherwise the built-in subject, text and HTML in `settings.language`.
 */
export function welcomeMail(job: { enrollment: Enrollment }, settings: WelcomeSettings): MailDataRequired {
  const { enrollment } = job;
  const name = oneLine(enrollment.user.name ?? '');
  const to = name ? { email: enrollment.user.email.trim(), name } : { email: enrollment.user.email.trim() };
  const personalization = {
    to: [to],
    customArgs: { enrollment_id: enrollment.id, course_id: enrollment.course.id },
  };
  const from = { email: settings.from, name: settings.fromName };
  if (settings.templateId) {
    return {
      from,
      templateId: settings.templateId,
      personalizations: [{ ...personalization, dynamicTemplateData: { ...welcomeTemplateData(enrollment, settings) } }],
    };
  }
  const content = welcomeContent(settings.language, welcomeVars(enrollment, settings));
  return {
    from,
    subject: content.subject,
    content: [
      { type: 'text/plain', value: content.text },
      { type: 'text/html', value: content.html },
    ],
    personalizations: [personalization],
  };
}
