import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccountOptions } from './account.ts';
import { Outbox, type EmulatedTemplate } from './outbox.ts';
import { FixedWindowLimiter, type RateLimitOptions } from './rate-limit.ts';
import { EventPoster, type EventWebhookOptions } from './event-poster.ts';
import { createHandler, type EmulatorState, type RequestRecord } from './server.ts';
import type { MailSendBody } from './validation.ts';

export type { OutboxEmail, EmulatedTemplate } from './outbox.ts';
export type { RequestRecord } from './server.ts';
export type { EventWebhookOptions } from './event-poster.ts';
export type { RateLimitOptions } from './rate-limit.ts';
export { Outbox } from './outbox.ts';

export interface SendGridEmulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** The only API key accepted (Bearer); default a fixed `SG.`-prefixed test key. */
  apiKey?: string;
  /** Answer 429 with X-RateLimit-* headers past `limit` requests per `windowMs`; default none. */
  rateLimit?: RateLimitOptions;
  /** Largest accepted body; larger answers 413. Default 30 MB, SendGrid's message limit. */
  maxBodyBytes?: number;
  /** When given, a `from` outside these addresses (or `@domain`s) answers 403, as an unverified sender does. */
  verifiedSenders?: string[];
  /** API key scopes (default mail.send) and senders awaiting verification, for GET /v3/scopes and /v3/verified_senders. */
  account?: AccountOptions;
  /** Dynamic templates the outbox renders, by template id. */
  templates?: Record<string, EmulatedTemplate>;
  /** Post signed Event Webhook events for what is accepted: processed, then by recipient domain delivered, deferred, a bounce, opens and clicks, a spam report, unsubscribes… (event-script.ts). */
  eventWebhook?: EventWebhookOptions;
}

/** A running SendGrid emulator and its control API (for tests, benchmarks and the sandbox). */
export interface SendGridEmulator {
  /** Base URL to give `@sendgrid/client` (`setDefaultRequest('baseUrl', url)`). */
  url: string;
  apiKey: string;
  /** Every accepted email, one per personalization. */
  outbox: Outbox;
  /** Every Mail Send request answered (or dropped), oldest first. */
  requests: RequestRecord[];
  /** The next `n` Mail Send requests (after authentication) answer `status` (default 500); a 429 advertises a reset `resetInMs` (default 1000) ahead. */
  failNext(n: number, status?: number, opts?: { resetInMs?: number }): void;
  /** Every valid Mail Send request whose body `match`es answers `status` (until `reset()`), e.g. a 400 for some recipients. */
  failWhen(status: number, match: (mail: MailSendBody) => boolean): void;
  /** Turns the Event Webhook on (or, with null, off); `events` then has what was posted. */
  setEventWebhook(opts: EventWebhookOptions | null): void;
  /** The Event Webhook's poster, while it is on (`posted`, `flush()`). */
  readonly events: EventPoster | undefined;
  /** Sets (or with null removes) the request budget. */
  setRateLimit(limit: RateLimitOptions | null): void;
  /** Delays every Mail Send answer; a client that gives up first has its request dropped, not accepted. */
  setLatency(ms: number): void;
  /** Delays the 202 after the e-mail was accepted: a client that gives up (or dies) meanwhile never learns it was sent. */
  setAnswerDelay(ms: number): void;
  /** Drops every connection (as an outage does) until `up()`. */
  down(): void;
  up(): void;
  /** Empties the outbox and request log and clears faults, latency and outage. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_EMULATOR_API_KEY = 'SG.emulator-test-key';
const THIRTY_MB = 30 * 1024 * 1024;

/** Starts a SendGrid Mail Send v3 emulator speaking the real wire protocol. */
export async function startSendGridEmulator(opts: SendGridEmulatorOptions = {}): Promise<SendGridEmulator> {
  const state: EmulatorState = {
    apiKey: opts.apiKey ?? DEFAULT_EMULATOR_API_KEY,
    maxBodyBytes: opts.maxBodyBytes ?? THIRTY_MB,
    verifiedSenders: opts.verifiedSenders ? new Set(opts.verifiedSenders.map((s) => s.toLowerCase())) : undefined,
    account: opts.account ?? {},
    limiter: opts.rateLimit ? new FixedWindowLimiter(opts.rateLimit) : undefined,
    faults: [],
    latencyMs: 0,
    answerDelayMs: 0,
    down: false,
    outbox: new Outbox(opts.templates),
    requests: [],
    events: opts.eventWebhook ? new EventPoster(opts.eventWebhook) : undefined,
  };
  const handle = createHandler(state);
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ errors: [{ field: null, message: `emulator error: ${(err as Error).message}`, help: null }] }),
      );
    });
  });
  server.on('connection', (socket) => {
    if (state.down) socket.destroy();
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => ok());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    apiKey: state.apiKey,
    outbox: state.outbox,
    requests: state.requests,
    failNext(n, status = 500, o = {}) {
      for (let i = 0; i < n; i++) state.faults.push({ status, resetInMs: o.resetInMs ?? 1000 });
    },
    setEventWebhook(o) {
      state.events?.close();
      state.events = o ? new EventPoster(o) : undefined;
    },
    get events() {
      return state.events;
    },
    failWhen(status, match) {
      state.faults.push({ status, resetInMs: 1000, match });
    },
    setRateLimit(limit) {
      state.limiter = limit ? new FixedWindowLimiter(limit) : undefined;
    },
    setLatency(ms) {
      state.latencyMs = ms;
    },
    setAnswerDelay(ms) {
      state.answerDelayMs = ms;
    },
    down() {
      state.down = true;
      server.closeAllConnections();
    },
    up() {
      state.down = false;
    },
    reset() {
      state.outbox.clear();
      state.requests.length = 0;
      state.faults.length = 0;
      state.latencyMs = 0;
      state.answerDelayMs = 0;
      state.down = false;
    },
    close: () =>
      new Promise<void>((ok) => {
        state.events?.close();
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
