import type { Client } from '@hubspot/api-client';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { readDailyUsage, readPortalDetails } from './account-info.ts';
import type { DailyLimitPauseRecord, DailyLimitStore } from './daily-limit-store.ts';
import { dailyResetAt, formatPortalTime } from './daily-reset.ts';
import { classifyHubSpotError, type HubSpotFailure } from './errors.ts';
import type { RequestBudget } from './request-budget.ts';

/** While paused, one request every this often checks whether HubSpot answers again (the limit raised). */
export const PROBE_INTERVAL_MS = 15 * 60_000;
const DEFAULT_CHECK_INTERVAL_MS = 30_000;
/** How long the process that meets the limit first has to find the reset before the others stop waiting on it. */
const LOOKUP_GRACE_MS = 30_000;

/** Who holds HubSpot work back while the pause lasts (the workers rate-limit both HubSpot queues). */
export interface DailyLimitObserver {
  /** Paused for `ms` more at least (a slice of the pause; told again on every check). */
  paused(ms: number, pause: DailyLimitPauseRecord): Promise<void>;
  /** The pause is over: take HubSpot work up again now. */
  resumed(pause: DailyLimitPauseRecord): Promise<void>;
}

export interface DailyLimitPauseOptions {
  client: Client;
  store: DailyLimitStore;
  budget: Pick<RequestBudget, 'block' | 'unblock'>;
  /** One cheap read the token may make (a page of one contact); its success ends the pause early. */
  probe: () => Promise<unknown>;
  observer?: DailyLimitObserver;
  metrics?: Pick<Metrics, 'apiCalls'>;
  log: Logger;
  /** Milliseconds since the epoch; default Date.now (a test passes the clock it gives the budget and emulator). */
  now?: () => number;
  /**
   * How often `start()` checks (default 30 s). The HubSpot queues are held for two checks at a time
   * and renewed by each: a process that dies mid-pause leaves no hours-long limit behind, and a hold
   * set just as the pause ends lapses within two checks.
   */
  checkIntervalMs?: number;
}

/**
 * HubSpot's daily API limit, for every process at once. On a 429 whose `policyName` is DAILY,
 * `reached()` finds when the portal's day starts again (daily-reset.ts: `resetsAt` of the usage
 * endpoint, else midnight in the portal's time zone, else midnight UTC), records the pause in Redis
 * (daily-limit-store.ts), blocks the shared request budget until then and has the observer hold both
 * HubSpot queues. `check()`, run every 30 s in each worker process, ends the pause at the reset, or
 * earlier when the probe — at most one request every 15 minutes, all processes together — succeeds.
 */
export class DailyLimitPause {
  private readonly now: () => number;
  private readonly checkIntervalMs: number;
  private entering?: Promise<DailyLimitPauseRecord>;
  private checking?: Promise<unknown>;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: DailyLimitPauseOptions) {
    this.now = opts.now ?? Date.now;
    this.checkIntervalMs = opts.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
  }

  /** HubSpot answered 429 DAILY: pauses HubSpot work until the reset (found once, by one caller at a time). */
  reached(): Promise<DailyLimitPauseRecord> {
    this.entering ??= this.enter().finally(() => (this.entering = undefined));
    return this.entering;
  }

  /** The pause in force now, if any. */
  async current(): Promise<DailyLimitPauseRecord | undefined> {
    const pause = await this.opts.store.readPause();
    return pause && pause.until > this.now() ? pause : undefined;
  }

  /** What a HubSpot call fails with while `pause` lasts: rate limited for a slice of it, no attempt used. */
  failure(pause: DailyLimitPauseRecord, hubspotSays?: string): Extract<HubSpotFailure, { kind: 'rate_limited' }> {
    const message = `HubSpot daily API limit reached${hubspotSays ? ` (${hubspotSays})` : ''}: HubSpot work paused until ${formatPortalTime(pause.until, pause.timeZone)}; jobs kept`;
    return { kind: 'rate_limited', status: 429, waitMs: this.slice(pause), policy: pause.policy, message };
  }

  /**
   * One round: nothing without a pause; at its reset, ends it; else renews the queues' hold and,
   * when no process has probed for 15 minutes, sends the probe — its success ends the pause.
   */
  async check(): Promise<'none' | 'paused' | 'resumed'> {
    const { store, observer, log } = this.opts;
    const pause = await store.readPause();
    if (!pause) return 'none';
    const now = this.now();
    if (now >= pause.until) return (await this.end(pause, 'its reset time came')) ? 'resumed' : 'none';
    await observer?.paused(this.slice(pause), pause);
    if (!(await store.claimProbe(now, PROBE_INTERVAL_MS))) return 'paused';
    try {
      await this.opts.probe();
      this.count('daily-limit.probe', '2xx');
    } catch (err) {
      const failure = classifyHubSpotError(err);
      this.count('daily-limit.probe', failure.status === undefined ? 'network' : String(failure.status));
      log.info(
        {
          status: failure.status,
          policy: failure.kind === 'rate_limited' ? failure.policy : undefined,
          until: new Date(pause.until).toISOString(),
        },
        `HubSpot daily limit probe: still refused (${failure.message}); next probe in 15 min`,
      );
      return 'paused';
    }
    return (await this.end(pause, 'a probe request succeeded (the limit was raised, or the day started again)'))
      ? 'resumed'
      : 'none';
  }

  /** Runs `check()` every `checkIntervalMs` until `stop()`; a round still running is not overlapped. */
  start(): void {
    this.timer = setInterval(() => {
      this.checking ??= this.check()
        .catch((err) => this.opts.log.warn({ err: (err as Error).message }, 'HubSpot daily limit check failed'))
        .finally(() => (this.checking = undefined));
    }, this.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  private slice(pause: DailyLimitPauseRecord): number {
    return Math.max(1, Math.min(2 * this.checkIntervalMs, Math.ceil(pause.until - this.now())));
  }

  private async enter(): Promise<DailyLimitPauseRecord> {
    const { store, budget, observer } = this.opts;
    const now = this.now();
    // Claimed for the time the look-up takes; the process that claims it finds the reset, the others wait on it.
    const claim: DailyLimitPauseRecord = {
      since: now,
      until: now + LOOKUP_GRACE_MS,
      policy: 'DAILY',
      resetSource: 'pending',
      probedAt: now,
    };
    const pause = (await store.startPause(claim, now))
      ? await this.findReset(now)
      : ((await store.readPause()) ?? claim);
    await budget.block(pause.until - now);
    await observer?.paused(this.slice(pause), pause);
    return pause;
  }

  /**
   * Finds when the portal's day starts again with two reads sent past the blocked budget (HubSpot
   * may refuse them too; then the next source is used), records the pause and says so in the log.
   */
  private async findReset(now: number): Promise<DailyLimitPauseRecord> {
    const { store, log } = this.opts;
    const usage = await this.lookup('account-info.api-usage', () => readDailyUsage(this.opts.client));
    const details = await this.lookup('account-info.details', () => readPortalDetails(this.opts.client));
    const reset = dailyResetAt({ resetsAt: usage?.resetsAt, timeZone: details?.timeZone }, now);
    const pause: DailyLimitPauseRecord = {
      since: now,
      until: reset.at,
      policy: 'DAILY',
      resetSource: reset.source,
      timeZone: details?.timeZone,
      usage: usage?.usage,
      limit: usage?.limit,
      probedAt: now,
    };
    await store.writePause(pause, now);
    if (usage)
      await store.writeUsage(
        { limit: usage.limit, remaining: Math.max(0, usage.limit - usage.usage), at: now, source: 'api-usage' },
        reset.at - now,
      );
    log.error(
      {
        until: new Date(reset.at).toISOString(),
        resetSource: reset.source,
        timeZone: details?.timeZone,
        usage: usage?.usage,
        limit: usage?.limit,
      },
      `HubSpot daily API limit reached: all HubSpot work PAUSED until ${formatPortalTime(reset.at, details?.timeZone)} (the portal's daily reset, from ${reset.source}); jobs are kept and use no attempt; one probe request every 15 min resumes earlier if the limit is raised`,
    );
    return pause;
  }

  /** Ends `pause` (once, whichever process gets there first); false when another already had. */
  private async end(pause: DailyLimitPauseRecord, why: string): Promise<boolean> {
    const { store, budget, observer, log } = this.opts;
    if (!(await store.clearPause())) return false;
    // Yesterday's figures (or those of the old limit): the next answers' headers bring today's.
    await store.clearUsage();
    await budget.unblock();
    await observer?.resumed(pause);
    log.warn(
      { since: new Date(pause.since).toISOString(), until: new Date(pause.until).toISOString() },
      `HubSpot daily API limit: HubSpot work RESUMED, ${why}`,
    );
    return true;
  }

  /** One account-info read, counted like every HubSpot call; undefined when HubSpot would not answer it. */
  private async lookup<T>(operation: string, read: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await read();
      this.count(operation, '200');
      return value;
    } catch (err) {
      const failure = classifyHubSpotError(err);
      this.count(operation, failure.status === undefined ? 'network' : String(failure.status));
      this.opts.log.info(
        { operation, status: failure.status },
        `HubSpot daily limit: ${operation} not read (${failure.message}); using the next source for the reset time`,
      );
      return undefined;
    }
  }

  private count(operation: string, status: string): void {
    this.opts.metrics?.apiCalls.inc({ api: 'hubspot', operation, status });
  }
}
