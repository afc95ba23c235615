import { Client as SendGridClient } from '@sendgrid/client';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { formatResults, ok, problem, skipped, type CheckResult } from '../doctor/check.ts';
import { checkHubSpot } from '../doctor/hubspot.ts';
import { checkCoursesObject, checkContactMapping } from '../doctor/hubspot-courses.ts';
import { checkHubSpotDailyLimit, readRecordedPause } from '../doctor/hubspot-daily.ts';
import { checkLocalRedisBinary, checkRedis } from '../doctor/redis.ts';
import { findLocalRedis } from '../redis/local-record.ts';
import { checkEventWebhook, checkSendGridKey, checkSendGridSender } from '../doctor/sendgrid.ts';
import { createHubSpotClient } from '../hubspot/client.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';

const CHECK_TIMEOUT_MS = 10_000;

/** Resolves to the checks' results, or to one problem line when they take longer than `ms`. */
async function within(name: string, ms: number, run: () => Promise<CheckResult[]>): Promise<CheckResult[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult[]>((resolve) => {
    timer = setTimeout(
      () =>
        resolve([problem(name, `no answer within ${ms / 1000} s`, 'check the network path and the service status')]),
      ms,
    );
  });
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where the settings came from: the environment, and the .env (ENV_FILE) read under it. */
function settingsFileCheck(file: string | undefined): CheckResult {
  if (file) return ok('Settings file', `${file} read (a variable set in the environment wins over it)`);
  return skipped('Settings file', 'no .env here (ENV_FILE): settings come from the environment only');
}

function webhookCheck(config: Config): CheckResult {
  const n = config.webhook.secrets.length;
  if (n) return ok('Webhook signing', `WEBHOOK_SECRET set (${n} key${n > 1 ? 's' : ''} accepted)`);
  // Sandbox mode is never production (config refuses it there): unsigned webhooks are what it is for.
  if (config.sandbox)
    return skipped(
      'Webhook signing',
      'sandbox mode needs no WEBHOOK_SECRET (webhooks are accepted unsigned); set it before going live',
    );
  return problem(
    'Webhook signing',
    'WEBHOOK_SECRET is not set: webhooks are accepted unsigned',
    "set WEBHOOK_SECRET to the signing key shown in Loopwise's webhook settings",
  );
}

async function hubspotChecks(config: Config): Promise<CheckResult[]> {
  if (!config.hubspot.accessToken)
    return [skipped('HubSpot', 'sandbox mode: no HUBSPOT_ACCESS_TOKEN, the built-in emulator stands in')];
  const client = createHubSpotClient(config.hubspot);
  return within('HubSpot', CHECK_TIMEOUT_MS, async () => {
    const access = await checkHubSpot(client, config.hubspot.baseUrl);
    const recorded = await readRecordedPause(config.redis, config.redis.prefix);
    return [
      ...access,
      await checkHubSpotDailyLimit(client, recorded),
      await checkCoursesObject(client, config.hubspot),
      await checkContactMapping(client, config.hubspot.contactMapping),
    ];
  });
}

async function sendgridChecks(config: Config): Promise<CheckResult[]> {
  if (!config.sendgrid.apiKey)
    return [skipped('SendGrid', 'sandbox mode: no SENDGRID_API_KEY, the built-in emulator stands in')];
  const client = new SendGridClient();
  client.setApiKey(config.sendgrid.apiKey);
  // setApiKey resets the base URL, so it is set after.
  client.setDefaultRequest('baseUrl', config.sendgrid.baseUrl);
  return within('SendGrid', CHECK_TIMEOUT_MS, async () => {
    const key = await checkSendGridKey(client, config.sendgrid.baseUrl);
    if (key.status === 'problem') return [key, skipped('SendGrid sender', 'not checked: the API key does not work')];
    return [key, await checkSendGridSender(client, config.sendgrid.from)];
  });
}

/**
 * The Redis checks: of REDIS_URL; without it, of the private Redis of the course-sync running from
 * this folder (REDIS_DATA_DIR), as the other commands find it; with none running, of the
 * redis-server that `start` would run.
 */
async function redisChecks(config: Config): Promise<CheckResult[]> {
  if (config.redis.url || config.redis.sentinel)
    return within('Redis', CHECK_TIMEOUT_MS, () => checkRedis(config.redis, config.redis.ack));
  const found = await findLocalRedis(config.redis.dataDir);
  if (found.state !== 'running') return checkLocalRedisBinary();
  const { url, pid, startedAt } = found.record;
  const service = ok(
    'Redis of the running service',
    `REDIS_URL not set: the private Redis of the course-sync started at ${startedAt} (pid ${pid})`,
  );
  return [service, ...(await within('Redis', CHECK_TIMEOUT_MS, () => checkRedis({ url }, config.redis.ack)))];
}

/** Runs every check against the configured Redis, HubSpot and SendGrid. */
export async function runDoctor(config: Config): Promise<CheckResult[]> {
  const [redis, hubspot, sendgrid] = await Promise.all([
    redisChecks(config),
    hubspotChecks(config),
    sendgridChecks(config),
  ]);
  return [
    ...redis,
    webhookCheck(config),
    ...hubspot,
    ...sendgrid,
    checkEventWebhook(config.sendgrid.events, config.env === 'production'),
  ];
}

/** Registers `course-sync doctor`: checks Redis, HubSpot and SendGrid and says how to fix what is wrong. */
export function registerDoctor(program: Command, io: CliIO): void {
  program
    .command('doctor')
    .description('check Redis, the HubSpot token, the SendGrid key and sender; print ok/problem with the fix')
    .addHelpText(
      'after',
      [
        '',
        'Checks: Redis reachable, version >= 6.2, maxmemory-policy noeviction, append-only file on (REDIS_URL,',
        'REDIS_SENTINELS, or the private Redis of the course-sync running from this folder); its replicas (how far',
        'behind each is) and whether REDIS_MIN_REPLICAS_ACK can be met; with REDIS_SENTINELS, what each sentinel',
        'says about REDIS_SENTINEL_MASTER (primary, replicas, quorum); WEBHOOK_SECRET set (not needed in sandbox',
        'mode); the HubSpot token can read contacts, products and their properties;',
        "HubSpot's daily API limit: calls used today, when it resets, and whether HubSpot work is paused for it;",
        'whether the Courses object is active and the token has its scopes (HUBSPOT_COURSES_OBJECT), and how to activate it;',
        'whether every property of the contact mapping (HUBSPOT_CONTACT_MAPPING) exists in the portal and takes what is written;',
        'the SendGrid key has Mail Send; WELCOME_EMAIL_FROM is a verified sender or in an authenticated domain.',
        'Configuration comes from the environment and the .env file of this folder (ENV_FILE), as for `start`.',
        '',
        'Example:',
        '  course-sync doctor',
        '',
        'Exit codes: 0 no problem (unknown and skipped lines are not problems); 1 at least one problem;',
        '2 bad configuration.',
      ].join('\n'),
    )
    .action(async () => {
      const config = loadConfig(io.env);
      const results = [settingsFileCheck(io.envFile), ...(await runDoctor(config))];
      io.out(formatResults(results));
      const problems = results.filter((r) => r.status === 'problem').length;
      io.out(problems ? `\n${problems} problem${problems > 1 ? 's' : ''} found.` : '\nNo problems found.');
      io.exitCode = problems ? EXIT.problem : EXIT.ok;
    });
}
