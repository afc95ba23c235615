import { Client } from '@sendgrid/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';

// The account endpoints `course-sync doctor` reads, through the real @sendgrid/client.
let sg: SendGridEmulator;
const client = (key: string) => {
  const c = new Client();
  c.setApiKey(key);
  c.setDefaultRequest('baseUrl', sg.url);
  return c;
};
const get = async (key: string, url: string) => {
  try {
    const [res, body] = await client(key).request({ method: 'GET', url });
    return { status: res.statusCode, body };
  } catch (err) {
    const e = err as { code: number; response: { body: unknown } };
    return { status: e.code, body: e.response.body };
  }
};

beforeAll(async () => {
  sg = await startSendGridEmulator({
    verifiedSenders: ['Team@School.example', '@mail.example'],
    account: { scopes: ['mail.send', 'alerts.read'], pendingSenders: ['new@school.example'] },
  });
});
afterAll(() => sg.close());

describe('SendGrid emulator account endpoints', () => {
  it('GET /v3/scopes lists the key scopes', async () => {
    expect(await get(sg.apiKey, '/v3/scopes')).toEqual({ status: 200, body: { scopes: ['mail.send', 'alerts.read'] } });
  });

  it('GET /v3/verified_senders lists verified and pending single senders', async () => {
    const { status, body } = await get(sg.apiKey, '/v3/verified_senders');
    expect(status).toBe(200);
    expect(body.results.map((s: any) => [s.from_email, s.verified])).toEqual([
      ['team@school.example', true],
      ['new@school.example', false],
    ]);
  });

  it('GET /v3/whitelabel/domains lists the @domain entries as valid authenticated domains', async () => {
    const { status, body } = await get(sg.apiKey, '/v3/whitelabel/domains');
    expect(status).toBe(200);
    expect((body as any[]).map((d) => [d.domain, d.valid])).toEqual([['mail.example', true]]);
  });

  it("answers 401 with SendGrid's error body to a wrong key", async () => {
    const res = await get('SG.wrong', '/v3/scopes');
    expect(res.status).toBe(401);
    expect(res.body.errors[0].message).toMatch(/invalid, expired, or revoked/);
  });

  it('defaults to a key with mail.send only', async () => {
    const other = await startSendGridEmulator();
    try {
      const c = new Client();
      c.setApiKey(other.apiKey);
      c.setDefaultRequest('baseUrl', other.url);
      const [, body] = await c.request({ method: 'GET', url: '/v3/scopes' });
      expect(body).toEqual({ scopes: ['mail.send'] });
    } finally {
      await other.close();
    }
  });
});
