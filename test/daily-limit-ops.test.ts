import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AlertEngine } from '../src/alerts/engine.ts';
import { startHubSpotEmulator, type HubSpotEmulator } from '../src/emulators/hubspot/index.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { DailyLimitStore } from '../src/hubspot/daily-limit-store.ts';
import { createLogger } from '../src/log.ts';
import { openQueues } from '../src/queues/registry.ts';
import { runCli } from './support/cli.ts';
import { emulatorEnv, fixture, SECRET, SETTLE } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

// What ops see of HubSpot's daily limit, on a running service (real time), before and after it is reached.

/** A fixed-offset zone where it is about noon now, so the portal's midnight is hours away whenever this runs. */
function zoneAtNoon(): string {
  const offset = 12 - new Date().getUTCHours();
  return offset === 0 ? 'Etc/GMT' : offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

const PASSWORD = 'daily-limit-test-password';
const auth = { authorization: 'Basic ' + Buffer.from(`admin:${PASSWORD}`).toString('base64') };
const zone = zoneAtNoon();
let hs: HubSpotEmulator;
let sg: SendGridEmulator;
let t: Awaited<ReturnType<typeof startTestService>>;

const overview = async () => (await fetch(`${t.base}/admin/api/overview`, { headers: auth })).json();
const metrics = async () => (await fetch(`${t.base}/metrics`)).text();
const doctorEnv = () => ({
  REDIS_URL: t.service.redisUrl,
  QUEUE_PREFIX: t.config.redis.prefix,
  WEBHOOK_SECRET: SECRET,
  ...emulatorEnv(hs, sg),
  WELCOME_EMAIL_FROM: 'team@school.example',
});
/** The doctor's line for one check: status and detail. */
const line = (stdout: string, name: string) =>
  stdout
    .split('\n')
    .find((l) => l.slice(8).startsWith(name))
    ?.replace(/\s+/g, ' ');

beforeAll(async () => {
  hs = await startHubSpotEmulator({ portal: { timeZone: zone, accountInfoOverDailyLimit: 'answered' } });
  sg = await startSendGridEmulator({ verifiedSenders: ['team@school.example'] });
  t = await startTestService(
    { ...emulatorEnv(hs, sg), DASHBOARD_PASSWORD: PASSWORD, WELCOME_EMAIL_FROM: 'team@school.example' },
    'all',
  );
});
afterAll(async () => {
  await t?.stop();
  await hs?.close();
  await sg?.close();
});

describe("HubSpot's daily limit as ops see it", () => {
  it('before it is reached: the usage on the overview and in /metrics, the usage and reset time in doctor', async () => {
    expect((await t.post(fixture('course.student_enroll'))).status).toBe(202);
    await vi.waitFor(() => expect(hs.state.contact('student@example.com')).toBeDefined(), SETTLE);
    const o = await vi.waitFor(async () => {
      const body = await overview();
      expect(body.hubspotDaily.limit).toBe(250_000);
      return body;
    }, SETTLE);
    expect(o.hubspotDaily.paused).toBe(false);
    expect(o.cells['hubspot.daily.usage']).toMatch(/^\d+ of 250,000 \(0(\.0)? %\)$/);
    expect(o.cells['hubspot.daily.state']).toBe('not reached');
    expect(o.cells['hubspot.daily.banner']).toBe('');
    const text = await metrics();
    expect(text).toMatch(/^course_sync_hubspot_daily_limit_paused 0$/m);
    expect(text).toMatch(/^course_sync_hubspot_daily_calls_limit 250000$/m);
    expect(Number(/^course_sync_hubspot_daily_calls_remaining (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(249_900);

    const res = await runCli(['doctor'], doctorEnv());
    expect(line(res.stdout, 'HubSpot daily API limit')).toMatch(
      new RegExp(
        `^ok HubSpot daily API limit \\d+ of 250,000 calls used today \\(0\\.0 %\\); resets \\d{4}-\\d\\d-\\d\\d 00:00 ${zone.replace('+', '\\+')} \\(portal time zone ${zone.replace('+', '\\+')}\\)$`,
      ),
    );
    expect(res.code).toBe(0);
  });

  it('once reached: the overview names it, /metrics and the alert say so, doctor says it plainly', async () => {
    hs.exhaustDaily();
    const enroll = fixture('course.student_enroll');
    enroll.data.id = 'enroll_after_limit';
    enroll.data.user.email = 'late@example.com';
    expect((await t.post(enroll)).status).toBe(202);
    const store = new DailyLimitStore(t.redis, t.config.redis.prefix);
    const pause = await vi.waitFor(async () => {
      const p = await store.readPause();
      expect(p?.resetSource).toBe('api-usage');
      return p!;
    }, SETTLE);

    const o = await overview();
    expect(o.hubspotDaily).toMatchObject({
      paused: true,
      timeZone: zone,
      policy: 'DAILY',
      until: new Date(pause.until).toISOString(),
    });
    // Midnight in the portal's zone, named; the date is the portal's next day.
    const localDate = new Date(pause.until + Number(/[+-]\d+$/.exec(zone)?.[0] ?? 0) * -3_600_000)
      .toISOString()
      .slice(0, 10);
    expect(o.cells['hubspot.daily.banner']).toBe(
      `HubSpot daily API limit reached — HubSpot work paused until ${localDate} 00:00 ${zone} (portal time zone ${zone}); jobs kept`,
    );
    const html = await (await fetch(`${t.base}/admin`, { headers: auth })).text();
    expect(html).toContain(
      `<p class="paused-banner" role="status"><span data-cell="hubspot.daily.banner">${o.cells['hubspot.daily.banner']}</span></p>`,
    );

    const text = await metrics();
    expect(text).toMatch(/^course_sync_hubspot_daily_limit_paused 1$/m);
    expect(text).toContain(`course_sync_hubspot_daily_limit_reset_timestamp_seconds ${pause.until / 1000}\n`);
    expect(text).toMatch(/^course_sync_hubspot_daily_calls_remaining 0$/m);

    const sent: string[] = [];
    const queues = openQueues(t.redis, t.config);
    await new AlertEngine({
      config: t.config,
      log: createLogger('silent'),
      redis: t.redis,
      queues,
      notify: async (text) => void sent.push(text),
      worker: 'test',
    }).evaluate();
    await queues.close();
    expect(sent.filter((s) => s.includes('daily'))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^course-sync ALERT: HubSpot daily API limit reached \\(\\d[\\d,]* of 250,000 calls today\\): all HubSpot work is paused until .* 00:00 ${zone.replace('+', '\\+')} \\(portal time zone`,
        ),
      ),
    ]);

    const res = await runCli(['doctor'], doctorEnv());
    expect(res.code).toBe(1);
    expect(line(res.stdout, 'HubSpot daily API limit')).toMatch(
      /^problem HubSpot daily API limit reached: HubSpot work paused since .* until .* 00:00 .*; jobs kept$/,
    );
    expect(line(res.stdout, 'HubSpot contacts')).toBe(
      "problem HubSpot contacts HubSpot's daily API limit is reached (429 DAILY)",
    );
    expect(res.stdout).toContain('HubSpot work resumes by itself at the reset, every job kept');
  });
});
