import type { RunningService, Role } from '../service.ts';
import { settings } from '../../config/settings.ts';
import { localWebhookUrl } from './post-webhook.ts';

/** The default PORT: `emit` reaches it without --url. */
const DEFAULT_PORT = Number(settings.PORT.default);

/** How a browser on this machine reaches a server bound to `host`. */
function reachableHost(host: string): string {
  if (['0.0.0.0', '::', ''].includes(host)) return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * What a newcomer needs once `npm start` serves, printed once on stderr: the admin URL and who
 * signs in there, how to send the seed events, the sandbox page, and how to follow an event.
 * Nothing for a worker (no HTTP) or in production.
 */
export function nextSteps(service: RunningService, role: Role): string[] {
  const { config, port, adminPort } = service;
  if (role === 'worker' || port === undefined || config.env === 'production') return [];
  const admin =
    adminPort !== undefined
      ? `http://${reachableHost(config.admin.host)}:${adminPort}/admin`
      : `http://${reachableHost(config.host)}:${port}/admin`;
  const d = config.dashboard;
  const who =
    d.auth === 'proxy'
      ? 'signed in through your sign-on proxy'
      : d.password
        ? `user "${d.user}", password DASHBOARD_PASSWORD`
        : `user "${d.user}", the password printed above`;
  const emit = (type: string) =>
    `npx course-sync emit ${type}${port === DEFAULT_PORT ? '' : ` --url ${localWebhookUrl(port)}`}`;
  return [
    '',
    `  course-sync is running${config.sandbox ? ' in sandbox mode' : ''}. Next:`,
    `    admin    ${admin}  (${who})`,
    `    send     ${emit('course.student_enroll')}${config.webhook.secrets.length ? '  (with the same WEBHOOK_SECRET)' : ''}`,
    `             ${emit('course.created')}`,
    ...(config.sandbox ? [`    sandbox  ${admin}/sandbox  (what the HubSpot and SendGrid emulators received)`] : []),
    '    follow   npx course-sync trace enroll_123456',
    '',
  ];
}
