import { pino, type Logger, type DestinationStream } from 'pino';
import { maskEmails } from './privacy/email.ts';

export type { Logger };

/** How log lines are written: pino JSON (one object per line), or readable lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

export interface LogOptions {
  format?: LogFormat;
  /** ANSI colours in the readable format (a terminal). */
  color?: boolean;
}

/** LOG_FORMAT resolved for this stdout: `auto` is readable on a terminal and JSON everywhere else. */
export function logFormatFor(setting: 'auto' | LogFormat, stdoutIsTTY: boolean): LogFormat {
  return setting === 'auto' ? (stdoutIsTTY ? 'pretty' : 'json') : setting;
}

/**
 * The logger. Known sensitive fields are censored by path, and as a last line of defence every
 * e-mail address that still reaches the output is masked, so no student address is written in
 * clear. The readable format is made from that same censored, masked JSON line.
 */
export function createLogger(level: string, destination?: DestinationStream, opts: LogOptions = {}): Logger {
  const out =
    opts.format === 'pretty'
      ? readableStream(destination ?? pino.destination({ dest: 1, sync: true }), opts.color ?? false)
      : destination;
  return pino(
    {
      level,
      base: { service: 'course-sync' },
      redact: {
        paths: [
          'email',
          '*.email',
          'phone',
          '*.phone',
          'phone_number',
          '*.phone_number',
          'name',
          'user.name',
          'secret',
          '*.secret',
          'token',
          '*.token',
          'apiKey',
          '*.apiKey',
          'password',
          '*.password',
          'headers.authorization',
          'headers["loopwise-webhook-signature"]',
          'headers["teachify-webhook-signature"]',
          'req.headers.authorization',
          'req.headers["loopwise-webhook-signature"]',
          'req.headers["teachify-webhook-signature"]',
        ],
        censor: '[redacted]',
      },
      hooks: {
        streamWrite: maskEmails,
      },
    },
    out,
  );
}

function readableStream(target: DestinationStream, color: boolean): DestinationStream {
  return { write: (line: string) => target.write(formatLogLine(line, color)) };
}

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '36' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '1;31' },
};

/** Fields every line has and the readable format leaves out (time, level and msg are shown in front). */
const SAME_EVERY_LINE = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'service']);

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * One pino JSON line as a person reads it: `HH:MM:SS.mmm LEVEL message key=value ...`, the
 * error's stack indented below; a line that is not JSON is passed through as it is.
 */
export function formatLogLine(line: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const t = new Date(typeof entry.time === 'number' ? entry.time : Date.now());
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
  const level = LEVELS[entry.level as number] ?? { name: String(entry.level).toUpperCase(), color: '0' };
  let stack: string | undefined;
  const fields = Object.entries(entry)
    .filter(([key]) => !SAME_EVERY_LINE.has(key))
    .map(([key, value]) => {
      const err = value as { message?: unknown; stack?: unknown } | null;
      if (key === 'err' && err && typeof err === 'object' && typeof err.message === 'string') {
        if (typeof err.stack === 'string') stack = err.stack;
        value = err.message;
      }
      return `${paint('2', `${key}=`)}${fieldValue(value)}`;
    });
  const head = [paint('2', time), paint(level.color, level.name.padEnd(5)), String(entry.msg ?? ''), ...fields]
    .filter(Boolean)
    .join(' ');
  const tail =
    stack && (entry.level as number) >= 50
      ? `\n${stack
          .split('\n')
          .slice(1)
          .map((l) => paint('2', `    ${l.trim()}`))
          .join('\n')}`
      : '';
  return `${head}${tail}\n`;
}
