import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PortalAccount, type PortalOptions } from './account-info.ts';
import type { HubSpotBehaviour } from './behaviour.ts';
import { dailyHeaders, dailyLimitBody, type DayDecision } from './daily-limit.ts';
import { FaultQueue, faultBody, faultHeaders, type FaultOptions } from './faults.ts';
import { HubSpotHttpError, type RouteAnswer } from './http.ts';
import { rateLimitBody, rateLimitHeaders, RollingWindow, type WindowDecision } from './rate-limit.ts';
import { objectLibraryRefusal } from './object-library.ts';
import { match } from './routes.ts';
import { HubSpotState, type RequestLogEntry } from './state.ts';

export interface HubSpotEmulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** The private-app token it accepts as `Authorization: Bearer <token>` (default "emulator-token"). */
  token?: string;
  /** Burst limit per rolling window (default 100, HubSpot Free/Starter); undefined via setLimit() removes it. */
  requestsPer10s?: number;
  /** Length of the rolling window (default 10 000 ms, as HubSpot); tests may shorten it. */
  intervalMs?: number;
  /** Currencies with an `hs_price_<currency>` product property (multi-currency portals). */
  currencies?: string[];
  /** How to answer where HubSpot's documentation is silent (defaults in behaviour.ts). */
  behaviour?: Partial<HubSpotBehaviour>;
  /** The clock of the burst limit and the request log (default Date.now); tests pass their own. */
  now?: () => number;
  /** The portal: time zone and daily API limit (account-info.ts; default US/Eastern, 250,000 a day). */
  portal?: PortalOptions;
  /**
   * The Courses object (0-410) of the object library: `inactive` (default, as in a new portal: a
   * super admin activates it in Settings → Objects) or `active`.
   */
  coursesObject?: 'active' | 'inactive';
  /** The private app's scopes (default: every scope course-sync uses, the courses ones included). */
  scopes?: string[];
}

/** A running emulator: its URL and token for the client, its state for assertions, and its fault controls. */
export interface HubSpotEmulator {
  url: string;
  token: string;
  state: HubSpotState;
  /** Changes the burst limit; undefined removes it. */
  setLimit(requestsPerWindow: number | undefined): void;
  /** Changes the daily limit (today's count stays); undefined removes it. */
  setDailyLimit(callsPerDay: number | undefined): void;
  /**
   * Uses up what is left of today's daily limit: every call answers 429 DAILY until the portal's
   * midnight, or until `untilMs` (epoch ms, on the emulator's clock) when given — the usage
   * endpoint's `resetsAt` then says that instant.
   */
  exhaustDaily(untilMs?: number): void;
  /** Switches how the emulator answers where HubSpot's documentation is silent (see behaviour.ts). */
  setBehaviour(b: Partial<HubSpotBehaviour>): void;
  /** Activates or deactivates an object library object (e.g. "0-410", the Courses object), as a super admin does. */
  setObjectActive(objectTypeId: string, active: boolean): void;
  /** Replaces the private app's scopes. */
  setScopes(scopes: string[]): void;
  /** Adds a fault for the next matching requests, or with `down` closes (true) / reopens (false) the port. */
  injectFaults(f: FaultOptions): Promise<void>;
  clearFaults(): void;
  close(): Promise<void>;
}

const MAX_BODY = 5 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) fail(new HubSpotHttpError(413, 'VALIDATION_ERROR', 'Request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

function send(res: ServerResponse, answer: RouteAnswer, headers: Record<string, string>, origin: string): void {
  if (res.destroyed) return;
  const body = answer.status === 204 || answer.body === undefined ? undefined : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...headers,
    ...(answer.location ? { Location: `${origin}${answer.location}` } : {}),
    ...(body !== undefined ? { 'Content-Type': 'application/json;charset=utf-8' } : {}),
  });
  res.end(body);
}

/**
 * Starts the HubSpot emulator: the CRM endpoints course-sync calls, answering with HubSpot's
 * status codes, bodies and rate-limit headers (see docs/hubspot.md and docs/api-facts.md).
 */
export async function startHubSpotEmulator(opts: HubSpotEmulatorOptions = {}): Promise<HubSpotEmulator> {
  const token = opts.token ?? 'emulator-token';
  const host = opts.host ?? '127.0.0.1';
  const state = new HubSpotState(opts.currencies);
  state.setBehaviour(opts.behaviour);
  state.library.setActive('0-410', opts.coursesObject === 'active');
  if (opts.scopes) state.library.scopes = new Set(opts.scopes);
  const window = new RollingWindow('requestsPer10s' in opts ? opts.requestsPer10s : 100, opts.intervalMs ?? 10_000);
  const faults = new FaultQueue();
  const now = opts.now ?? Date.now;
  const portal = new PortalAccount(opts.portal ?? {}, now);
  const sockets = new Set<Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const entry: RequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      at: now(),
    };
    state.requests.push(entry);
    const correlationId = state.correlationId();
    let limit: WindowDecision | undefined;
    let day: DayDecision | undefined;
    const answer = (a: RouteAnswer, extra: Record<string, string> = {}) => {
      entry.status = a.status;
      send(
        res,
        a,
        {
          'X-HubSpot-Correlation-Id': correlationId,
          ...(limit ? rateLimitHeaders(limit) : {}),
          ...(day ? dailyHeaders(day) : {}),
          ...extra,
        },
        `http://${req.headers.host ?? host}`,
      );
    };
    try {
      const raw = await readBody(req);
      try {
        entry.body = raw ? JSON.parse(raw) : undefined;
      } catch {
        throw new HubSpotHttpError(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1: not valid JSON');
      }
      const fault = faults.take({ method: entry.method, path: entry.path, body: entry.body });
      if (fault?.delayMs) await sleep(fault.delayMs);
      if (fault?.reset) {
        entry.status = 0;
        req.socket.destroy();
        return;
      }
      if (fault?.status)
        return answer({ status: fault.status, body: faultBody(fault.status, correlationId) }, faultHeaders(fault));

      if (req.headers.authorization !== `Bearer ${token}`) {
        return answer({
          status: 401,
          body: {
            status: 'error',
            message:
              'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
            correlationId,
            category: 'INVALID_AUTHENTICATION',
          },
        });
      }
      // The daily limit (daily-limit.ts) refuses first; a call the burst limit refuses is not counted.
      day = portal.check(entry.path);
      if (!day.allowed) return answer({ status: 429, body: dailyLimitBody(correlationId) });
      limit = window.take(now());
      if (!limit.allowed) return answer({ status: 429, body: rateLimitBody(correlationId) });
      day = portal.daily.count(now());

      const refusal = objectLibraryRefusal(state, entry.method, entry.path);
      if (refusal) throw refusal;
      const found = match(entry.method, entry.path);
      if (!found)
        throw new HubSpotHttpError(
          404,
          'OBJECT_NOT_FOUND',
          `No endpoint ${entry.method} ${entry.path} in the emulator`,
        );
      answer(
        found.route.handler({
          state,
          portal,
          params: found.params,
          query: url.searchParams,
          body: entry.body,
          correlationId,
        }),
      );
    } catch (err) {
      if (err instanceof HubSpotHttpError) return answer({ status: err.status, body: err.body(correlationId) });
      answer({
        status: 500,
        body: { status: 'error', message: (err as Error).message, correlationId, category: 'INTERNAL_ERROR' },
      });
    }
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const listen = (port: number) =>
    new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, host, () => {
        server.off('error', fail);
        ok();
      });
    });
  await listen(opts.port ?? 0);
  const port = (server.address() as { port: number }).port;
  let down = false;

  const stop = () =>
    new Promise<void>((ok) => {
      server.close(() => ok());
      for (const s of sockets) s.destroy();
    });

  return {
    url: `http://${host}:${port}`,
    token,
    state,
    setLimit: (n) => window.setLimit(n),
    setDailyLimit: (n) => portal.daily.setLimit(n),
    exhaustDaily: (untilMs) => portal.daily.exhaust(now(), untilMs),
    setBehaviour: (b) => state.setBehaviour(b),
    setObjectActive: (id, active) => state.library.setActive(id, active),
    setScopes: (scopes) => void (state.library.scopes = new Set(scopes)),
    async injectFaults(f) {
      if (f.down === true && !down) {
        down = true;
        await stop();
      } else if (f.down === false && down) {
        down = false;
        await listen(port);
      }
      if (f.status !== undefined || f.reset || f.delayMs !== undefined) faults.add(f);
    },
    clearFaults: () => faults.clear(),
    close: async () => {
      if (!down) await stop();
      down = true;
    },
  };
}
