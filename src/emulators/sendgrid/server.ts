import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readRawBody } from '../../raw-body.ts';
import { accountAnswer, type AccountOptions } from './account.ts';
import type { EventPoster } from './event-poster.ts';
import type { Outbox } from './outbox.ts';
import { exhaustedHeaders, type FixedWindowLimiter } from './rate-limit.ts';
import { sandboxPage } from './sandbox-page.ts';
import type { SendGridError } from './schema.ts';
import { validateMailSend, type MailSendBody } from './validation.ts';

/** One request the emulator answered (or dropped), for assertions and benchmarks. */
export interface RequestRecord {
  at: string;
  method: string;
  path: string;
  /** HTTP status answered; 0 when the client had gone before the answer (request dropped). */
  status: number;
  messageId?: string;
  personalizations?: number;
  errors?: SendGridError[];
}

/** A fault to answer instead of processing a Mail Send request. */
export interface Fault {
  status: number;
  /** For 429: how long until the advertised X-RateLimit-Reset. */
  resetInMs: number;
  /** Only requests whose (valid) body this matches; checked after validation. */
  match?: (mail: MailSendBody) => boolean;
}

/** The emulator's mutable state, shared by the handler and the control API. */
export interface EmulatorState {
  apiKey: string;
  maxBodyBytes: number;
  verifiedSenders?: Set<string>;
  /** What the account endpoints (GET /v3/scopes, sender identities) report; see account.ts. */
  account: AccountOptions;
  limiter?: FixedWindowLimiter;
  faults: Fault[];
  latencyMs: number;
  /** Delay between accepting an e-mail and answering 202: a send whose answer is late or lost. */
  answerDelayMs: number;
  down: boolean;
  outbox: Outbox;
  requests: RequestRecord[];
  /** Posts SendGrid's events for what the outbox accepted, when the Event Webhook is on. */
  events?: EventPoster;
}

const MAX_REQUEST_RECORDS = 200_000;
/** X-RateLimit-Limit of an injected 429 when no rate limit is configured. */
const DEFAULT_ADVERTISED_LIMIT = 600;
const FAULT_MESSAGES: Record<number, string> = {
  400: 'Bad Request',
  401: 'authorization required',
  403: 'access forbidden',
  404: 'not found',
  405: 'method not allowed',
  413: 'content too large',
  429: 'too many requests',
  500: 'internal server error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
};
const UNVERIFIED_SENDER =
  'The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved. Visit https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to see the Sender Identity requirements';

function messageId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function errorBody(errors: SendGridError[]): { errors: SendGridError[] } {
  return { errors };
}

function plainError(status: number, message = FAULT_MESSAGES[status] ?? 'error'): { errors: SendGridError[] } {
  return errorBody([{ field: null, message, help: null }]);
}

/** The HTTP handler of the emulator: the sandbox page, the outbox JSON, and `POST /v3/mail/send`. */
export function createHandler(state: EmulatorState) {
  const record = (r: Omit<RequestRecord, 'at'>) => {
    if (state.requests.length >= MAX_REQUEST_RECORDS) state.requests.splice(0, MAX_REQUEST_RECORDS / 10);
    state.requests.push({ at: new Date().toISOString(), ...r });
  };

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (state.down) {
      req.socket.destroy();
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';

    if (method === 'GET' && (path === '/' || path === '/_emulator')) {
      const emails = state.outbox.all().slice(-200).reverse();
      const html = sandboxPage(emails, state.outbox.size);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html) });
      res.end(html);
      return;
    }
    if (path === '/_emulator/outbox') {
      if (method === 'DELETE') {
        state.outbox.clear();
        res.writeHead(204).end();
      } else sendJson(res, 200, state.outbox.all());
      return;
    }

    const answer = (status: number, body: { errors: SendGridError[] }, headers?: Record<string, string>) => {
      record({ method, path, status, errors: body.errors });
      sendJson(res, status, body, headers);
    };
    const account = accountAnswer(state, method, path, req.headers.authorization);
    if (account) {
      record({ method, path, status: account.status });
      return sendJson(res, account.status, account.body);
    }
    if (path !== '/v3/mail/send') return answer(404, plainError(404));
    if (method !== 'POST') return answer(405, plainError(405));

    let raw: Buffer;
    try {
      raw = await readRawBody(req, state.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return answer(413, plainError(413), { Connection: 'close' });
      return answer(400, plainError(400));
    }
    if (state.latencyMs > 0) {
      let gone = false;
      res.once('close', () => (gone = !res.writableFinished));
      await new Promise((ok) => setTimeout(ok, state.latencyMs));
      // The client gave up (timeout): like a request lost on the way, nothing is accepted.
      if (gone || res.destroyed) return record({ method, path, status: 0 });
    }

    const auth = req.headers.authorization;
    if (!auth) return answer(401, plainError(401, 'authorization required'));
    if (auth !== `Bearer ${state.apiKey}`)
      return answer(401, plainError(401, 'The provided authorization grant is invalid, expired, or revoked'));

    const next = state.faults.findIndex((f) => !f.match);
    const fault = next >= 0 ? state.faults.splice(next, 1)[0] : undefined;
    if (fault) {
      const headers =
        fault.status === 429
          ? exhaustedHeaders(state.limiter?.opts.limit ?? DEFAULT_ADVERTISED_LIMIT, fault.resetInMs)
          : undefined;
      return answer(fault.status, plainError(fault.status), headers);
    }
    let rateHeaders: Record<string, string> | undefined;
    if (state.limiter) {
      const limit = state.limiter.take();
      if (!limit.allowed) return answer(429, plainError(429), limit.headers);
      rateHeaders = limit.headers;
    }

    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return answer(400, plainError(400, 'Bad Request'), rateHeaders);
    }
    const errors = validateMailSend(body);
    if (errors.length) return answer(400, errorBody(errors), rateHeaders);
    const mail = body as MailSendBody;
    const matched = state.faults.find((f) => f.match?.(mail));
    if (matched) return answer(matched.status, plainError(matched.status), rateHeaders);
    if (state.verifiedSenders) {
      const from = mail.from.email.toLowerCase();
      if (!state.verifiedSenders.has(from) && !state.verifiedSenders.has(from.slice(from.indexOf('@')))) {
        return answer(403, errorBody([{ field: 'from', message: UNVERIFIED_SENDER, help: null }]), rateHeaders);
      }
    }

    const id = messageId();
    const accepted = state.outbox.accept(mail, id);
    for (const email of accepted) state.events?.accepted(email);
    record({ method, path, status: 202, messageId: id, personalizations: mail.personalizations.length });
    if (state.answerDelayMs > 0) await new Promise((ok) => setTimeout(ok, state.answerDelayMs));
    if (res.destroyed) return;
    res.writeHead(202, { 'X-Message-Id': id, 'Content-Length': 0, ...rateHeaders });
    res.end();
  };
}
