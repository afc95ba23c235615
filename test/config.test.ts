import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingGroups, settings } from '../config/settings.ts';
import { CONFIG_DOCS_PATH, renderConfigDocs } from '../scripts/config-docs.ts';
import { ConfigError, loadConfig } from '../src/config.ts';

const load = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env });

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const c = load({});
    expect(c.port).toBe(3000);
    expect(c.hubspot.baseUrl).toBe('https://api.hubapi.com');
    expect(c.sendgrid.baseUrl).toBe('https://api.sendgrid.com');
    expect(c.webhook.maxBodyBytes).toBe(1048576);
    expect(c.hubspot.requestsPer10s).toBe(100);
    expect(c.redis.dataDir).toBe('./data/redis');
    expect(c.sandbox).toBe(true);
  });

  it('reads comma-separated secrets for rotation and per-currency digits', () => {
    const c = load({ WEBHOOK_SECRET: 'new, old ', CURRENCY_DIGITS: 'twd=2, HUF=0' });
    expect(c.webhook.secrets).toEqual(['new', 'old']);
    expect(c.hubspot.currencyDigits).toEqual({ TWD: 2, HUF: 0 });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT', /whole number/],
    [{ PORT: '70000' }, 'PORT', /at most 65535/],
    [{ REDIS_URL: 'http://localhost:6379' }, 'REDIS_URL', /redis:\/\/ or rediss:\/\//],
    [{ HUBSPOT_BASE_URL: 'not a url' }, 'HUBSPOT_BASE_URL', /valid URL/],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY', /true or false/],
    [{ WELCOME_EMAIL_LANGUAGE: 'fr' }, 'WELCOME_EMAIL_LANGUAGE', /one of en, zh-TW/],
    [{ CURRENCY_DIGITS: 'TWD:0' }, 'CURRENCY_DIGITS', /TWD=0/],
    [{ HUBSPOT_BATCH_SIZE: '101' }, 'HUBSPOT_BATCH_SIZE', /at most 100/],
    [{ WELCOME_EMAIL_FROM: 'nobody' }, 'WELCOME_EMAIL_FROM', /e-mail address/],
    [{ HUBSPOT_ACCESS_TOKEN: 'pat-x' }, 'SENDGRID_API_KEY', /give both/],
    [
      { SENT_MARKER_TTL_DAYS: '20' },
      'SENT_MARKER_TTL_DAYS',
      /must cover DEDUPE_TTL_SECONDS \(2592000 s = 30 days\), got 20 days/,
    ],
    [
      { SENDGRID_WEBHOOK_MAX_AGE_SECONDS: '360000' },
      'SENDGRID_EVENT_DEDUPE_HOURS',
      /must cover SENDGRID_WEBHOOK_MAX_AGE_SECONDS \(360000 s = 100 hours\), got 72 hours/,
    ],
    [{ PII_RETENTION_DAYS: '0' }, 'PII_RETENTION_DAYS', /at least 1/],
  ])('stops on %o naming %s', (env, key, message) => {
    let error: unknown;
    try {
      load(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as Error).message).toMatch(new RegExp(`^config ${key}: `));
    expect((error as Error).message).toMatch(message);
  });

  it('refuses production without the webhook secret or credentials', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/WEBHOOK_SECRET/);
    expect(() => loadConfig({ NODE_ENV: 'production', WEBHOOK_SECRET: 's' })).toThrow(/HUBSPOT_ACCESS_TOKEN/);
    expect(() => loadConfig({ NODE_ENV: 'production', WEBHOOK_SECRET: 's', HUBSPOT_ACCESS_TOKEN: 't' })).toThrow(
      /SENDGRID_API_KEY/,
    );
    const c = loadConfig({
      NODE_ENV: 'production',
      WEBHOOK_SECRET: 's',
      HUBSPOT_ACCESS_TOKEN: 't',
      SENDGRID_API_KEY: 'k',
    });
    expect(c.sandbox).toBe(false);
  });
});

describe('documentation', () => {
  it('groups every setting exactly once for docs/configuration.md', () => {
    const grouped = settingGroups.flatMap((g) => g.keys);
    expect([...grouped].sort()).toEqual(Object.keys(settings).sort());
    expect(new Set(grouped).size).toBe(grouped.length);
  });

  it('docs/configuration.md is the output of scripts/config-docs.ts (run `npm run docs:config` after changing settings)', () => {
    const page = readFileSync(CONFIG_DOCS_PATH, 'utf8');
    expect(page).toBe(renderConfigDocs());
    for (const key of Object.keys(settings)) expect(page).toContain('`' + key + '`');
  });

  it('README links every page of docs/, and every link between the docs leads to a page that exists', () => {
    const root = new URL('../', import.meta.url);
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const pages = readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md'));
    expect(pages.filter((p) => !readme.includes(`(docs/${p})`))).toEqual([]);
    const broken: string[] = [];
    for (const [from, text] of [
      ['README.md', readme],
      ...pages.map((p) => [`docs/${p}`, readFileSync(new URL(`docs/${p}`, root), 'utf8')]),
    ] as [string, string][]) {
      for (const m of text.matchAll(/\]\(([^)#\s]+\.md)(#[^)\s]*)?\)/g)) {
        const target = new URL(m[1]!, new URL(from, root));
        if (!existsSync(target)) broken.push(`${from} → ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
