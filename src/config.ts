import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { settings, type Setting, type SettingName } from '../config/settings.ts';
import { MappingFileError, readContactMapping, type ContactMappingSpec } from './hubspot/contact-mapping-file.ts';
import { parseAddressRange } from './address-list.ts';
import { eventKeyProblem } from './receiver/sendgrid-signature.ts';
import { isEmail } from './privacy/email.ts';

/** A bad configuration value; the message names the key. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`config ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** The internal second port of /admin, /metrics and health (ADMIN_PORT), if any. */
  admin: { port?: number; host: string; publicUrl?: string; metricsToken?: string };
  logLevel: string;
  /** LOG_FORMAT: `auto` picks readable lines on a terminal, JSON elsewhere. */
  logFormat: 'auto' | 'json' | 'pretty';
  redis: { url?: string; dataDir: string; prefix: string; /** REDIS_URL is a node of a Redis Cluster. */ cluster: boolean };
  webhook: {
    secrets: string[];
    maxBodyBytes: number;
    ipAllowlist: string[];
    trustProxy: boolean;
    dedupeTtlSeconds: number;
    quarantineMax: number;
  };
  hubspot: {
    accessToken?: string;
    baseUrl: string;
    requestsPer10s: number;
    batchSize: number;
    batchWaitMs: number;
    /** How long a student's course record lives after its last write, in seconds. */
    contactRecordTtlSeconds: number;
    multiCurrency: boolean;
    phoneRegion: string;
    currencyDigits: Record<string, number>;
    /** HUBSPOT_COURSES_OBJECT: write course records (0-410) and associate students with them. */
    coursesObject: 'auto' | 'on' | 'off';
    /** HUBSPOT_CONTACT_MAPPING, read and checked: which contact property gets which enrollment field. */
    contactMapping: ContactMappingSpec;
  };
  sendgrid: {
    apiKey?: string;
    baseUrl: string;
    from: string;
    fromName: string;
    templateId?: string;
    language: 'en' | 'zh-TW';
    courseUrlPattern: string;
    concurrency: number;
    /** SendGrid's Event Webhook: the verification key (base64 DER SPKI), the oldest signed time taken, the grace of ambiguous sends. */
    events: { publicKeys: string[]; maxAgeSeconds?: number; graceSeconds: number; dedupeTtlSeconds: number };
    /** How long an enrollment's welcome email record (sent marker, status) is kept, in seconds. */
    sentRecordTtlSeconds: number;
    /** How long a sent email's X-Message-Id → enrollment entry is kept, in seconds. */
    messageIndexTtlSeconds: number;
  };
  jobs: { attempts: number; backoffMs: number; completedKeep: number };
  dashboard: {
    auth: 'basic' | 'proxy';
    user: string;
    password?: string;
    viewerUser: string;
    viewerPassword?: string;
    proxyUserHeader: string;
    proxyAllowlist: string[];
    operators: string[];
  };
  trace: { retentionDays: number; compactAfterSeconds: number; piiHashKey?: string };
  /** How long dead letters and quarantine entries (personal data) are kept. */
  privacy: { retentionDays: number };
  alerts: { webhookUrl?: string; oldestWaitingSeconds: number; checkIntervalSeconds: number; minIntervalSeconds: number; bounceRate: number; bounceMinSends: number };
  /** True when HubSpot and SendGrid are served by the built-in emulators. */
  sandbox: boolean;
}

type Env = Record<string, string | undefined>;

/** course-sync's own mapping file: today's built-in mapping, written out. */
const DEFAULT_CONTACT_MAPPING = fileURLToPath(new URL('../config/contact-mapping.json', import.meta.url));

/** Reads HUBSPOT_CONTACT_MAPPING (relative to the working directory; unset: the default file) and checks it. */
function contactMapping(given: string | undefined): ContactMappingSpec {
  const path = given ? (isAbsolute(given) ? given : resolve(given)) : DEFAULT_CONTACT_MAPPING;
  try {
    return readContactMapping(path);
  } catch (err) {
    if (err instanceof MappingFileError) throw new ConfigError('HUBSPOT_CONTACT_MAPPING', err.message);
    throw err;
  }
}

function parseValue(key: string, setting: Setting, raw: string): unknown {
  switch (setting.kind) {
    case 'string':
    case 'secret':
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(key, `expected a whole number, got "${raw}"`);
      const n = Number(raw);
      if (setting.min !== undefined && n < setting.min) throw new ConfigError(key, `must be at least ${setting.min}, got ${n}`);
      if (setting.max !== undefined && n > setting.max) throw new ConfigError(key, `must be at most ${setting.max}, got ${n}`);
      return n;
    }
    case 'fraction': {
      const n = Number(raw);
      if (!/^\d*\.?\d+$/.test(raw) || !(n >= 0 && n <= 1)) throw new ConfigError(key, `expected a share from 0 to 1 such as 0.05, got "${raw}"`);
      return n;
    }
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(key, `expected true or false, got "${raw}"`);
    case 'url': {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new ConfigError(key, 'is not a valid URL');
      }
      const allowed = key === 'REDIS_URL' ? ['redis:', 'rediss:'] : ['http:', 'https:'];
      if (!allowed.includes(url.protocol)) throw new ConfigError(key, `must start with ${allowed.map((p) => p + '//').join(' or ')}`);
      return raw.replace(/\/+$/, '');
    }
    case 'list':
    case 'secret-list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'enum':
      if (!setting.values!.includes(raw)) throw new ConfigError(key, `must be one of ${setting.values!.join(', ')}, got "${raw}"`);
      return raw;
    case 'map-int': {
      const out: Record<string, number> = {};
      for (const pair of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
        const m = /^([A-Za-z]{3})\s*=\s*(\d)$/.exec(pair);
        if (!m) throw new ConfigError(key, `expected entries like "TWD=0", got "${pair}"`);
        out[m[1]!.toUpperCase()] = Number(m[2]);
      }
      return out;
    }
  }
}

/** Reads every setting from `env`, falling back to the documented defaults. */
function readAll(env: Env): Record<SettingName, any> {
  const out = {} as Record<SettingName, any>;
  for (const [key, setting] of Object.entries(settings) as [SettingName, Setting][]) {
    const given = env[key];
    const raw = given !== undefined && given !== '' ? given : setting.default;
    out[key] = raw === undefined ? undefined : parseValue(key, setting, raw);
  }
  return out;
}

/** Builds and validates the configuration; throws ConfigError naming the first bad key. */
export function loadConfig(env: Env = process.env): Config {
  const v = readAll(env);
  const production = v.NODE_ENV === 'production';
  const sandbox = !v.HUBSPOT_ACCESS_TOKEN && !v.SENDGRID_API_KEY;
  if (production) {
    if (!v.WEBHOOK_SECRET?.length) throw new ConfigError('WEBHOOK_SECRET', 'is required in production (the Loopwise signing key)');
    if (!v.HUBSPOT_ACCESS_TOKEN) throw new ConfigError('HUBSPOT_ACCESS_TOKEN', 'is required in production (sandbox emulators are for development only)');
    if (!v.SENDGRID_API_KEY) throw new ConfigError('SENDGRID_API_KEY', 'is required in production (sandbox emulators are for development only)');
  } else if (!sandbox) {
    if (!v.HUBSPOT_ACCESS_TOKEN) throw new ConfigError('HUBSPOT_ACCESS_TOKEN', 'is missing while SENDGRID_API_KEY is set: give both, or neither for sandbox mode');
    if (!v.SENDGRID_API_KEY) throw new ConfigError('SENDGRID_API_KEY', 'is missing while HUBSPOT_ACCESS_TOKEN is set: give both, or neither for sandbox mode');
  }
  if (!/^[A-Za-z]{2}$/.test(v.PHONE_DEFAULT_REGION)) throw new ConfigError('PHONE_DEFAULT_REGION', `expected a two-letter region code such as TW, got "${v.PHONE_DEFAULT_REGION}"`);
  if (!isEmail(v.WELCOME_EMAIL_FROM)) throw new ConfigError('WELCOME_EMAIL_FROM', `is not an e-mail address: "${v.WELCOME_EMAIL_FROM}"`);
  for (const entry of v.WEBHOOK_IP_ALLOWLIST) if (!parseAddressRange(entry)) throw new ConfigError('WEBHOOK_IP_ALLOWLIST', `expected IP addresses or CIDR ranges, got "${entry}"`);
  // A redelivery the dedupe no longer recognises must still find the sent marker.
  if (v.SENT_MARKER_TTL_DAYS * 86_400 < v.DEDUPE_TTL_SECONDS) throw new ConfigError('SENT_MARKER_TTL_DAYS', `must cover DEDUPE_TTL_SECONDS (${v.DEDUPE_TTL_SECONDS} s = ${+(v.DEDUPE_TTL_SECONDS / 86_400).toFixed(2)} days), got ${v.SENT_MARKER_TTL_DAYS} days`);
  // A batch still young enough to be taken in must still be recognised when it comes again.
  const maxAge = v.SENDGRID_WEBHOOK_MAX_AGE_SECONDS;
  if (maxAge !== undefined && maxAge > v.SENDGRID_EVENT_DEDUPE_HOURS * 3600) throw new ConfigError('SENDGRID_EVENT_DEDUPE_HOURS', `must cover SENDGRID_WEBHOOK_MAX_AGE_SECONDS (${maxAge} s = ${+(maxAge / 3600).toFixed(2)} hours), got ${v.SENDGRID_EVENT_DEDUPE_HOURS} hours`);
  if (v.QUEUE_PREFIX.includes(':')) throw new ConfigError('QUEUE_PREFIX', 'may not contain ":"');
  if (v.REDIS_CLUSTER && !v.REDIS_URL) throw new ConfigError('REDIS_CLUSTER', 'needs REDIS_URL pointing at a node of the cluster (the private redis-server is a single node)');
  // Redis Cluster hashes only the part between the first "{" and the next "}": one tag puts every key in one slot.
  if (v.REDIS_CLUSTER && !/^[^{]*\{[^}]+\}/.test(v.QUEUE_PREFIX)) throw new ConfigError('QUEUE_PREFIX', `must hold a {hash-tag} when REDIS_CLUSTER is true, e.g. {${v.QUEUE_PREFIX}}, got "${v.QUEUE_PREFIX}"`);
  if (v.ADMIN_AUTH === 'proxy' && !v.ADMIN_PROXY_ALLOWLIST.length) throw new ConfigError('ADMIN_PROXY_ALLOWLIST', 'is required with ADMIN_AUTH=proxy: the addresses of the sign-on proxy (the user header is trusted from nowhere else)');
  for (const entry of v.ADMIN_PROXY_ALLOWLIST) if (!parseAddressRange(entry)) throw new ConfigError('ADMIN_PROXY_ALLOWLIST', `expected IP addresses or CIDR ranges such as 10.0.0.0/8, got "${entry}"`);
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(v.ADMIN_PROXY_USER_HEADER)) throw new ConfigError('ADMIN_PROXY_USER_HEADER', `is not a header name: "${v.ADMIN_PROXY_USER_HEADER}"`);
  if (v.ADMIN_PORT !== undefined && v.ADMIN_PORT !== 0 && v.ADMIN_PORT === v.PORT) throw new ConfigError('ADMIN_PORT', `must differ from PORT (${v.PORT})`);
  if (v.DASHBOARD_VIEWER_PASSWORD && v.DASHBOARD_VIEWER_USER === v.DASHBOARD_USER) throw new ConfigError('DASHBOARD_VIEWER_USER', `must differ from DASHBOARD_USER ("${v.DASHBOARD_USER}")`);
  if (v.DASHBOARD_VIEWER_PASSWORD && v.DASHBOARD_VIEWER_PASSWORD === v.DASHBOARD_PASSWORD) throw new ConfigError('DASHBOARD_VIEWER_PASSWORD', 'must differ from DASHBOARD_PASSWORD');
  for (const key of v.SENDGRID_WEBHOOK_PUBLIC_KEY) {
    const problem = eventKeyProblem(key);
    if (problem) throw new ConfigError('SENDGRID_WEBHOOK_PUBLIC_KEY', problem);
  }
  if (v.SENDGRID_WELCOME_TEMPLATE_ID && !/^d-[A-Za-z0-9]+$/.test(v.SENDGRID_WELCOME_TEMPLATE_ID)) throw new ConfigError('SENDGRID_WELCOME_TEMPLATE_ID', `must be a dynamic template id starting with "d-", got "${v.SENDGRID_WELCOME_TEMPLATE_ID}"`);

  return {
    env: v.NODE_ENV,
    port: v.PORT,
    host: v.HOST,
    admin: { port: v.ADMIN_PORT, host: v.ADMIN_HOST, publicUrl: v.PUBLIC_URL, metricsToken: v.METRICS_TOKEN },
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    redis: { url: v.REDIS_URL, dataDir: v.REDIS_DATA_DIR, prefix: v.QUEUE_PREFIX, cluster: v.REDIS_CLUSTER },
    webhook: {
      secrets: v.WEBHOOK_SECRET ?? [],
      maxBodyBytes: v.WEBHOOK_MAX_BODY_BYTES,
      ipAllowlist: v.WEBHOOK_IP_ALLOWLIST,
      trustProxy: v.TRUST_PROXY,
      dedupeTtlSeconds: v.DEDUPE_TTL_SECONDS,
      quarantineMax: v.QUARANTINE_MAX_ENTRIES,
    },
    hubspot: {
      accessToken: v.HUBSPOT_ACCESS_TOKEN,
      baseUrl: v.HUBSPOT_BASE_URL,
      requestsPer10s: v.HUBSPOT_REQUESTS_PER_10S,
      batchSize: v.HUBSPOT_BATCH_SIZE,
      batchWaitMs: v.HUBSPOT_BATCH_WAIT_MS,
      contactRecordTtlSeconds: v.CONTACT_RECORD_TTL_DAYS * 86_400,
      multiCurrency: v.HUBSPOT_MULTI_CURRENCY,
      phoneRegion: v.PHONE_DEFAULT_REGION.toUpperCase(),
      currencyDigits: v.CURRENCY_DIGITS,
      coursesObject: v.HUBSPOT_COURSES_OBJECT,
      contactMapping: contactMapping(env.HUBSPOT_CONTACT_MAPPING || undefined),
    },
    sendgrid: {
      apiKey: v.SENDGRID_API_KEY,
      baseUrl: v.SENDGRID_BASE_URL,
      from: v.WELCOME_EMAIL_FROM,
      fromName: v.WELCOME_EMAIL_FROM_NAME,
      templateId: v.SENDGRID_WELCOME_TEMPLATE_ID || undefined,
      language: v.WELCOME_EMAIL_LANGUAGE,
      courseUrlPattern: v.COURSE_URL_PATTERN,
      concurrency: v.EMAIL_CONCURRENCY,
      events: { publicKeys: v.SENDGRID_WEBHOOK_PUBLIC_KEY, maxAgeSeconds: v.SENDGRID_WEBHOOK_MAX_AGE_SECONDS, graceSeconds: v.SENDGRID_EVENT_GRACE_SECONDS, dedupeTtlSeconds: v.SENDGRID_EVENT_DEDUPE_HOURS * 3600 },
      sentRecordTtlSeconds: v.SENT_MARKER_TTL_DAYS * 86_400,
      messageIndexTtlSeconds: v.SENDGRID_MESSAGE_INDEX_DAYS * 86_400,
    },
    jobs: { attempts: v.JOB_ATTEMPTS, backoffMs: v.JOB_BACKOFF_MS, completedKeep: v.COMPLETED_JOBS_KEEP },
    dashboard: {
      auth: v.ADMIN_AUTH,
      user: v.DASHBOARD_USER,
      password: v.DASHBOARD_PASSWORD,
      viewerUser: v.DASHBOARD_VIEWER_USER,
      viewerPassword: v.DASHBOARD_VIEWER_PASSWORD,
      proxyUserHeader: v.ADMIN_PROXY_USER_HEADER.toLowerCase(),
      proxyAllowlist: v.ADMIN_PROXY_ALLOWLIST,
      operators: v.ADMIN_OPERATORS,
    },
    trace: { retentionDays: v.TRACE_RETENTION_DAYS, compactAfterSeconds: v.TRACE_COMPACT_AFTER_SECONDS, piiHashKey: v.PII_HASH_KEY },
    privacy: { retentionDays: v.PII_RETENTION_DAYS },
    alerts: {
      webhookUrl: v.ALERT_WEBHOOK_URL,
      oldestWaitingSeconds: v.ALERT_OLDEST_WAITING_SECONDS,
      checkIntervalSeconds: v.ALERT_CHECK_INTERVAL_SECONDS,
      minIntervalSeconds: v.ALERT_MIN_INTERVAL_SECONDS,
      bounceRate: v.ALERT_BOUNCE_RATE,
      bounceMinSends: v.ALERT_BOUNCE_MIN_SENDS,
    },
    sandbox,
  };
}
