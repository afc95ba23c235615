import type { MailDataRequired } from '@sendgrid/mail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/redis/local-server.ts';
import { createSendGridMail } from '../src/sendgrid/client.ts';
import { classifySendError, rateLimitWaitMs, type SendFailure } from '../src/sendgrid/send-errors.ts';
import { startScriptedServer, type ScriptedAnswer } from './support/scripted-server.ts';

// Every input is what @sendgrid/mail 8 really throws: a ResponseError (code = status, the body and
// axios' lower-cased headers under `response`), an AxiosError (a string code), or a plain Error
// when the library refuses the data before sending. A scripted server makes the answers.
let server: Awaited<ReturnType<typeof startScriptedServer>>;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(async () => server.close());

const MAIL: MailDataRequired = {
  to: 'ana@example.com',
  from: 'school@example.com',
  subject: 'Welcome',
  text: 'Hi Ana',
};
/** A fixed "now" for the X-RateLimit-Reset arithmetic: 100 s before 1 700 000 100. */
const NOW = 1_700_000_000_000;

/** The error `send` throws on `answer` (or on `data`, or from `baseUrl`). */
async function thrownOn(
  answer: ScriptedAnswer,
  opts: { data?: MailDataRequired; baseUrl?: string; timeoutMs?: number } = {},
): Promise<unknown> {
  server.answer(answer);
  const mail = createSendGridMail({
    apiKey: 'SG.test-key',
    baseUrl: opts.baseUrl ?? server.url,
    timeoutMs: opts.timeoutMs,
  });
  const err = await mail.send(opts.data ?? MAIL).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'send threw').toBeDefined();
  return err;
}

const errors = (...messages: [message: string, field?: string][]) => ({
  errors: messages.map(([message, field]) => ({ message, field: field ?? null, help: null })),
});

describe('classifySendError', () => {
  const cases: [title: string, answer: ScriptedAnswer, expected: SendFailure][] = [
    [
      '429 waits until X-RateLimit-Reset (Unix seconds)',
      {
        status: 429,
        headers: { 'X-RateLimit-Limit': '600', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1700000005' },
        body: errors(['too many requests']),
      },
      { kind: 'rate_limited', status: 429, waitMs: 5000, message: 'SendGrid 429: too many requests' },
    ],
    [
      '429 with X-RateLimit-Reset and Retry-After: the reset wins',
      {
        status: 429,
        headers: { 'X-RateLimit-Reset': '1700000030', 'Retry-After': '7' },
        body: errors(['too many requests']),
      },
      { kind: 'rate_limited', status: 429, waitMs: 30_000, message: 'SendGrid 429: too many requests' },
    ],
    [
      '429 with only Retry-After (seconds)',
      { status: 429, headers: { 'Retry-After': '7' }, body: errors(['too many requests']) },
      { kind: 'rate_limited', status: 429, waitMs: 7000, message: 'SendGrid 429: too many requests' },
    ],
    [
      '429 with a reset already past waits at least a second',
      { status: 429, headers: { 'X-RateLimit-Reset': '1699999990' }, body: {} },
      { kind: 'rate_limited', status: 429, waitMs: 1000, message: 'SendGrid 429: Too Many Requests' },
    ],
    [
      '429 with a reset a day away waits at most 15 minutes',
      { status: 429, headers: { 'X-RateLimit-Reset': '1700086400' }, body: {} },
      { kind: 'rate_limited', status: 429, waitMs: 15 * 60_000, message: 'SendGrid 429: Too Many Requests' },
    ],
    [
      '429 with no header waits a second',
      { status: 429, body: {} },
      { kind: 'rate_limited', status: 429, waitMs: 1000, message: 'SendGrid 429: Too Many Requests' },
    ],
    [
      "400: rejected with SendGrid's reasons and fields, addresses masked",
      {
        status: 400,
        body: errors(
          ['Does not contain a valid address.', 'personalizations.0.to.0.email'],
          ['The from address school@example.com does not match a verified Sender Identity.', 'from'],
        ),
      },
      {
        kind: 'rejected',
        status: 400,
        message:
          'SendGrid 400: Does not contain a valid address. (personalizations.0.to.0.email); The from address s***@example.com does not match a verified Sender Identity. (from)',
      },
    ],
    [
      '401: the API key',
      { status: 401, body: errors(['The provided authorization grant is invalid, expired, or revoked']) },
      {
        kind: 'rejected',
        status: 401,
        message: 'SendGrid 401: The provided authorization grant is invalid, expired, or revoked',
      },
    ],
    [
      '403: a sender or scope',
      { status: 403, body: errors(['access forbidden']) },
      { kind: 'rejected', status: 403, message: 'SendGrid 403: access forbidden' },
    ],
    [
      '413: too large, without errors[] (the status text instead)',
      { status: 413, body: {} },
      { kind: 'rejected', status: 413, message: 'SendGrid 413: Payload Too Large' },
    ],
    [
      '408: SendGrid gave up waiting for the request, retried',
      { status: 408, body: errors(['request timed out']) },
      { kind: 'transient', status: 408, message: 'SendGrid 408: request timed out' },
    ],
    [
      '500: retried',
      { status: 500, body: errors(['internal error']) },
      { kind: 'transient', status: 500, message: 'SendGrid 500: internal error' },
    ],
    [
      "503 with a proxy's HTML page",
      { status: 503, body: '<html>unavailable</html>' },
      { kind: 'transient', status: 503, message: 'SendGrid 503: Service Unavailable' },
    ],
  ];
  it.each(cases)('%s', async (_title, answer, expected) => {
    const err = await thrownOn(answer);
    expect(err).toMatchObject({ code: typeof answer === 'string' ? undefined : answer.status });
    expect(classifySendError(err, NOW)).toEqual(expected);
  });

  it('a timeout: transient, no status', async () => {
    const err = await thrownOn('silent', { timeoutMs: 50 });
    expect(classifySendError(err)).toEqual({
      kind: 'transient',
      message: 'SendGrid unreachable: ECONNABORTED timeout of 50ms exceeded',
    });
  });

  it('a connection refused or dropped: transient, no status', async () => {
    const refused = await thrownOn({ status: 200 }, { baseUrl: `http://127.0.0.1:${await freePort()}` });
    expect(classifySendError(refused)).toEqual({
      kind: 'transient',
      message: expect.stringMatching(/^SendGrid unreachable: ECONNREFUSED connect ECONNREFUSED 127\.0\.0\.1:\d+$/),
    });
    expect(classifySendError(await thrownOn('reset'))).toEqual({
      kind: 'transient',
      message: 'SendGrid unreachable: ECONNRESET socket hang up',
    });
  });

  it('a request the library refuses before sending: rejected with status 0', async () => {
    const err = await thrownOn(
      { status: 202 },
      { data: { from: 'school@example.com', subject: 'Welcome', text: 'Hi' } as MailDataRequired },
    );
    expect(classifySendError(err)).toEqual({
      kind: 'rejected',
      status: 0,
      message: 'Invalid mail request: Provide at least one of to, cc or bcc',
    });
  });

  it('masks addresses in the message of an error that came without an answer', () => {
    expect(classifySendError(new Error('cannot send to Ana.Lee@example.com or bo@example.org'))).toEqual({
      kind: 'rejected',
      status: 0,
      message: 'Invalid mail request: cannot send to A***@example.com or b***@example.org',
    });
  });
});

describe('rateLimitWaitMs (SendGrid)', () => {
  it.each([
    ['the reset, from now', { 'x-ratelimit-reset': '1700000002' }, 2000],
    ['a reset due now waits the one-second floor', { 'x-ratelimit-reset': '1700000000' }, 1000],
    ['Retry-After when no reset', { 'retry-after': '120' }, 120_000],
    ['a reset that is no number falls back to Retry-After', { 'x-ratelimit-reset': 'soon', 'retry-after': '3' }, 3000],
    ['Retry-After past the 15-minute ceiling', { 'retry-after': '86400' }, 15 * 60_000],
    ['nothing usable', { 'x-ratelimit-reset': '0', 'retry-after': '-1' }, 1000],
    ['no headers', undefined, 1000],
  ])('%s', (_title, headers, expected) => {
    expect(rateLimitWaitMs(headers, NOW)).toBe(expected);
  });
});
