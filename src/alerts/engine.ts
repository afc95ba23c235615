import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { WORK_QUEUES } from '../queues/names.ts';
import type { QueueSet } from '../queues/registry.ts';
import { emailFigures, oldestWaitingSince } from '../stats/overview.ts';
import { readRecentMinutes, readSeries, sumSeries } from '../stats/counters.ts';
import { EMAIL_SCOPE, StatsKeys } from '../stats/keys.ts';
import { evaluateConditions, redisCondition, type AlertSnapshot, type ConditionResult } from './conditions.ts';
import { webhookNotifier, type Notify } from './notifier.ts';
import { MemoryAlertState, RedisAlertState, type AlertState, type Transition } from './state.ts';
import { recordKey } from '../redis/keys.ts';
import { readHubSpotDaily } from '../stats/hubspot-daily.ts';

/** 401/403 answers count against this many recent minutes. */
export const AUTH_WINDOW_MINUTES = 10;
const PING_TIMEOUT_MS = 2_000;

export interface AlertEngineDeps {
  config: Config;
  log: Logger;
  /** A worker connection: its reachability is the "Redis unreachable" condition. */
  redis: Redis;
  queues: QueueSet;
  /** Where messages go; default the ALERT_WEBHOOK_URL notifier (none: alerts are only logged). */
  notify?: Notify;
  /** How this process names itself in "Redis unreachable" alerts; default host:pid. */
  worker?: string;
  clock?: () => number;
}

/** A message the engine sent (or logged) in one round. */
export interface AlertMessage {
  id: string;
  transition: Extract<Transition, 'fire' | 'resolve'>;
  text: string;
}

/**
 * Evaluates the alert conditions on an interval in worker processes: a dead-letter queue grew, the
 * oldest waiting job is too old, HubSpot/SendGrid answered 401/403, Redis unreachable from this
 * worker. Each condition sends one message when it starts to hold and one when it clears, at most
 * one per ALERT_MIN_INTERVAL_SECONDS (a change inside that time is sent when it passes). Shared
 * conditions keep their state in Redis, so several worker processes send each message once.
 */
export class AlertEngine {
  private readonly shared: RedisAlertState;
  private readonly local: AlertState = new MemoryAlertState();
  private readonly keys: StatsKeys;
  private readonly notify?: Notify;
  private readonly worker: string;
  private readonly clock: () => number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(private readonly deps: AlertEngineDeps) {
    const prefix = deps.config.redis.prefix;
    this.shared = new RedisAlertState(deps.redis, prefix);
    this.keys = new StatsKeys(prefix);
    const url = deps.config.alerts.webhookUrl;
    this.notify = deps.notify ?? (url ? webhookNotifier(url) : undefined);
    this.worker = deps.worker ?? `${hostname()}:${process.pid}`;
    this.clock = deps.clock ?? Date.now;
  }

  /** Evaluates every condition once and sends what changed. */
  async evaluate(): Promise<AlertMessage[]> {
    const now = this.clock();
    const { reachable, error } = await this.ping();
    const sent = await this.apply(this.local, [redisCondition(this.worker, reachable, error)], now);
    if (!reachable) return sent;
    // Mark this worker alive (and forget ones not seen for a day: restarts leave old host:pid names).
    await this.deps.redis
      .multi()
      .zadd(this.heartbeatKey(), now, this.worker)
      .zremrangebyscore(this.heartbeatKey(), '-inf', now - 86_400_000)
      .exec();
    const { oldestWaitingSeconds, bounceRate, bounceMinSends } = this.deps.config.alerts;
    const thresholds = { oldestWaitingSeconds, bounceRate, bounceMinSends };
    return [...sent, ...(await this.apply(this.shared, evaluateConditions(await this.snapshot(now), thresholds), now))];
  }

  /** Evaluates now and then every ALERT_CHECK_INTERVAL_SECONDS; a round still running is not overlapped. */
  start(): void {
    const tick = () => {
      this.running ??= this.evaluate()
        .catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'alert evaluation failed'))
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.deps.config.alerts.checkIntervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stops evaluating and leaves the list of live workers. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    if (this.deps.redis.status === 'ready')
      await this.deps.redis.zrem(this.heartbeatKey(), this.worker).catch(() => undefined);
  }

  /** Sorted set of worker processes by the time their alert loop last reached Redis (for /metrics). */
  heartbeatKey(): string {
    return workersSeenKey(this.deps.config.redis.prefix);
  }

  private async ping(): Promise<{ reachable: boolean; error?: string }> {
    const redis = this.deps.redis;
    if (redis.status === 'end') return { reachable: false, error: 'connection closed' };
    // A connecting worker connection queues the PING until it is ready: give it the timeout to answer.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>(
      (_, fail) =>
        (timer = setTimeout(() => fail(new Error(`no PING answer in ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS)),
    );
    try {
      await Promise.race([redis.ping(), timeout]);
      return { reachable: true };
    } catch (err) {
      return { reachable: false, error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  private async snapshot(now: number): Promise<AlertSnapshot> {
    const { redis, queues } = this.deps;
    const prefix = this.deps.config.redis.prefix;
    const deadLetters = await Promise.all(
      WORK_QUEUES.map(async (queue) => {
        const size = await queues.deadLetter[queue].count();
        const key = recordKey(prefix, 'alert-baseline', queue);
        await redis.set(key, size, 'NX');
        let baseline = Number(await redis.get(key));
        // Replayed or purged below the quiet size: that lower size is the new quiet size.
        if (size < baseline) await redis.set(key, (baseline = size));
        return { queue, size, baseline };
      }),
    );
    const oldestWaiting = await Promise.all(
      WORK_QUEUES.map(async (queue) => {
        const since = await oldestWaitingSince(queues.work[queue]);
        return { queue, seconds: since === undefined ? null : Math.max(0, Math.round((now - since) / 1000)) };
      }),
    );
    // The last hour of API calls, read once: its last minutes for the 401/403s, all of it for the sends.
    const [hourOfApi, hourEmail] = await Promise.all([
      readSeries(redis, this.keys, 'api', 'm', 60, now),
      readRecentMinutes(redis, this.keys, EMAIL_SCOPE, 60, now),
    ]);
    const api = sumSeries(hourOfApi.slice(-AUTH_WINDOW_MINUTES));
    const authErrors = (['hubspot', 'sendgrid'] as const).map((name) => ({
      api: name,
      count: (api[`${name}:401`] ?? 0) + (api[`${name}:403`] ?? 0),
      windowMinutes: AUTH_WINDOW_MINUTES,
    }));
    const { sent, bounced, dropped } = emailFigures(hourEmail, sumSeries(hourOfApi));
    const daily = await readHubSpotDaily(redis, prefix, now);
    const hubspotDaily = {
      paused: daily.paused,
      until: daily.until ? Date.parse(daily.until) : undefined,
      timeZone: daily.timeZone,
      usage: daily.usage,
      limit: daily.limit,
    };
    return { deadLetters, oldestWaiting, authErrors, bounces: { sent, bounced, dropped }, hubspotDaily };
  }

  private async apply(state: AlertState, conditions: ConditionResult[], now: number): Promise<AlertMessage[]> {
    const sent: AlertMessage[] = [];
    const minInterval = this.deps.config.alerts.minIntervalSeconds * 1000;
    for (const c of conditions) {
      const text = c.active ? `course-sync ALERT: ${c.firing}` : `course-sync RESOLVED: ${c.resolved}`;
      const transition = await state.transition(c.id, c.active, text, now, minInterval);
      if (transition !== 'fire' && transition !== 'resolve') continue;
      this.deps.log.warn({ alert: c.id, transition }, text);
      try {
        await this.notify?.(text);
        sent.push({ id: c.id, transition, text });
      } catch (err) {
        this.deps.log.error(
          { alert: c.id, err: (err as Error).message },
          'alert not delivered; will try again next round',
        );
        await state.revert(c.id);
      }
    }
    return sent;
  }
}

/** Sorted set of worker processes by the time their alert loop last reached Redis. */
export function workersSeenKey(prefix: string): string {
  return recordKey(prefix, 'workers-seen');
}
