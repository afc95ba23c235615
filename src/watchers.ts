import type { RunningWorker, WorkerDeps } from './workers/deps.ts';
import { AlertEngine } from './alerts/engine.ts';
import { ApiStatsShipper, sampleWaiting } from './stats/shipper.ts';
import { StatsKeys } from './stats/keys.ts';
import { Tracer } from './trace/tracer.ts';
import { purgePastRetention, RETENTION_PURGE_INTERVAL_MS } from './student-data/retention.ts';
import { Quarantine } from './quarantine/store.ts';

const SHIP_INTERVAL_MS = 5_000;

/**
 * Starts what watches the workers of this process without being part of them: the tracer (job
 * events → trace steps and job counters), the shipper of HubSpot/SendGrid call counts and queue
 * depths to Redis, the alert engine, and the hourly purge of dead letters and quarantined deliveries
 * past PII_RETENTION_DAYS (by the process that traces). Listed in `startWorkers` like a worker.
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
    if (tracer.leading)
      await sampleWaiting(deps.redis, keys, work).catch((err) =>
        log.debug({ err: (err as Error).message }, 'queue depths not sampled'),
      );
  };
  const shipTimer = setInterval(() => void ship(), SHIP_INTERVAL_MS);
  shipTimer.unref();
  const quarantine = new Quarantine(deps.redis, deps.config.redis.prefix, deps.config.webhook.quarantineMax);
  const purge = async () => {
    if (!tracer.leading) return;
    const purged = await purgePastRetention(
      { deadLetters: deps.deadLetters, quarantine },
      deps.config.privacy.retentionDays,
    ).catch((err) => {
      log.warn({ err: (err as Error).message }, 'retention purge failed; next try in an hour');
    });
    if (purged && (purged.deadLetters || purged.quarantined))
      log.info(
        { ...purged, retentionDays: deps.config.privacy.retentionDays },
        'removed dead letters and quarantined deliveries past PII_RETENTION_DAYS',
      );
  };
  // A minute after start (the tracer has settled who leads), then hourly.
  const firstPurge = setTimeout(() => void purge(), 60_000);
  const purgeTimer = setInterval(() => void purge(), RETENTION_PURGE_INTERVAL_MS);
  firstPurge.unref();
  purgeTimer.unref();
  const alerts = new AlertEngine(deps);
  alerts.start();
  log.info(
    { alertWebhook: !!deps.config.alerts.webhookUrl, everySeconds: deps.config.alerts.checkIntervalSeconds },
    'tracer and alerts started',
  );
  return {
    name: 'ops-watchers',
    close: async () => {
      clearInterval(shipTimer);
      clearTimeout(firstPurge);
      clearInterval(purgeTimer);
      await alerts.stop();
      await tracer.close();
      await ship();
    },
  };
}
