import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { createSendGridMail } from '../src/sendgrid/client.ts';
import type { MailDataRequired } from '@sendgrid/mail';
import { SETTLE } from './support/env.ts';

let emu: SendGridEmulator;

const valid = () => ({
  personalizations: [{ to: [{ email: 'ana@example.com', name: 'Ana' }], custom_args: { enrollment_id: 'e1' } }],
  from: { email: 'school@example.com', name: 'School' },
  subject: 'Hello',
  content: [
    { type: 'text/plain', value: 'Hi Ana' },
    { type: 'text/html', value: '<p>Hi Ana</p>' },
  ],
});

/** The same email as @sendgrid/mail data, to `to`. */
const sendable = (to: string, from: string = 'school@example.com'): MailDataRequired => ({
  from,
  subject: 'Hello',
  text: 'Hi',
  personalizations: [{ to }],
});

/** POSTs a raw body to the emulator, as any HTTP client would. */
async function post(body: unknown, headers: Record<string, string> = { authorization: `Bearer ${emu.apiKey}` }) {
  const res = await fetch(`${emu.url}/v3/mail/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  emu = await startSendGridEmulator();
});
afterAll(async () => emu.close());
beforeEach(() => {
  emu.reset();
  emu.setRateLimit(null);
});

describe('through the real @sendgrid/mail', () => {
  it('answers 202 with X-Message-Id and an empty body, and keeps the email in the outbox', async () => {
    const mail = createSendGridMail({ apiKey: emu.apiKey, baseUrl: emu.url });
    const [res] = await mail.send({
      from: { email: 'school@example.com', name: 'School' },
      subject: 'Welcome',
      text: 'plain',
      html: '<p>html</p>',
      personalizations: [{ to: [{ email: 'ana@example.com', name: 'Ana' }], customArgs: { enrollment_id: 'e1' } }],
    });
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe('');
    expect(res.headers['x-message-id']).toMatch(/^[\w-]{22}$/);
    expect(emu.outbox.all()).toEqual([
      expect.objectContaining({
        messageId: res.headers['x-message-id'],
        to: [{ email: 'ana@example.com', name: 'Ana' }],
        from: { email: 'school@example.com', name: 'School' },
        subject: 'Welcome',
        text: 'plain',
        html: '<p>html</p>',
        customArgs: { enrollment_id: 'e1' },
      }),
    ]);
    expect(emu.requests.map((r) => r.status)).toEqual([202]);
  });

  it('answers 401 with SendGrid error body to a wrong API key', async () => {
    const mail = createSendGridMail({ apiKey: 'SG.wrong', baseUrl: emu.url });
    const err = await mail.send(sendable('ana@example.com')).catch((e) => e);
    expect(err.code).toBe(401);
    expect(err.response.body).toEqual({
      errors: [
        { field: null, message: 'The provided authorization grant is invalid, expired, or revoked', help: null },
      ],
    });
    expect(emu.outbox.size).toBe(0);
  });

  it('sends a dynamic template and keeps template id and data per personalization', async () => {
    const mail = createSendGridMail({ apiKey: emu.apiKey, baseUrl: emu.url });
    await mail.send({
      from: 'school@example.com',
      templateId: 'd-0123456789abcdef',
      personalizations: [
        { to: 'a@example.com', dynamicTemplateData: { first_name: 'A' } },
        { to: 'b@example.com', dynamicTemplateData: { first_name: 'B' } },
      ],
    });
    expect(emu.outbox.all().map((e) => [e.to[0]!.email, e.templateId, e.dynamicTemplateData, e.index])).toEqual([
      ['a@example.com', 'd-0123456789abcdef', { first_name: 'A' }, 0],
      ['b@example.com', 'd-0123456789abcdef', { first_name: 'B' }, 1],
    ]);
  });
});

describe('validation as the live API', () => {
  const personalizations = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ to: [{ email: `s${i}@example.com` }] }));
  it.each<[string, (b: any) => unknown, string, RegExp]>([
    ['no personalizations', (b) => delete b.personalizations, 'personalizations', /personalizations field is required/],
    ['empty personalizations', (b) => (b.personalizations = []), 'personalizations', /at least one personalization/],
    ['no from', (b) => delete b.from, 'from.email', /from object must be provided/],
    [
      'a bad from address',
      (b) => (b.from.email = 'school@'),
      'from.email',
      /from email does not contain a valid address/,
    ],
    ['no to', (b) => delete b.personalizations[0].to, 'personalizations.0.to', /to array is required/],
    [
      'an invalid recipient',
      (b) => (b.personalizations[0].to[0].email = 'ana@example'),
      'personalizations.0.to.0.email',
      /^Does not contain a valid address\.$/,
    ],
    [
      'a recipient with a space',
      (b) => (b.personalizations[0].to[0].email = 'ana maria@example.com'),
      'personalizations.0.to.0.email',
      /valid address/,
    ],
    [
      'to and cc repeating an address',
      (b) => (b.personalizations[0].cc = [{ email: 'ANA@example.com' }]),
      'personalizations.0',
      /unique between to, cc, and bcc/,
    ],
    [
      'an address in two personalizations',
      (b) => b.personalizations.push({ to: [{ email: 'ana@example.com' }] }),
      'personalizations',
      /only be included once/,
    ],
    [
      '1001 personalizations',
      (b) => (b.personalizations = personalizations(1001)),
      'personalizations',
      /limited to 1000 personalizations.*You have provided 1001/,
    ],
    ['no subject and no template', (b) => delete b.subject, 'subject', /subject is required/],
    ['no content and no template', (b) => delete b.content, 'content', /content parameter is required/],
    ['an empty content value', (b) => (b.content[0].value = ''), 'content.0.value', /at least one character/],
    ['html before text', (b) => b.content.reverse(), 'content', /text\/plain must be first/],
    [
      'personalizations of the wrong type',
      (b) => (b.personalizations = 'ana@example.com'),
      'personalizations',
      /Invalid type. Expected: array, given: string/,
    ],
    [
      'a number in custom_args',
      (b) => (b.personalizations[0].custom_args.n = 5),
      'personalizations.0.custom_args.n',
      /Expected: string/,
    ],
  ])('answers 400 to %s', async (_name, change, field, message) => {
    const body = valid();
    change(body);
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.json.errors).toContainEqual(expect.objectContaining({ field, message: expect.stringMatching(message) }));
    expect(emu.outbox.size).toBe(0);
  });

  it('accepts 1000 personalizations as 1000 emails', async () => {
    const res = await post({ ...valid(), personalizations: personalizations(1000) });
    expect(res.status).toBe(202);
    expect(emu.outbox.size).toBe(1000);
  });

  it('accepts a template without subject and content', async () => {
    const body: any = valid();
    delete body.subject;
    delete body.content;
    body.template_id = 'd-abc';
    expect((await post(body)).status).toBe(202);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const res = await post('{"personalizations": ');
    expect(res.status).toBe(400);
    expect(res.json.errors[0].message).toBe('Bad Request');
  });

  it('answers 401 without an Authorization header', async () => {
    const res = await post(valid(), {});
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ errors: [{ field: null, message: 'authorization required', help: null }] });
  });

  it('answers 404 to another path and 405 to another method', async () => {
    expect((await fetch(`${emu.url}/v3/mail/batch`, { method: 'POST' })).status).toBe(404);
    const res = await fetch(`${emu.url}/v3/mail/send`);
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ errors: [{ field: null, message: 'method not allowed', help: null }] });
  });
});

describe('limits and faults', () => {
  it('answers 413 to a body over the size limit', async () => {
    const small = await startSendGridEmulator({ maxBodyBytes: 2048 });
    try {
      const res = await fetch(`${small.url}/v3/mail/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${small.apiKey}` },
        body: JSON.stringify({ ...valid(), subject: 'x'.repeat(4096) }),
      });
      expect(res.status).toBe(413);
      expect((await res.json()).errors[0].message).toBe('content too large');
      expect(small.outbox.size).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('answers 429 with X-RateLimit headers past the budget', async () => {
    emu.setRateLimit({ limit: 2, windowMs: 60_000 });
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(await post({ ...valid(), personalizations: [{ to: [{ email: `r${i}@example.com` }] }] }));
    expect(statuses.map((r) => r.status)).toEqual([202, 202, 429]);
    const limited = statuses[2]!;
    expect(limited.json).toEqual({ errors: [{ field: null, message: 'too many requests', help: null }] });
    expect(limited.headers.get('x-ratelimit-limit')).toBe('2');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
    expect(emu.outbox.size).toBe(2);
  });

  it('injects the next N faults, then accepts again', async () => {
    emu.failNext(2, 503);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(valid())).status);
    expect(statuses).toEqual([503, 503, 202]);
    expect(emu.outbox.size).toBe(1);
    await post(valid());
    expect(emu.outbox.duplicates('enrollment_id')).toEqual([['e1', 2]]);
  });

  it('answers 403 to a sender that is not verified', async () => {
    const strict = await startSendGridEmulator({ verifiedSenders: ['@school.example'] });
    try {
      const mail = createSendGridMail({ apiKey: strict.apiKey, baseUrl: strict.url });
      const err = await mail.send(sendable('ana@example.com')).catch((e) => e);
      expect(err.code).toBe(403);
      expect(err.response.body.errors[0]).toMatchObject({
        field: 'from',
        message: expect.stringMatching(/verified Sender Identity/),
      });
      await mail.send(sendable('ana@example.com', 'team@school.example'));
      expect(strict.outbox.size).toBe(1);
    } finally {
      await strict.close();
    }
  });

  it('drops a request whose client timed out before the answer', async () => {
    emu.setLatency(300);
    const mail = createSendGridMail({ apiKey: emu.apiKey, baseUrl: emu.url, timeoutMs: 50 });
    const err = await mail.send(sendable('ana@example.com')).catch((e) => e);
    expect(err.code).toBe('ECONNABORTED');
    await vi.waitFor(() => expect(emu.requests).toHaveLength(1), SETTLE); // recorded once its latency is over
    expect(emu.requests.map((r) => r.status)).toEqual([0]);
    expect(emu.outbox.size).toBe(0);
  });

  it('refuses connections while down', async () => {
    emu.down();
    await expect(post(valid())).rejects.toThrow();
    emu.up();
    expect((await post(valid())).status).toBe(202);
  });
});

describe('sandbox page', () => {
  it('shows accepted emails with their HTML in a sandboxed frame, escaped', async () => {
    await post({
      ...valid(),
      subject: 'Hi <b>you</b>',
      content: [{ type: 'text/html', value: '<p>x</p><script>alert(1)</script>' }],
    });
    const page = await (await fetch(`${emu.url}/`)).text();
    expect(page).toContain('Hi &lt;b&gt;you&lt;/b&gt;');
    expect(page).toContain('<iframe sandbox="" srcdoc="&lt;p&gt;x&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;">');
    expect(page).not.toContain('<script>');
    const json = await (await fetch(`${emu.url}/_emulator/outbox`)).json();
    expect(json).toHaveLength(1);
  });

  it('renders a registered dynamic template with the data escaped in HTML', async () => {
    const withTemplate = await startSendGridEmulator({
      templates: { 'd-welcome': { subject: 'Welcome {{first_name}}', html: '<p>Hi {{first_name}}</p>' } },
    });
    try {
      const mail = createSendGridMail({ apiKey: withTemplate.apiKey, baseUrl: withTemplate.url });
      await mail.send({
        from: 'school@example.com',
        templateId: 'd-welcome',
        personalizations: [{ to: 'a@example.com', dynamicTemplateData: { first_name: '<i>A</i>' } }],
      });
      expect(withTemplate.outbox.all()[0]).toMatchObject({
        subject: 'Welcome <i>A</i>',
        html: '<p>Hi &lt;i&gt;A&lt;/i&gt;</p>',
      });
    } finally {
      await withTemplate.close();
    }
  });
});
