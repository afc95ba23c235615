import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, readAll, sentinelNodes, type Env } from './config-values.ts';
import { MappingFileError, readContactMapping, type ContactMappingSpec } from './contact-mapping/file.ts';

export { ConfigError } from './config-values.ts';
import { parseAddressRange } from './address-list.ts';
import { eventKeyProblem } from './sendgrid-signature.ts';
import { isEmail } from './privacy/email.ts';

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** The internal second port of /admin, /metrics and health (ADMIN_PORT), if any. */
  admin: { port?: number; host: string; publicUrl?: string; metricsToken?: string };
  logLevel: string;
  /** LOG_FORMAT: `auto` picks readable lines on a terminal, JSON elsewhere. */
  logFormat: 'auto' | 'json' | 'pretty';
  redis: {
    url?: string;
    dataDir: string;
    prefix: string;
    /** REDIS_URL is a node of a Redis Cluster. */
    cluster: boolean;
    /** REDIS_SENTINELS: the sentinels that name the current primary (REDIS_URL then gives only credentials, database and TLS). */
    sentinel?: { nodes: { host: string; port: number }[]; master: string; password?: string };
    /** REDIS_MIN_REPLICAS_ACK: replicas that must hold a webhook's write before it is answered 2xx (0: none), and the wait. */
    ack: { replicas: number; timeoutMs: number };
  };
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
  /** How long journeys are kept, and their call details (at most as long), in days; when finished traces are packed. */
  trace: { retentionDays: number; callRetentionDays: number; compactAfterSeconds: number; piiHashKey?: string };
  /** How long dead letters and quarantine entries (personal data) are kept. */
  privacy: { retentionDays: number };
  alerts: {
    webhookUrl?: string;
    oldestWaitingSeconds: number;
    checkIntervalSeconds: number;
    minIntervalSeconds: number;
    bounceRate: number;
    bounceMinSends: number;
  };
  /** True when HubSpot and SendGrid are served by the built-in emulators. */
  sandbox: boolean;
}

let defaults: Config | undefined;

/** The configuration with every setting at its default (config/settings.ts), for code run without one: tests, one-off tools. */
export function defaultConfig(): Config {
  return (defaults ??= loadConfig({}));
}

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

/** Builds and validates the configuration; throws ConfigError naming the first bad key. */
export function loadConfig(env: Env = process.env): Config {
  const v = readAll(env);
  const production = v.NODE_ENV === 'production';
  const sandbox = !v.HUBSPOT_ACCESS_TOKEN && !v.SENDGRID_API_KEY;
  if (production) {
    if (!v.WEBHOOK_SECRET?.length)
      throw new ConfigError('WEBHOOK_SECRET', 'is required in production (the Loopwise signing key)');
    if (!v.HUBSPOT_ACCESS_TOKEN)
      throw new ConfigError(
        'HUBSPOT_ACCESS_TOKEN',
        'is required in production (sandbox emulators are for development only)',
      );
    if (!v.SENDGRID_API_KEY)
      throw new ConfigError(
        'SENDGRID_API_KEY',
        'is required in production (sandbox emulators are for development only)',
      );
  } else if (!sandbox) {
    if (!v.HUBSPOT_ACCESS_TOKEN)
      throw new ConfigError(
        'HUBSPOT_ACCESS_TOKEN',
        'is missing while SENDGRID_API_KEY is set: give both, or neither for sandbox mode',
      );
    if (!v.SENDGRID_API_KEY)
      throw new ConfigError(
        'SENDGRID_API_KEY',
        'is missing while HUBSPOT_ACCESS_TOKEN is set: give both, or neither for sandbox mode',
      );
  }
  if (!/^[A-Za-z]{2}$/.test(v.PHONE_DEFAULT_REGION))
    throw new ConfigError(
      'PHONE_DEFAULT_REGION',
      `expected a two-letter region code such as TW, got "${v.PHONE_DEFAULT_REGION}"`,
    );
  if (!isEmail(v.WELCOME_EMAIL_FROM))
    throw new ConfigError('WELCOME_EMAIL_FROM', `is not an e-mail address: "${v.WELCOME_EMAIL_FROM}"`);
  for (const entry of v.WEBHOOK_IP_ALLOWLIST)
    if (!parseAddressRange(entry))
      throw new ConfigError('WEBHOOK_IP_ALLOWLIST', `expected IP addresses or CIDR ranges, got "${entry}"`);
  // A redelivery the dedupe no longer recognises must still find the sent marker.
  if (v.SENT_MARKER_TTL_DAYS * 86_400 < v.DEDUPE_TTL_SECONDS)
    throw new ConfigError(
      'SENT_MARKER_TTL_DAYS',
      `must cover DEDUPE_TTL_SECONDS (${v.DEDUPE_TTL_SECONDS} s = ${+(v.DEDUPE_TTL_SECONDS / 86_400).toFixed(2)} days), got ${v.SENT_MARKER_TTL_DAYS} days`,
    );
  // A batch still young enough to be taken in must still be recognised when it comes again.
  const maxAge = v.SENDGRID_WEBHOOK_MAX_AGE_SECONDS;
  if (maxAge !== undefined && maxAge > v.SENDGRID_EVENT_DEDUPE_HOURS * 3600)
    throw new ConfigError(
      'SENDGRID_EVENT_DEDUPE_HOURS',
      `must cover SENDGRID_WEBHOOK_MAX_AGE_SECONDS (${maxAge} s = ${+(maxAge / 3600).toFixed(2)} hours), got ${v.SENDGRID_EVENT_DEDUPE_HOURS} hours`,
    );
  if (v.QUEUE_PREFIX.includes(':')) throw new ConfigError('QUEUE_PREFIX', 'may not contain ":"');
  if (v.REDIS_CLUSTER && !v.REDIS_URL)
    throw new ConfigError(
      'REDIS_CLUSTER',
      'needs REDIS_URL pointing at a node of the cluster (the private redis-server is a single node)',
    );
  // Redis Cluster hashes only the part between the first "{" and the next "}": one tag puts every key in one slot.
  if (v.REDIS_CLUSTER && !/^[^{]*\{[^}]+\}/.test(v.QUEUE_PREFIX))
    throw new ConfigError(
      'QUEUE_PREFIX',
      `must hold a {hash-tag} when REDIS_CLUSTER is true, e.g. {${v.QUEUE_PREFIX}}, got "${v.QUEUE_PREFIX}"`,
    );
  const sentinels = sentinelNodes(v);
  if (v.ADMIN_AUTH === 'proxy' && !v.ADMIN_PROXY_ALLOWLIST.length)
    throw new ConfigError(
      'ADMIN_PROXY_ALLOWLIST',
      'is required with ADMIN_AUTH=proxy: the addresses of the sign-on proxy (the user header is trusted from nowhere else)',
    );
  for (const entry of v.ADMIN_PROXY_ALLOWLIST)
    if (!parseAddressRange(entry))
      throw new ConfigError(
        'ADMIN_PROXY_ALLOWLIST',
        `expected IP addresses or CIDR ranges such as 10.0.0.0/8, got "${entry}"`,
      );
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(v.ADMIN_PROXY_USER_HEADER))
    throw new ConfigError('ADMIN_PROXY_USER_HEADER', `is not a header name: "${v.ADMIN_PROXY_USER_HEADER}"`);
  if (v.ADMIN_PORT !== undefined && v.ADMIN_PORT !== 0 && v.ADMIN_PORT === v.PORT)
    throw new ConfigError('ADMIN_PORT', `must differ from PORT (${v.PORT})`);
  if (v.DASHBOARD_VIEWER_PASSWORD && v.DASHBOARD_VIEWER_USER === v.DASHBOARD_USER)
    throw new ConfigError('DASHBOARD_VIEWER_USER', `must differ from DASHBOARD_USER ("${v.DASHBOARD_USER}")`);
  if (v.DASHBOARD_VIEWER_PASSWORD && v.DASHBOARD_VIEWER_PASSWORD === v.DASHBOARD_PASSWORD)
    throw new ConfigError('DASHBOARD_VIEWER_PASSWORD', 'must differ from DASHBOARD_PASSWORD');
  for (const key of v.SENDGRID_WEBHOOK_PUBLIC_KEY) {
    const problem = eventKeyProblem(key);
    if (problem) throw new ConfigError('SENDGRID_WEBHOOK_PUBLIC_KEY', problem);
  }
  if (v.SENDGRID_WELCOME_TEMPLATE_ID && !/^d-[A-Za-z0-9]+$/.test(v.SENDGRID_WELCOME_TEMPLATE_ID))
    throw new ConfigError(
      'SENDGRID_WELCOME_TEMPLATE_ID',
      `must be a dynamic template id starting with "d-", got "${v.SENDGRID_WELCOME_TEMPLATE_ID}"`,
    );

  return {
    env: v.NODE_ENV,
    port: v.PORT,
    host: v.HOST,
    admin: { port: v.ADMIN_PORT, host: v.ADMIN_HOST, publicUrl: v.PUBLIC_URL, metricsToken: v.METRICS_TOKEN },
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    redis: {
      url: v.REDIS_URL,
      dataDir: v.REDIS_DATA_DIR,
      prefix: v.QUEUE_PREFIX,
      cluster: v.REDIS_CLUSTER,
      sentinel: sentinels.length
        ? { nodes: sentinels, master: v.REDIS_SENTINEL_MASTER, password: v.REDIS_SENTINEL_PASSWORD }
        : undefined,
      ack: { replicas: v.REDIS_MIN_REPLICAS_ACK, timeoutMs: v.REDIS_REPLICA_ACK_TIMEOUT_MS },
    },
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
      events: {
        publicKeys: v.SENDGRID_WEBHOOK_PUBLIC_KEY,
        maxAgeSeconds: v.SENDGRID_WEBHOOK_MAX_AGE_SECONDS,
        graceSeconds: v.SENDGRID_EVENT_GRACE_SECONDS,
        dedupeTtlSeconds: v.SENDGRID_EVENT_DEDUPE_HOURS * 3600,
      },
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
    trace: {
      retentionDays: v.TRACE_RETENTION_DAYS,
      callRetentionDays: Math.min(v.CALL_DETAIL_RETENTION_DAYS, v.TRACE_RETENTION_DAYS),
      compactAfterSeconds: v.TRACE_COMPACT_AFTER_SECONDS,
      piiHashKey: v.PII_HASH_KEY,
    },
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
