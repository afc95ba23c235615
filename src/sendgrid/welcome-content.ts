import { escapeHtml } from '../html.ts';

/** Languages of the built-in welcome email. */
export type WelcomeLanguage = 'en' | 'zh-TW';

/** The values the built-in email (and the dynamic template) shows; plain text, not escaped. */
export interface WelcomeVars {
  studentName: string;
  firstName: string;
  courseName: string;
  courseSubtitle: string;
  courseUrl: string;
  senderName: string;
}

export interface WelcomeContent {
  subject: string;
  text: string;
  html: string;
}

/** One line: no CR/LF or other control characters (subjects are headers). */
export function oneLine(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex -- control characters are what this removes
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

interface Phrases {
  subject(v: WelcomeVars): string;
  greeting(v: WelcomeVars): string;
  welcome(v: WelcomeVars): string;
  enrolled: string;
  button: string;
  questions: string;
  signOff(v: WelcomeVars): string;
}

const PHRASES: Record<WelcomeLanguage, Phrases> = {
  en: {
    subject: (v) => `Welcome to ${v.courseName}`,
    greeting: (v) => `Hi ${v.firstName || 'there'},`,
    welcome: (v) => `Welcome to ${v.courseName}!`,
    enrolled: 'You are enrolled and can start learning right away:',
    button: 'Start the course',
    questions: 'Questions? Just reply to this email.',
    signOff: (v) => v.senderName,
  },
  'zh-TW': {
    subject: (v) => `歡迎加入「${v.courseName}」`,
    greeting: (v) => `${v.studentName || '同學'}，您好：`,
    welcome: (v) => `歡迎加入「${v.courseName}」！`,
    enrolled: '您已完成報名，現在就可以開始上課：',
    button: '開始上課',
    questions: '有任何問題，直接回覆這封信即可。',
    signOff: (v) => `${v.senderName} 敬上`,
  },
};

/** The built-in welcome email in `lang`: subject, plain text, and HTML with every value escaped. */
export function welcomeContent(lang: WelcomeLanguage, v: WelcomeVars): WelcomeContent {
  const p = PHRASES[lang];
  const subtitle = v.courseSubtitle.trim();
  const text = [
    p.greeting(v),
    '',
    p.welcome(v),
    ...(subtitle ? [subtitle] : []),
    '',
    p.enrolled,
    v.courseUrl,
    '',
    p.questions,
    '',
    p.signOff(v),
    '',
  ].join('\n');
  const e = escapeHtml;
  const html = `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>${e(p.subject(v))}</title></head>
<body style="font-family:sans-serif;line-height:1.5;color:#222">
<p>${e(p.greeting(v))}</p>
<p><strong>${e(p.welcome(v))}</strong>${subtitle ? `<br>${e(subtitle)}` : ''}</p>
<p>${e(p.enrolled)}</p>
<p><a href="${e(v.courseUrl)}" style="display:inline-block;padding:10px 18px;background:#2563eb;color:#fff;text-decoration:none;border-radius:4px">${e(p.button)}</a></p>
<p style="font-size:13px;color:#555">${e(v.courseUrl)}</p>
<p>${e(p.questions)}</p>
<p>${e(p.signOff(v))}</p>
</body></html>
`;
  return { subject: oneLine(p.subject(v)), text, html };
}
