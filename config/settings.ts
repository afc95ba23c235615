/**
 * Every setting of course-sync: its environment variable, its default and what it means.
 * This table is the single source of defaults; `src/config.ts` reads the environment against it,
 * validates each value and stops start-up naming the key of a bad one. docs/configuration.md and
 * .env.example are generated from it (`npm run docs:config`, `npm run env:example`; tests keep
 * them in step), grouped by `settingGroups` below.
 */
export type SettingKind =
  'string' | 'secret' | 'int' | 'fraction' | 'bool' | 'url' | 'list' | 'secret-list' | 'enum' | 'map-int';

export interface Setting {
  kind: SettingKind;
  default?: string;
  doc: string;
  /** Allowed values for kind `enum`. */
  values?: readonly string[];
  /** Smallest allowed value for kind `int`. */
  min?: number;
  /** Largest allowed value for kind `int`. */
  max?: number;
}

export const settings = {
  ENV_FILE: {
    kind: 'string',
    default: '.env',
    doc: 'file of KEY=value settings that npm start and every course-sync command read at start, relative to the working folder (missing: none read); a variable set in the environment wins over the file; empty: read no file',
  },
  NODE_ENV: {
    kind: 'enum',
    default: 'development',
    values: ['development', 'production', 'test'],
    doc: 'production makes missing credentials and secrets start-up errors',
  },
  PORT: {
    kind: 'int',
    default: '3000',
    min: 0,
    max: 65535,
    doc: 'HTTP port of the receiver (and, without ADMIN_PORT, of /admin, /metrics and the health endpoints; 0 = any free port)',
  },
  HOST: { kind: 'string', default: '0.0.0.0', doc: 'address the HTTP server listens on' },
  ADMIN_PORT: {
    kind: 'int',
    min: 0,
    max: 65535,
    doc: 'serve /admin, /metrics, /healthz and /readyz on this second port (bound to ADMIN_HOST) and take them off PORT; unset: everything on PORT. A worker process (--role worker) serves /healthz, /readyz and its own /metrics there, and no port without it',
  },
  ADMIN_HOST: {
    kind: 'string',
    default: '127.0.0.1',
    doc: 'address the ADMIN_PORT server listens on (keep it internal)',
  },
  PUBLIC_URL: {
    kind: 'url',
    doc: "the service's own origin as browsers see it (https://sync.example.com), when the Host header cannot tell it: used to refuse cross-site requests to /admin",
  },
  METRICS_TOKEN: {
    kind: 'secret',
    doc: '/metrics requires "Authorization: Bearer <token>" (Prometheus\' authorization setting); unset: /metrics is open',
  },
  LOG_LEVEL: {
    kind: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'pino log level',
  },
  LOG_FORMAT: {
    kind: 'enum',
    default: 'auto',
    values: ['auto', 'json', 'pretty'],
    doc: 'auto: readable coloured lines when stdout is a terminal, JSON (one object per line) otherwise; json: always JSON; pretty: always readable lines',
  },

  REDIS_URL: { kind: 'url', doc: 'redis:// or rediss:// URL; unset: a private redis-server is started from PATH' },
  REDIS_DATA_DIR: {
    kind: 'string',
    default: './data/redis',
    doc: 'data folder of the private redis-server (AOF on, noeviction)',
  },
  QUEUE_PREFIX: {
    kind: 'string',
    default: 'course-sync',
    doc: 'key prefix of every queue and record; use a {hash-tag} such as {course-sync} on Redis Cluster',
  },
  REDIS_CLUSTER: {
    kind: 'bool',
    default: 'false',
    doc: 'REDIS_URL is one node of a Redis Cluster (the others are discovered); QUEUE_PREFIX must then hold a {hash-tag}, e.g. {course-sync}',
  },
  REDIS_SENTINELS: {
    kind: 'list',
    default: '',
    doc: 'comma-separated host:port of Redis Sentinels (port default 26379): every connection asks them for the current primary of REDIS_SENTINEL_MASTER and follows a failover; REDIS_URL, if set, then gives only the password, user, database and TLS (rediss://, also to the sentinels), not the address',
  },
  REDIS_SENTINEL_MASTER: {
    kind: 'string',
    default: 'mymaster',
    doc: 'with REDIS_SENTINELS: the master name the sentinels monitor (the name in their "sentinel monitor" line)',
  },
  REDIS_SENTINEL_PASSWORD: {
    kind: 'secret',
    doc: 'with REDIS_SENTINELS: the password of the sentinels themselves (their requirepass), when they have one',
  },
  REDIS_MIN_REPLICAS_ACK: {
    kind: 'int',
    default: '0',
    min: 0,
    max: 16,
    doc: 'answer a webhook 2xx only once this many replicas hold its write (Redis WAIT); otherwise 503 with Retry-After, and the sender retries. 0: answer once the primary has it (a failover can lose the last moments of acknowledged webhooks)',
  },
  REDIS_REPLICA_ACK_TIMEOUT_MS: {
    kind: 'int',
    default: '1000',
    min: 1,
    max: 4000,
    doc: 'with REDIS_MIN_REPLICAS_ACK: how long a webhook waits for the replicas before it is answered 503',
  },

  WEBHOOK_SECRET: {
    kind: 'secret-list',
    doc: 'Loopwise signing key; a comma-separated list accepts each (key rotation). Required in production',
  },
  WEBHOOK_MAX_BODY_BYTES: {
    kind: 'int',
    default: '1048576',
    min: 1024,
    doc: 'largest accepted webhook body; larger answers 413',
  },
  WEBHOOK_IP_ALLOWLIST: {
    kind: 'list',
    default: '',
    doc: 'comma-separated source addresses or CIDR ranges allowed to post webhooks (Loopwise sends from 52.194.91.27); empty = any',
  },
  TRUST_PROXY: {
    kind: 'bool',
    default: 'false',
    doc: 'take the client IP from X-Forwarded-For (only behind a reverse proxy you run)',
  },
  DEDUPE_TTL_SECONDS: {
    kind: 'int',
    default: '2592000',
    min: 60,
    doc: 'how long a delivered event is remembered to answer a redelivery with 200 duplicate (30 days)',
  },
  QUARANTINE_MAX_ENTRIES: {
    kind: 'int',
    default: '10000',
    min: 10,
    doc: 'rejected webhooks kept for inspection (oldest dropped first)',
  },

  HUBSPOT_ACCESS_TOKEN: {
    kind: 'secret',
    doc: 'HubSpot private-app token (scopes: crm.objects.contacts.write, crm.objects.products.write, crm.schemas.contacts.write, crm.schemas.products.write)',
  },
  HUBSPOT_BASE_URL: { kind: 'url', default: 'https://api.hubapi.com', doc: 'HubSpot API base URL' },
  HUBSPOT_REQUESTS_PER_10S: {
    kind: 'int',
    default: '100',
    min: 1,
    doc: 'request budget shared by all workers (Free/Starter 100, Professional/Enterprise 190)',
  },
  HUBSPOT_BATCH_SIZE: { kind: 'int', default: '100', min: 1, max: 100, doc: 'contacts per batch upsert call' },
  HUBSPOT_BATCH_WAIT_MS: {
    kind: 'int',
    default: '250',
    min: 0,
    doc: 'how long the contacts worker waits to fill a batch',
  },
  CONTACT_RECORD_TTL_DAYS: {
    kind: 'int',
    default: '30',
    min: 1,
    max: 3650,
    doc: "how long a student's course record (the courses written to loopwise_enrolled_courses, the HubSpot contact it is written to) is kept after its last write: a cache of HubSpot; a student met again later is re-read from HubSpot's property history, one batch read per 50 students",
  },
  HUBSPOT_MULTI_CURRENCY: {
    kind: 'bool',
    default: 'false',
    doc: 'the portal has multi-currency on: also write hs_price_<currency> on products',
  },
  PHONE_DEFAULT_REGION: {
    kind: 'string',
    default: 'TW',
    doc: 'region used to read phone numbers without a country code (E.164 output)',
  },
  CURRENCY_DIGITS: {
    kind: 'map-int',
    default: '',
    doc: 'per-currency decimal digits override, e.g. "TWD=0,HUF=2" (TWD is 0 by default)',
  },
  HUBSPOT_COURSES_OBJECT: {
    kind: 'enum',
    default: 'auto',
    values: ['auto', 'on', 'off'],
    doc: "HubSpot's Courses object (0-410): auto writes each course as a course record and associates enrolled students with it when the portal has the object active (checked at start and every 5 minutes), else works as without it; on requires it (start-up stops when it is not active); off never uses it",
  },
  HUBSPOT_CONTACT_MAPPING: {
    kind: 'string',
    default: 'config/contact-mapping.json',
    doc: 'JSON file saying which HubSpot contact property gets which enrollment field or constant ({"properties": {"<property>": "<source>" | {"value": "<constant>"}}}); relative paths from the working directory; unset: course-sync\'s own config/contact-mapping.json (the built-in mapping)',
  },

  SENDGRID_API_KEY: { kind: 'secret', doc: 'SendGrid API key with Mail Send permission' },
  SENDGRID_BASE_URL: { kind: 'url', default: 'https://api.sendgrid.com', doc: 'SendGrid API base URL' },
  WELCOME_EMAIL_FROM: {
    kind: 'string',
    default: 'no-reply@example.com',
    doc: 'sender address of the welcome email (a verified SendGrid sender)',
  },
  WELCOME_EMAIL_FROM_NAME: { kind: 'string', default: 'Course team', doc: 'sender name of the welcome email' },
  SENDGRID_WELCOME_TEMPLATE_ID: {
    kind: 'string',
    default: '',
    doc: 'dynamic template id (d-...); empty = built-in subject and bodies',
  },
  WELCOME_EMAIL_LANGUAGE: {
    kind: 'enum',
    default: 'en',
    values: ['en', 'zh-TW'],
    doc: 'language of the built-in welcome email',
  },
  COURSE_URL_PATTERN: {
    kind: 'string',
    default: 'https://school.example.com/courses/{slug}',
    doc: 'course link in the welcome email; {slug} and {id} are replaced',
  },
  EMAIL_CONCURRENCY: {
    kind: 'int',
    default: '50',
    min: 1,
    max: 1000,
    doc: 'welcome emails sent at the same time per worker process',
  },
  SENDGRID_WEBHOOK_PUBLIC_KEY: {
    kind: 'list',
    default: '',
    doc: "verification key of SendGrid's Signed Event Webhook (base64, as SendGrid shows it; a comma-separated list accepts each, for a key change); unset: POST /webhooks/sendgrid answers 404 in production and takes unsigned events elsewhere",
  },
  SENDGRID_WEBHOOK_MAX_AGE_SECONDS: {
    kind: 'int',
    min: 1,
    doc: 'refuse (401) event batches whose signed timestamp is older than this; unset: no age check (SendGrid retries for up to 24 h)',
  },
  SENT_MARKER_TTL_DAYS: {
    kind: 'int',
    default: '45',
    min: 1,
    max: 3650,
    doc: "how long each enrollment's welcome email record (sent marker and delivery status) is kept: exactly-once holds against redeliveries and replays this long; at least DEDUPE_TTL_SECONDS",
  },
  SENDGRID_MESSAGE_INDEX_DAYS: {
    kind: 'int',
    default: '7',
    min: 1,
    max: 365,
    doc: 'how long a welcome email can be matched by SendGrid events that carry no custom_args: by its X-Message-Id, or (no message id either, as asynchronous bounces) by the address it went to; later ones are counted, not applied',
  },
  SENDGRID_EVENT_DEDUPE_HOURS: {
    kind: 'int',
    default: '72',
    min: 1,
    max: 8760,
    doc: "how long a SendGrid event's sg_event_id is remembered to drop the same event posted again (SendGrid retries a batch for up to 24 h); at least SENDGRID_WEBHOOK_MAX_AGE_SECONDS",
  },
  SENDGRID_EVENT_GRACE_SECONDS: {
    kind: 'int',
    default: '120',
    min: 0,
    max: 3600,
    doc: "with the Event Webhook on: how long a retried welcome email whose earlier send may have gone out waits for SendGrid's event before sending again",
  },

  JOB_ATTEMPTS: {
    kind: 'int',
    default: '8',
    min: 1,
    max: 100,
    doc: 'attempts per job before it goes to the dead-letter queue',
  },
  JOB_BACKOFF_MS: {
    kind: 'int',
    default: '2000',
    min: 10,
    doc: 'first retry delay; doubles each attempt, with jitter',
  },
  COMPLETED_JOBS_KEEP: {
    kind: 'int',
    default: '1000',
    min: 0,
    doc: 'completed jobs kept per queue for the dashboard (older ones removed)',
  },

  DASHBOARD_USER: {
    kind: 'string',
    default: 'admin',
    doc: 'basic-auth user of the operator (may do everything in /admin)',
  },
  DASHBOARD_PASSWORD: {
    kind: 'secret',
    doc: 'basic-auth password of the operator; unset: admin is off in production, a random one is printed at start-up otherwise',
  },
  DASHBOARD_VIEWER_USER: {
    kind: 'string',
    default: 'viewer',
    doc: 'basic-auth user of the read-only viewer (pages, search, trace, bull-board read-only; every change refused)',
  },
  DASHBOARD_VIEWER_PASSWORD: { kind: 'secret', doc: 'basic-auth password of the viewer; unset: no viewer login' },
  ADMIN_AUTH: {
    kind: 'enum',
    default: 'basic',
    values: ['basic', 'proxy'],
    doc: 'basic: the passwords above; proxy: trust the user a sign-on proxy (oauth2-proxy, Pomerium, ...) names in ADMIN_PROXY_USER_HEADER',
  },
  ADMIN_PROXY_USER_HEADER: {
    kind: 'string',
    default: 'X-Forwarded-User',
    doc: 'with ADMIN_AUTH=proxy: the request header naming the signed-in user',
  },
  ADMIN_PROXY_ALLOWLIST: {
    kind: 'list',
    default: '',
    doc: 'with ADMIN_AUTH=proxy: addresses or CIDR ranges of the proxy; the header is trusted only from these (required)',
  },
  ADMIN_OPERATORS: {
    kind: 'list',
    default: '',
    doc: 'with ADMIN_AUTH=proxy: users (comma-separated) who are operators; everyone else the proxy lets in is a viewer',
  },

  TRACE_RETENTION_DAYS: {
    kind: 'int',
    default: '30',
    min: 1,
    max: 365,
    doc: 'how long the journey of each event (trace: its steps, ids and outcome) is kept for `course-sync trace` and /admin',
  },
  CALL_DETAIL_RETENTION_DAYS: {
    kind: 'int',
    default: '7',
    min: 1,
    max: 365,
    doc: "how long the HubSpot and SendGrid call details of a journey (each record's part of what was asked and answered, shown by `trace --calls` and /admin) are kept after the last call; at most TRACE_RETENTION_DAYS",
  },
  TRACE_COMPACT_AFTER_SECONDS: {
    kind: 'int',
    default: '120',
    min: 0,
    max: 86400,
    doc: "a finished journey's trace (every job done) and its call details are packed, each into one compressed value, this long after its last job, about a quarter of their memory; 0: never",
  },
  PII_RETENTION_DAYS: {
    kind: 'int',
    default: '30',
    min: 1,
    max: 3650,
    doc: "dead letters and quarantined webhooks (which hold students' personal data) older than this are purged automatically",
  },
  PII_HASH_KEY: {
    kind: 'secret',
    doc: 'key of the HMAC that indexes student e-mails for trace search; unset: a random key is made once and kept in Redis',
  },
  ALERT_WEBHOOK_URL: {
    kind: 'url',
    doc: 'Slack-compatible incoming webhook ({"text": ...}) for alerts; unset: alerts are only logged',
  },
  ALERT_OLDEST_WAITING_SECONDS: {
    kind: 'int',
    default: '900',
    min: 10,
    doc: "alert when a queue's oldest waiting job is older than this",
  },
  ALERT_CHECK_INTERVAL_SECONDS: {
    kind: 'int',
    default: '30',
    min: 1,
    max: 3600,
    doc: 'how often worker processes evaluate the alert conditions',
  },
  ALERT_BOUNCE_RATE: {
    kind: 'fraction',
    default: '0.05',
    doc: "alert when bounced + dropped welcome emails exceed this share of the last hour's sends",
  },
  ALERT_BOUNCE_MIN_SENDS: {
    kind: 'int',
    default: '20',
    min: 1,
    doc: 'the bounce alert needs at least this many sends in the last hour',
  },
  ALERT_MIN_INTERVAL_SECONDS: {
    kind: 'int',
    default: '300',
    min: 0,
    doc: 'at most one alert message per condition in this time; a change within it is sent when it passes',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof settings;

/** A concern settings are grouped by in docs/configuration.md. */
export interface SettingGroup {
  title: string;
  /** One sentence: what these settings decide. */
  about: string;
  keys: readonly SettingName[];
}

/** Every setting in exactly one group, in the order docs/configuration.md shows them (a test checks). */
export const settingGroups: readonly SettingGroup[] = [
  {
    title: 'Service and HTTP',
    about:
      'Which file settings are read from, where course-sync listens, which port serves the console and metrics, and how it logs.',
    keys: [
      'ENV_FILE',
      'NODE_ENV',
      'PORT',
      'HOST',
      'ADMIN_PORT',
      'ADMIN_HOST',
      'PUBLIC_URL',
      'METRICS_TOKEN',
      'LOG_LEVEL',
      'LOG_FORMAT',
    ],
  },
  {
    title: 'Redis',
    about: 'The one Redis every process shares: queues, dedupe records, traces.',
    keys: [
      'REDIS_URL',
      'REDIS_DATA_DIR',
      'QUEUE_PREFIX',
      'REDIS_CLUSTER',
      'REDIS_SENTINELS',
      'REDIS_SENTINEL_MASTER',
      'REDIS_SENTINEL_PASSWORD',
      'REDIS_MIN_REPLICAS_ACK',
      'REDIS_REPLICA_ACK_TIMEOUT_MS',
    ],
  },
  {
    title: 'Webhooks from Loopwise',
    about: 'Who may post, how large, and how long a delivery is remembered to answer its repeat.',
    keys: [
      'WEBHOOK_SECRET',
      'WEBHOOK_MAX_BODY_BYTES',
      'WEBHOOK_IP_ALLOWLIST',
      'TRUST_PROXY',
      'DEDUPE_TTL_SECONDS',
      'QUARANTINE_MAX_ENTRIES',
    ],
  },
  {
    title: 'HubSpot',
    about:
      'The private app, its request budget, contact batches and what course-sync remembers of each contact, products.',
    keys: [
      'HUBSPOT_ACCESS_TOKEN',
      'HUBSPOT_BASE_URL',
      'HUBSPOT_REQUESTS_PER_10S',
      'HUBSPOT_BATCH_SIZE',
      'HUBSPOT_BATCH_WAIT_MS',
      'CONTACT_RECORD_TTL_DAYS',
      'HUBSPOT_MULTI_CURRENCY',
      'PHONE_DEFAULT_REGION',
      'CURRENCY_DIGITS',
      'HUBSPOT_COURSES_OBJECT',
      'HUBSPOT_CONTACT_MAPPING',
    ],
  },
  {
    title: 'Welcome email (SendGrid)',
    about: "The key, the sender, the content, and how long each enrollment's email record holds exactly-once.",
    keys: [
      'SENDGRID_API_KEY',
      'SENDGRID_BASE_URL',
      'WELCOME_EMAIL_FROM',
      'WELCOME_EMAIL_FROM_NAME',
      'SENDGRID_WELCOME_TEMPLATE_ID',
      'WELCOME_EMAIL_LANGUAGE',
      'COURSE_URL_PATTERN',
      'EMAIL_CONCURRENCY',
      'SENT_MARKER_TTL_DAYS',
    ],
  },
  {
    title: 'Delivery events (SendGrid Event Webhook)',
    about: "Verifying SendGrid's signed events, matching them to welcome emails, and recognising repeats.",
    keys: [
      'SENDGRID_WEBHOOK_PUBLIC_KEY',
      'SENDGRID_WEBHOOK_MAX_AGE_SECONDS',
      'SENDGRID_MESSAGE_INDEX_DAYS',
      'SENDGRID_EVENT_DEDUPE_HOURS',
      'SENDGRID_EVENT_GRACE_SECONDS',
    ],
  },
  {
    title: 'Retries and kept jobs',
    about:
      'How often a failing job is tried before it becomes a dead letter, and how many finished jobs the dashboard keeps.',
    keys: ['JOB_ATTEMPTS', 'JOB_BACKOFF_MS', 'COMPLETED_JOBS_KEEP'],
  },
  {
    title: 'The console: sign-in and roles',
    about: 'Who may see /admin and who may change things there: passwords, or a sign-on proxy.',
    keys: [
      'DASHBOARD_USER',
      'DASHBOARD_PASSWORD',
      'DASHBOARD_VIEWER_USER',
      'DASHBOARD_VIEWER_PASSWORD',
      'ADMIN_AUTH',
      'ADMIN_PROXY_USER_HEADER',
      'ADMIN_PROXY_ALLOWLIST',
      'ADMIN_OPERATORS',
    ],
  },
  {
    title: 'Traces and personal data',
    about: "How long each event's journey and the students' data in dead letters and the quarantine are kept.",
    keys: [
      'TRACE_RETENTION_DAYS',
      'CALL_DETAIL_RETENTION_DAYS',
      'TRACE_COMPACT_AFTER_SECONDS',
      'PII_RETENTION_DAYS',
      'PII_HASH_KEY',
    ],
  },
  {
    title: 'Alerts',
    about: 'Where alerts go and what raises them.',
    keys: [
      'ALERT_WEBHOOK_URL',
      'ALERT_OLDEST_WAITING_SECONDS',
      'ALERT_CHECK_INTERVAL_SECONDS',
      'ALERT_BOUNCE_RATE',
      'ALERT_BOUNCE_MIN_SENDS',
      'ALERT_MIN_INTERVAL_SECONDS',
    ],
  },
];
