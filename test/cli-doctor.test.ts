import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { startLocalRedis, type LocalRedis } from '../src/redis/local-server.ts';
import { runCli } from './support/cli.ts';
import { redisUrl, SECRET } from './support/env.ts';

const FROM = 'team@school.example';
let hs: HubSpotEmulator;
let sg: SendGridEmulator;

/** The environment of a fully configured deployment, pointed at the emulators and the test Redis. */
const env = (over: Record<string, string> = {}) => ({
  REDIS_URL: redisUrl(),
  WEBHOOK_SECRET: SECRET,
  HUBSPOT_ACCESS_TOKEN: hs.token,
  HUBSPOT_BASE_URL: hs.url,
  SENDGRID_API_KEY: sg.apiKey,
  SENDGRID_BASE_URL: sg.url,
  WELCOME_EMAIL_FROM: FROM,
  ...over,
});

/** The doctor's line for one check: status and detail. */
const line = (stdout: string, name: string) =>
  stdout
    .split('\n')
    .find((l) => l.slice(8).startsWith(name))
    ?.replace(/\s+/g, ' ');

beforeAll(async () => {
  hs = await startHubSpotEmulator();
  sg = await startSendGridEmulator({
    verifiedSenders: [FROM, '@mail.example'],
    account: { pendingSenders: ['new@school.example'] },
  });
});
afterAll(async () => {
  await hs.close();
  await sg.close();
});

describe('course-sync doctor', () => {
  it('prints help', async () => {
    const res = await runCli(['doctor', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Usage: course-sync doctor/);
    expect(res.stdout).toMatch(/maxmemory-policy noeviction/);
  });

  it('reports every check ok against the test Redis and the emulators, exit 0', async () => {
    const res = await runCli(['doctor'], env());
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(line(res.stdout, 'Redis reachable')).toMatch(/^ok Redis reachable redis:\/\/127.0.0.1:\d+/);
    expect(line(res.stdout, 'Redis version')).toMatch(/^ok Redis version \d+\.\d+\.\d+/);
    expect(line(res.stdout, 'Redis eviction policy')).toBe('ok Redis eviction policy noeviction');
    expect(line(res.stdout, 'Redis append-only file')).toBe('ok Redis append-only file on (appendfsync everysec)');
    expect(line(res.stdout, 'Webhook signing')).toBe('ok Webhook signing WEBHOOK_SECRET set (1 key accepted)');
    for (const name of [
      'HubSpot contacts',
      'HubSpot products',
      'HubSpot contact properties',
      'HubSpot product properties',
    ]) {
      expect(line(res.stdout, name)).toBe(`ok ${name} the token can read them`);
    }
    expect(line(res.stdout, 'HubSpot daily API limit')).toMatch(
      /^ok HubSpot daily API limit \d+ of 250,000 calls used today \(0\.0 %\); resets \d{4}-\d\d-\d\d 00:00 US\/Eastern \(portal time zone US\/Eastern\)$/,
    );
    expect(line(res.stdout, 'SendGrid API key')).toBe('ok SendGrid API key valid, with Mail Send permission');
    expect(line(res.stdout, 'SendGrid sender')).toBe(`ok SendGrid sender ${FROM} is a verified sender`);
    expect(res.stdout).toMatch(/No problems found\.$/m);

    // It asked the real questions, through the real clients.
    const gets = hs.state.requests
      .filter((r) => r.method === 'GET')
      .map((r) => `${r.path}?${new URLSearchParams(r.query)}`);
    expect(gets).toEqual(
      expect.arrayContaining([
        '/crm/v3/objects/contacts?limit=1',
        '/crm/v3/objects/products?limit=1',
        '/crm/v3/properties/contacts?',
        '/crm/v3/properties/products?',
        '/account-info/v3/api-usage/daily/private-apps?',
        '/account-info/v3/details?',
      ]),
    );
    expect(sg.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(
      expect.arrayContaining(['GET /v3/scopes 200', 'GET /v3/verified_senders 200']),
    );
  });

  it('accepts a sender in an authenticated domain', async () => {
    const res = await runCli(['doctor'], env({ WELCOME_EMAIL_FROM: 'hello@mail.example' }));
    expect(line(res.stdout, 'SendGrid sender')).toBe(
      'ok SendGrid sender hello@mail.example is in the authenticated domain mail.example',
    );
  });

  it('reports an unverified sender as a problem, exit 1', async () => {
    const res = await runCli(['doctor'], env({ WELCOME_EMAIL_FROM: 'nobody@elsewhere.example' }));
    expect(res.code).toBe(1);
    expect(line(res.stdout, 'SendGrid sender')).toMatch(
      /^problem SendGrid sender nobody@elsewhere.example is unverified: not a Single Sender/,
    );
    expect(res.stdout).toMatch(/fix: verify nobody@elsewhere.example as a Single Sender or authenticate its domain/);
    expect(res.stdout).toMatch(/1 problem found\./);
  });

  it('reports a sender awaiting verification as unverified', async () => {
    const res = await runCli(['doctor'], env({ WELCOME_EMAIL_FROM: 'new@school.example' }));
    expect(res.code).toBe(1);
    expect(line(res.stdout, 'SendGrid sender')).toBe(
      'problem SendGrid sender new@school.example is unverified (verification pending)',
    );
  });

  it('reports a refused HubSpot token as a problem with the fix, exit 1', async () => {
    const res = await runCli(['doctor'], env({ HUBSPOT_ACCESS_TOKEN: 'pat-na1-wrong' }));
    expect(res.code).toBe(1);
    expect(line(res.stdout, 'HubSpot contacts')).toBe('problem HubSpot contacts the token was refused (401)');
    expect(res.stdout).toMatch(/fix: set HUBSPOT_ACCESS_TOKEN to the access token of a HubSpot private app/);
    expect(res.stdout).not.toContain('pat-na1-wrong');
  });

  it('reports a SendGrid key that is refused, or lacks Mail Send', async () => {
    const refused = await runCli(['doctor'], env({ SENDGRID_API_KEY: 'SG.wrong' }));
    expect(refused.code).toBe(1);
    expect(line(refused.stdout, 'SendGrid API key')).toMatch(
      /^problem SendGrid API key refused \(401: The provided authorization grant is invalid, expired, or revoked\)/,
    );
    expect(line(refused.stdout, 'SendGrid sender')).toBe(
      'skipped SendGrid sender not checked: the API key does not work',
    );

    const noSend = await startSendGridEmulator({ verifiedSenders: [FROM], account: { scopes: ['alerts.read'] } });
    try {
      const res = await runCli(['doctor'], env({ SENDGRID_API_KEY: noSend.apiKey, SENDGRID_BASE_URL: noSend.url }));
      expect(res.code).toBe(1);
      expect(line(res.stdout, 'SendGrid API key')).toBe(
        'problem SendGrid API key valid but without Mail Send permission',
      );
    } finally {
      await noSend.close();
    }
  });

  it('skips HubSpot and SendGrid in sandbox mode', async () => {
    const res = await runCli(['doctor'], { REDIS_URL: redisUrl(), WEBHOOK_SECRET: SECRET });
    expect(res.code).toBe(0);
    expect(line(res.stdout, 'HubSpot')).toMatch(/^skipped HubSpot sandbox mode/);
    expect(line(res.stdout, 'SendGrid')).toMatch(/^skipped SendGrid sandbox mode/);
  });

  it('reports a missing WEBHOOK_SECRET and an unreachable Redis as problems', async () => {
    const res = await runCli(['doctor'], env({ REDIS_URL: 'redis://127.0.0.1:1', WEBHOOK_SECRET: '' }));
    expect(res.code).toBe(1);
    expect(line(res.stdout, 'Redis reachable')).toMatch(
      /^problem Redis reachable no answer from redis:\/\/127.0.0.1:1/,
    );
    expect(line(res.stdout, 'Webhook signing')).toMatch(/^problem Webhook signing WEBHOOK_SECRET is not set/);
  });
});

describe('course-sync doctor on a misconfigured Redis', () => {
  let local: LocalRedis;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-doctor-redis-'));
    local = await startLocalRedis({ dataDir: dir });
    const admin = new Redis(local.url);
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await admin.config('SET', 'appendonly', 'no');
    await admin.quit();
  });
  afterAll(async () => {
    await local.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports allkeys-lru and AOF off as problems with the fix, exit 1', async () => {
    const res = await runCli(['doctor'], env({ REDIS_URL: local.url }));
    expect(res.code).toBe(1);
    expect(line(res.stdout, 'Redis eviction policy')).toBe(
      'problem Redis eviction policy maxmemory-policy is allkeys-lru',
    );
    expect(res.stdout).toMatch(/fix: set maxmemory-policy noeviction/);
    expect(line(res.stdout, 'Redis append-only file')).toBe('problem Redis append-only file off');
    expect(res.stdout).toMatch(/2 problems found\./);
  });
});

describe('course-sync doctor where INFO and CONFIG are not allowed (managed Redis)', () => {
  const user = `doctor_${randomBytes(4).toString('hex')}`;
  let admin: Redis;

  beforeAll(async () => {
    admin = new Redis(redisUrl());
    await admin.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-info', '-config');
  });
  afterAll(async () => {
    await admin.call('ACL', 'DELUSER', user);
    await admin.quit();
  });

  it('reports version, eviction policy and AOF as unknown (not problems), exit 0', async () => {
    const url = redisUrl().replace('redis://', `redis://${user}:pw@`);
    const res = await runCli(['doctor'], env({ REDIS_URL: url }));
    expect(res.code).toBe(0);
    expect(line(res.stdout, 'Redis reachable')).toMatch(new RegExp(`^ok Redis reachable redis://${user}:\\*\\*\\*@`));
    expect(line(res.stdout, 'Redis version')).toMatch(/^unknown Redis version INFO is not allowed/);
    expect(line(res.stdout, 'Redis eviction policy')).toMatch(
      /^unknown Redis eviction policy neither INFO nor CONFIG GET/,
    );
    expect(line(res.stdout, 'Redis append-only file')).toMatch(/^unknown Redis append-only file/);
    expect(res.stdout).not.toContain(':pw@');
  });
});
