import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { mountAdmin } from './admin/mount.ts';
import { registerOpsGauges } from './alerts/gauges.ts';
import { createMetrics } from './metrics.ts';
import { startOpsWatchers } from './watchers.ts';
import { DeadLetters } from './queues/dead-letter.ts';
import { EventIntake } from './queues/intake.ts';
import { openQueues } from './queues/registry.ts';
import { startSandbox } from './emulators/sandbox.ts';
import { createApp } from './receiver/app.ts';
import { Quarantine } from './receiver/quarantine.ts';
import { connectRedis, waitReady } from './redis/connection.ts';
import { startLocalRedis, type LocalRedis } from './redis/local-server.ts';
import type { WorkerDeps } from './workers/deps.ts';
import { startWorkers } from './workers/index.ts';
import { TraceWriter } from './trace/writer.ts';

export type Role = 'all' | 'receiver' | 'worker';

export interface RunningService {
  config: Config;
  redisUrl: string;
  /** Port the HTTP server listens on (receiver and all roles). */
  port?: number;
  stop(): Promise<void>;
}

/** Uses REDIS_URL, or starts the private redis-server under REDIS_DATA_DIR. */
async function resolveRedis(config: Config, log: Logger): Promise<{ url: string; local?: LocalRedis }> {
  if (config.redis.url) return { url: config.redis.url };
  const local = await startLocalRedis({ dataDir: config.redis.dataDir });
  log.info({ port: local.port, dataDir: config.redis.dataDir }, 'REDIS_URL not set: started a private redis-server (AOF on, noeviction)');
  return { url: local.url, local };
}

/**
 * Starts the service in one role: `receiver` (HTTP intake, health, metrics, admin), `worker`
 * (the queue workers) or `all` (both, one process). Resolves once it is serving.
 */
export async function startService(givenConfig: Config, role: Role, log: Logger): Promise<RunningService> {
  // Sandbox mode: HubSpot and SendGrid are emulators in this process (config.sandbox is never true in production).
  const sandbox = givenConfig.sandbox ? await startSandbox(givenConfig, log) : undefined;
  const config = sandbox?.config ?? givenConfig;
  if (role !== 'worker' && config.webhook.secrets.length === 0) {
    log.warn('WEBHOOK_SECRET is not set: webhooks are accepted WITHOUT signature verification (refused in production)');
  }
  const { url: redisUrl, local } = await resolveRedis(config, log);
  const metrics = createMetrics();
  const closers: (() => Promise<unknown>)[] = [];
  const connections: Redis[] = [];
  const connect = (r: 'producer' | 'worker') => {
    const c = connectRedis(redisUrl, r, config.redis.cluster);
    connections.push(c);
    return c;
  };

  const shared = connect(role === 'worker' ? 'worker' : 'producer');
  await waitReady(shared);
  const queues = openQueues(shared, config);
  let server: Server | undefined;

  if (role !== 'receiver') {
    const workerRedis = role === 'worker' ? shared : connect('worker');
    const deps: WorkerDeps = {
      config,
      log,
      connect: () => connect('worker'),
      redis: workerRedis,
      queues,
      deadLetters: new DeadLetters(workerRedis, queues, config.redis.prefix),
      metrics,
    };
    // Tracer, API call counts and alerts: started before and closed after the workers, to see all their events.
    const watchers = await startOpsWatchers(deps);
    const workers = await startWorkers(deps);
    closers.push(() => Promise.all(workers.map((w) => w.close())), () => watchers.close());
    log.info({ workers: workers.map((w) => w.name) }, 'workers started');
  }

  if (role !== 'worker') {
    // A connection of its own, without BullMQ's scripts on it, keeps the intake's pipelines cheap.
    const intakeRedis = connect('producer');
    await waitReady(intakeRedis);
    const intake = new EventIntake(intakeRedis, config, new TraceWriter(intakeRedis, config));
    const quarantine = new Quarantine(shared, config.redis.prefix, config.webhook.quarantineMax);
    const mount = mountAdmin({ config, log, redis: shared, queues, quarantine, intake, sandbox: sandbox?.provider });
    registerOpsGauges(metrics, { redis: shared, queues, prefix: config.redis.prefix });
    const app = createApp({ config, log, redis: shared, intake, quarantine, queues, metrics, mount });
    server = await new Promise<Server>((ok, fail) => {
      const s = app.listen(config.port, config.host, () => ok(s));
      s.once('error', fail);
    });
    closers.unshift(() => new Promise((ok) => server!.close(ok)), () => intake.close());
    log.info({ port: (server.address() as { port: number }).port, role }, 'listening');
  }

  let stopping: Promise<void> | undefined;
  return {
    config,
    redisUrl,
    port: server ? (server.address() as { port: number }).port : undefined,
    stop: () =>
      (stopping ??= (async () => {
        // Stop taking requests, let in-flight requests and jobs finish, then close Redis.
        for (const close of closers) await close().catch((err) => log.warn({ err: (err as Error).message }, 'error while stopping'));
        await queues.close();
        await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
        await local?.stop();
        await sandbox?.close();
      })()),
  };
}
