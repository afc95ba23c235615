import type { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { WORK_QUEUES } from '../queues/names.ts';
import type { QueueSet } from '../queues/registry.ts';
import type { Metrics } from '../metrics.ts';
import { oldestWaitingSince } from '../stats/overview.ts';
import { readRecentMinutes } from '../stats/counters.ts';
import { StatsKeys } from '../stats/keys.ts';
import { AUTH_WINDOW_MINUTES, workersSeenKey } from './engine.ts';
import { registerHubSpotDailyGauges } from './hubspot-daily-gauges.ts';

export interface OpsGaugeDeps {
  /** A fail-fast (producer) connection: its PING is `course_sync_redis_up`. */
  redis: Redis;
  queues: QueueSet;
  prefix: string;
}

const DAY_MS = 86_400_000;

/** Runs a gauge's read; while Redis is away the gauge keeps its last values (course_sync_redis_up says why). */
async function quietly(read: () => Promise<void>): Promise<void> {
  await read().catch(() => undefined);
}

async function ping(redis: Redis): Promise<boolean> {
  try {
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  }
}

/**
 * Adds the gauges the Prometheus alerting rules (ops/prometheus-alerts.yml) need beside the
 * service's own metrics, each read from Redis when /metrics is scraped — so they show every
 * worker process's view, whichever process serves /metrics.
 */
export function registerOpsGauges(metrics: Pick<Metrics, 'registry'>, deps: OpsGaugeDeps): void {
  const { redis, queues } = deps;
  const keys = new StatsKeys(deps.prefix);
  const registers = [metrics.registry];
  new Gauge({
    name: 'course_sync_redis_up',
    help: 'Whether this process reaches Redis (1) or not (0), by PING at scrape time',
    registers,
    async collect() {
      this.set((await ping(redis)) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'course_sync_queue_oldest_waiting_seconds',
    help: 'Age of the oldest waiting job per work queue (0 when none waits)',
    labelNames: ['queue'] as const,
    registers,
    async collect() {
      const now = Date.now();
      await quietly(async () => {
        for (const queue of WORK_QUEUES) {
          const since = await oldestWaitingSince(queues.work[queue]);
          this.set({ queue }, since === undefined ? 0 : Math.max(0, (now - since) / 1000));
        }
      });
    },
  });
  new Gauge({
    name: 'course_sync_api_auth_errors_recent',
    help: `HubSpot/SendGrid answers 401 or 403 in the last ${AUTH_WINDOW_MINUTES} minutes, all worker processes together`,
    labelNames: ['api'] as const,
    registers,
    async collect() {
      await quietly(async () => {
        const totals = await readRecentMinutes(redis, keys, 'api', AUTH_WINDOW_MINUTES);
        for (const api of ['hubspot', 'sendgrid'])
          this.set({ api }, (totals[`${api}:401`] ?? 0) + (totals[`${api}:403`] ?? 0));
      });
    },
  });
  new Gauge({
    name: 'course_sync_worker_last_seen_timestamp_seconds',
    help: 'When each worker process last reached Redis (its alert loop; a clean stop removes it)',
    labelNames: ['worker'] as const,
    registers,
    async collect() {
      await quietly(async () => {
        const key = workersSeenKey(deps.prefix);
        await redis.zremrangebyscore(key, '-inf', Date.now() - DAY_MS);
        const flat = await redis.zrange(key, 0, '-1', 'WITHSCORES');
        this.reset();
        for (let i = 0; i < flat.length; i += 2) this.set({ worker: flat[i]! }, Number(flat[i + 1]) / 1000);
      });
    },
  });
  registerHubSpotDailyGauges(metrics.registry, redis, deps.prefix);
}
