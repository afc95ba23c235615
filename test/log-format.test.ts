import { describe, expect, it } from 'vitest';
import { createLogger, formatLogLine, logFormatFor } from '../src/log.ts';
import { runCli } from './support/cli.ts';
import { redisUrl } from './support/env.ts';

/** A logger of `format` whose lines land in the returned array. */
function capture(format: 'json' | 'pretty', color = false) {
  const lines: string[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(line) }, { format, color });
  return { log, lines };
}

const STUDENT = {
  email: 'ana.lee@example.com',
  phone: '+886912345678',
  user: { name: 'Ana Lee', phone_number: '0912345678' },
};

describe('the readable log format', () => {
  it('writes time, level, message and the fields that matter on one line, without the fields every line has', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();
    const json = JSON.stringify({
      level: 40,
      time: at,
      pid: 1,
      hostname: 'h',
      service: 'course-sync',
      msg: 'HubSpot rate limit',
      queue: 'crm-contacts',
      waitMs: 1500,
      reason: 'ten secondly',
      ids: ['a', 'b'],
    });
    expect(formatLogLine(json)).toBe(
      '03:04:05.067 WARN  HubSpot rate limit queue=crm-contacts waitMs=1500 reason="ten secondly" ids=["a","b"]\n',
    );
  });

  it('colours the level and dims time and keys on a terminal', () => {
    const line = formatLogLine(JSON.stringify({ level: 50, time: 0, msg: 'failed', job: 'j1' }), true);
    expect(line).toContain('\x1b[31mERROR\x1b[0m');
    expect(line).toContain('\x1b[2mjob=\x1b[0mj1');
    expect(formatLogLine(JSON.stringify({ level: 30, time: 0, msg: 'ok' }), true)).toContain('\x1b[32mINFO \x1b[0m');
  });

  it('shows an error by its message, and its stack below at error level', () => {
    const { log, lines } = capture('pretty');
    log.error({ err: new Error('HubSpot said no') }, 'job failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ERROR job failed err="HubSpot said no"\n {4}at /);
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatLogLine('plain text\n')).toBe('plain text\n');
  });

  it.each(['pretty', 'json'] as const)(
    '%s: no student e-mail or phone number, censored fields stay censored',
    (format) => {
      const { log, lines } = capture(format);
      log.info({ ...STUDENT, note: 'reply went to ana.lee@example.com' }, 'enrolled ana.lee@example.com');
      const text = lines.join('');
      expect(text).not.toMatch(/ana\.lee@example\.com|912345678|Ana Lee/);
      expect(text).toContain('a***@example.com');
      expect(text.match(/\[redacted\]/g)).toHaveLength(4); // email, phone, user.name, user.phone_number
      if (format === 'pretty') {
        expect(text).toContain(
          'INFO  enrolled a***@example.com email=[redacted] phone=[redacted] user={"name":"[redacted]","phone_number":"[redacted]"} note="reply went to a***@example.com"\n',
        );
      }
    },
  );

  it('is chosen by LOG_FORMAT: auto is readable only on a terminal, json and pretty always', () => {
    expect(logFormatFor('auto', true)).toBe('pretty');
    expect(logFormatFor('auto', false)).toBe('json');
    expect(logFormatFor('json', true)).toBe('json');
    expect(logFormatFor('pretty', false)).toBe('pretty');
  });
});

describe('course-sync start logs', () => {
  const env = (extra: Record<string, string> = {}) => ({
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: `log${Date.now()}`,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DASHBOARD_PASSWORD: 'pw',
    ...extra,
  });
  const listening = (stdout: string) => stdout.split('\n').find((l) => l.includes('listening'));

  it('on a terminal: readable lines', async () => {
    const res = await runCli(['start', '--role', 'receiver'], env(), { ttyColumns: 100 });
    expect(res.code).toBe(0);
    expect(listening(res.stdout)).toMatch(
      // eslint-disable-next-line no-control-regex -- the ANSI colour codes are what this test checks
      /^\x1b\[2m\d\d:\d\d:\d\d\.\d{3}\x1b\[0m \x1b\[32mINFO \x1b\[0m listening \x1b\[2mport=\x1b\[0m\d+ \x1b\[2mrole=\x1b\[0mreceiver$/,
    );
    expect(res.stdout).not.toMatch(/^\{/m);
  });

  it('with LOG_FORMAT=json on a terminal, and by default when stdout is not a terminal: JSON', async () => {
    for (const res of [
      await runCli(['start', '--role', 'receiver'], env({ LOG_FORMAT: 'json' }), { ttyColumns: 100 }),
      await runCli(['start', '--role', 'receiver'], env()),
    ]) {
      expect(res.code).toBe(0);
      expect(JSON.parse(listening(res.stdout)!)).toMatchObject({
        level: 30,
        msg: 'listening',
        role: 'receiver',
        service: 'course-sync',
      });
      for (const line of res.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    }
  });
});
