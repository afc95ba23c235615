import { pino, type Logger, type DestinationStream } from 'pino';
import { maskEmails } from './privacy/email.ts';

export type { Logger };

/**
 * JSON logger. Known sensitive fields are censored by path, and as a last line of defence every
 * e-mail address that still reaches the output is masked, so no student address is written in clear.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'course-sync' },
      redact: {
        paths: [
          'email', '*.email', 'phone', '*.phone', 'phone_number', '*.phone_number', 'name', 'user.name',
          'secret', '*.secret', 'token', '*.token', 'apiKey', '*.apiKey', 'password', '*.password',
          'headers.authorization', 'headers["loopwise-webhook-signature"]', 'headers["teachify-webhook-signature"]',
          'req.headers.authorization', 'req.headers["loopwise-webhook-signature"]', 'req.headers["teachify-webhook-signature"]',
        ],
        censor: '[redacted]',
      },
      hooks: {
        streamWrite: maskEmails,
      },
    },
    destination,
  );
}
