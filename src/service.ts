import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import { ConfigError, type Config } from './config.ts';
import type { Logger } from './log.ts';
import { mountAdmin } from './admin/mount.ts';
import { registerOpsGauges } from './alerts/gauges.ts';
import { createMetrics } from './metrics.ts';
import { startOpsWatchers } from './watchers.ts';
import { DeadLetters } from './queues/dead-letter.ts';
import { EventIntake } from './queues/intake.ts';
import { PendingEvents } from './queues/pending-events.ts';
import { openQueues, type QueueSet } from './queues/registry.ts';
import { startSandbox } from './emulators/sandbox.ts';
import { createApp } from './receiver/app.ts';
import { Quarantine } from './quarantine/store.ts';
import { connectRedis, waitReady } from './redis/connection.ts';
import {
  findLocalRedis,
  removeLocalRedisRecord,
  stopLeftOverRedis,
  writeLocalRedisRecord,
} from './redis/local-record.ts';
import { startLocalRedis, type LocalRedis } from './redis/local-server.ts';
import type { WorkerDeps } from './workers/deps.ts';
import { startWorkers } from './workers/index.ts';
import { TraceCallLog } from './trace/calls.ts';
import { TraceEmailEvents } from './trace/email-events.ts';
import { TraceSendsByAddress } from './trace/sends-by-address.ts';
import { TraceWriter } from './trace/writer.ts';

export type Role = 'all' | 'receiver' | 'worker';

function listen(app: { listen: Server['listen'] }, port: number, host: string): Promise<Server> {
  return new Promise<Server>((ok, fail) => {
    const s: Server = app.listen(port, host, () => ok(s));
    s.once('error', fail);
  });
}

const portOf = (s: Server) => (s.address() as { port: number }).port;

export interface RunningService {
  config: Config;
  redisUrl: string;
  /** Port the HTTP server listens on (receiver and all roles). */
  port?: number;
  /** The internal port of /admin, /metrics and health, when ADMIN_PORT is set. */
  adminPort?: number;
  stop(): Promise<void>;
}

/**
 * Uses REDIS_URL, or starts the private redis-server under REDIS_DATA_DIR and records where it
 * listens there (removed again by `local.stop()`), so the other commands find it. Refuses to start
 * a second one on a data folder whose service still runs.
 */
async function resolveRedis(config: Config, log: Logger): Promise<{ url: string; local?: LocalRedis }> {
  if (config.redis.url) return { url: config.redis.url };
  const { dataDir } = config.redis;
  const found = await findLocalRedis(dataDir);
  if (found.state === 'running') {
    const { pid, startedAt, url } = found.record;
    throw new ConfigError(
      'REDIS_DATA_DIR',
      `the course-sync started at ${startedAt} (pid ${pid}) already runs its private Redis (${url}) in ${dataDir}: stop it first, or give this one another REDIS_DATA_DIR or a REDIS_URL`,
    );
  }
  // A killed service leaves its Redis running: stopped first, so two never share the data folder.
  if (found.state === 'stale' && found.record && (await stopLeftOverRedis(found.record, dataDir)))
    log.warn({ url: found.record.url, dataDir }, 'stopped the private Redis a stopped course-sync left running');
  const local = await startLocalRedis({ dataDir });
  writeLocalRedisRecord(dataDir, {
    url: local.url,
    pid: process.pid,
    redisPid: local.process.pid,
    startedAt: new Date().toISOString(),
  });
  log.info(
    { port: local.port, dataDir, record: found.path },
    'REDIS_URL not set: started a private redis-server (AOF on, noeviction)',
  );
  const stop = local.stop;
  return { url: local.url, local: { ...local, stop: () => stop().finally(() => removeLocalRedisRecord(dataDir)) } };
}

export interface StartOptions {
  /** Where a generated admin password is printed (stderr by default). */
  announce?: (line: string) => void;
}

/**
 * Starts the service in one role: `receiver` (HTTP intake, health, metrics, admin), `worker`
 * (the queue workers) or `all` (both, one process). Resolves once it is serving; when a step
 * fails (say, PORT is taken), stops what it had started, the private Redis included, and throws.
 */
export async function startService(
  givenConfig: Config,
  role: Role,
  log: Logger,
  opts: StartOptions = {},
): Promise<RunningService> {
  // Sandbox mode: HubSpot and SendGrid are emulators in this process (config.sandbox is never true in production).
  const sandbox = givenConfig.sandbox ? await startSandbox(givenConfig, log) : undefined;
  const config = sandbox?.config ?? givenConfig;
  if (role !== 'worker' && !config.sendgrid.events.publicKeys.length) {
    log.warn(
      config.env === 'production'
        ? 'SENDGRID_WEBHOOK_PUBLIC_KEY is not set: POST /webhooks/sendgrid answers 404 (welcome email delivery is not followed)'
        : 'SENDGRID_WEBHOOK_PUBLIC_KEY is not set: SendGrid events are accepted WITHOUT signature verification (404 in production)',
    );
  }
  if (role !== 'worker' && config.webhook.secrets.length === 0) {
    log.warn('WEBHOOK_SECRET is not set: webhooks are accepted WITHOUT signature verification (refused in production)');
  }
  // No Redis (say, no redis-server on PATH): stop the emulators too, for a caller that carries on (a test).
  const { url: redisUrl, local } = await resolveRedis(config, log).catch(async (err: unknown) => {
    await sandbox?.close();
    throw err;
  });
  const metrics = createMetrics();
  const closers: (() => Promise<unknown>)[] = [];
  const connections: Redis[] = [];
  const connect = (r: 'producer' | 'worker') => {
    const c = connectRedis(redisUrl, r, config.redis.cluster);
    connections.push(c);
    return c;
  };
  let queues: QueueSet | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Stop taking requests, let in-flight requests and jobs finish, then close Redis.
      for (const close of closers)
        await close().catch((err) => log.warn({ err: (err as Error).message }, 'error while stopping'));
      await queues?.close();
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      await local?.stop();
      await sandbox?.close();
    })());
  let server: Server | undefined;
  let adminServer: Server | undefined;
  const listening = (s: Server) => {
    closers.unshift(() => new Promise((ok) => s.close(ok)));
    return s;
  };

  try {
    const shared = connect(role === 'worker' ? 'worker' : 'producer');
    await waitReady(shared);
    queues = openQueues(shared, config);

    if (role !== 'receiver') {
      const workerRedis = role === 'worker' ? shared : connect('worker');
      // An enrollment's trace header is written when its last job is done, from its pending record.
      const traces = new TraceWriter(workerRedis, config);
      const pending = new PendingEvents(workerRedis, config, (event) => traces.finalRecord(event));
      const emailEvents = new TraceEmailEvents(workerRedis, config, log);
      const deps: WorkerDeps = {
        config,
        log,
        connect: () => connect('worker'),
        redis: workerRedis,
        queues,
        deadLetters: new DeadLetters(workerRedis, queues, config.redis.prefix, pending),
        pending,
        metrics,
        calls: new TraceCallLog(workerRedis, config, (key) => emailEvents.schedule(key)),
        emailEvents,
        sendsByAddress: new TraceSendsByAddress(workerRedis, config),
      };
      // Tracer, API call counts and alerts: started before and closed after the workers, to see all their events.
      const watchers = await startOpsWatchers(deps);
      closers.push(
        () => watchers.close(),
        () => emailEvents.close(),
      );
      const workers = await startWorkers(deps);
      closers.unshift(() => Promise.all(workers.map((w) => w.close())));
      log.info({ workers: workers.map((w) => w.name) }, 'workers started');
    }

    if (role !== 'worker') {
      // A connection of its own, without BullMQ's scripts on it, keeps the intake's pipelines cheap.
      const intakeRedis = connect('producer');
      await waitReady(intakeRedis);
      const intake = new EventIntake(intakeRedis, config, new TraceWriter(intakeRedis, config));
      const quarantine = new Quarantine(shared, config.redis.prefix, config.webhook.quarantineMax);
      const mount = mountAdmin({
        config,
        log,
        redis: shared,
        queues,
        quarantine,
        intake,
        metrics,
        sandbox: sandbox?.provider,
        announce: opts.announce,
      });
      registerOpsGauges(metrics, { redis: shared, queues, prefix: config.redis.prefix });
      const appDeps = { config, log, redis: shared, intake, quarantine, queues, metrics, mount };
      // With ADMIN_PORT the public port answers webhooks only; /admin, /metrics and health move inside.
      const split = config.admin.port !== undefined;
      server = listening(await listen(createApp(appDeps, { webhooks: true, ops: !split }), config.port, config.host));
      if (split)
        adminServer = listening(
          await listen(createApp(appDeps, { webhooks: false, ops: true }), config.admin.port!, config.admin.host),
        );
      log.info({ port: portOf(server), role }, 'listening');
      sandbox?.postEventsTo(`http://127.0.0.1:${portOf(server)}/webhooks/sendgrid`);
      if (adminServer)
        log.info(
          { adminPort: portOf(adminServer), host: config.admin.host },
          'admin, metrics and health listening on the internal port',
        );
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    config,
    redisUrl,
    port: server ? portOf(server) : undefined,
    adminPort: adminServer ? portOf(adminServer) : undefined,
    stop,
  };
}
