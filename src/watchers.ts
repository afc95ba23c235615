import type { RunningWorker, WorkerDeps } from './workers/deps.ts';
import { AlertEngine } from './alerts/engine.ts';
import { ApiStatsShipper } from './stats/counters.ts';
import { StatsKeys } from './stats/keys.ts';
import { Tracer } from './trace/tracer.ts';

const SHIP_INTERVAL_MS = 5_000;

/**
 * Starts what watches the workers of this process without being part of them: the tracer (job
 * events → trace steps and per-minute counters), the shipper of HubSpot/SendGrid call counts to
 * Redis, and the alert engine. Listed in `startWorkers` like a worker.
 */
export async function startOpsWatchers(deps: WorkerDeps): Promise<RunningWorker> {
  const { log } = deps;
  const tracer = new Tracer(deps);
  await tracer.start();
  const shipper = new ApiStatsShipper(deps.redis, new StatsKeys(deps.config.redis.prefix), deps.metrics.apiCalls);
  const ship = () => shipper.ship().catch((err) => log.debug({ err: (err as Error).message }, 'API call counts not shipped yet'));
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
