import type { RunningWorker, WorkerDeps } from './workers/deps.ts';
import { AlertEngine } from './alerts/engine.ts';
import { ApiStatsShipper, sampleWaiting } from './stats/shipper.ts';
import { StatsKeys } from './stats/keys.ts';
import { Tracer } from './trace/tracer.ts';

const SHIP_INTERVAL_MS = 5_000;

/**
 * Starts what watches the workers of this process without being part of them: the tracer (job
 * events → trace steps and job counters), the shipper of HubSpot/SendGrid call counts and queue
 * depths to Redis, and the alert engine. Listed in `startWorkers` like a worker.
 */
export async function startOpsWatchers(deps: WorkerDeps): Promise<RunningWorker> {
  const { log } = deps;
  const tracer = new Tracer(deps);
  await tracer.start();
  const keys = new StatsKeys(deps.config.redis.prefix);
  const shipper = new ApiStatsShipper(deps.redis, keys, deps.metrics.apiCalls);
  const work = Object.values(deps.queues.work);
  const ship = async () => {
    await shipper.ship().catch((err) => log.debug({ err: (err as Error).message }, 'API call counts not shipped yet'));
    // One process samples the queue depths for the overview's pictures: the one that traces.
    if (tracer.leading) await sampleWaiting(deps.redis, keys, work).catch((err) => log.debug({ err: (err as Error).message }, 'queue depths not sampled'));
  };
  const shipTimer = setInterval(ship, SHIP_INTERVAL_MS);
  shipTimer.unref();
  const alerts = new AlertEngine(deps);
  alerts.start();
  log.info({ alertWebhook: !!deps.config.alerts.webhookUrl, everySeconds: deps.config.alerts.checkIntervalSeconds }, 'tracer and alerts started');
  return {
    name: 'ops-watchers',
    close: async () => {
      clearInterval(shipTimer);
      await alerts.stop();
      await tracer.close();
      await ship();
    },
  };
}
