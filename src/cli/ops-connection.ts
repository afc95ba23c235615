import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from 'commander';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../config.ts';
import { resolveWorkQueue } from '../queues/dead-letter-view.ts';
import { DeadLetters } from '../queues/dead-letter.ts';
import { EventIntake } from '../queues/intake.ts';
import { WORK_QUEUES, type WorkQueueName } from '../queues/names.ts';
import { openQueues, type QueueSet } from '../queues/registry.ts';
import { Quarantine } from '../quarantine/store.ts';
import { connectRedis, waitReady } from '../redis/connection.ts';
import { findLocalRedis } from '../redis/local-record.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { TraceWriter } from '../trace/writer.ts';
import { AuditTrail, type AuditEntry } from '../audit/trail.ts';

/** What the ops commands work with, on the Redis of a running service. */
export interface OpsHandles {
  config: Config;
  redis: Redis;
  queues: QueueSet;
  deadLetters: DeadLetters;
  quarantine: Quarantine;
  intake: EventIntake;
  /** Records an action of this command in the audit trail, as `<os user>@<host>` via the CLI. */
  audit: (entry: Omit<AuditEntry, 'at' | 'who' | 'via'>) => Promise<void>;
  close(): Promise<void>;
}

/** Who runs the command, for the audit trail: the OS user at this host. */
function cliOperator(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `${user}@${hostname()}`;
}

const READY_TIMEOUT_MS = 5_000;

/** How the commands that act on a running service's Redis find it (their --help says it). */
export const REDIS_NOTE =
  'Connects to REDIS_URL, or when it is unset to the private Redis of the course-sync running from this folder ' +
  '(recorded in REDIS_DATA_DIR by `course-sync start`), with QUEUE_PREFIX; never starts a Redis of its own.';

/** REDIS_URL is unset and no course-sync with a private Redis runs on REDIS_DATA_DIR. */
export class NoServiceError extends Error {}

/**
 * The Redis of the running service: REDIS_URL, or the private Redis that `course-sync start`
 * recorded under REDIS_DATA_DIR (said on stderr). Throws NoServiceError, saying how to start one,
 * when there is none or the record is stale.
 */
async function serviceRedisUrl(io: CliIO, config: Config): Promise<string> {
  if (config.redis.url) return config.redis.url;
  const found = await findLocalRedis(config.redis.dataDir);
  if (found.state === 'running') {
    const { startedAt, pid, url } = found.record;
    io.err(`using the private Redis of the course-sync started at ${startedAt} (pid ${pid}): ${url}`);
    return url;
  }
  const why =
    found.state === 'stale'
      ? `the course-sync recorded in ${found.path}${found.record ? ` (pid ${found.record.pid}, started at ${found.record.startedAt})` : ''} is not running any more: ${found.reason}`
      : `no course-sync service is running with a private Redis in ${dirname(found.path)} (REDIS_DATA_DIR)`;
  throw new NoServiceError(
    `REDIS_URL is not set and ${why}. Start the service in this folder with \`npm start\` (or \`course-sync start\`), or set REDIS_URL to the Redis of the service you mean.`,
  );
}

/**
 * Connects to the Redis of the running service (serviceRedisUrl: these commands never start a
 * private one). Throws NoServiceError when there is none, RedisUnreachableError when it does not answer.
 */
async function openOps(io: CliIO): Promise<OpsHandles> {
  const config = loadConfig(io.env);
  const redis = await connectServiceRedis(io, config);
  const queues = openQueues(redis, config);
  const intake = new EventIntake(redis, config, new TraceWriter(redis, config));
  return {
    config,
    redis,
    queues,
    deadLetters: new DeadLetters(redis, queues, config.redis.prefix),
    quarantine: new Quarantine(redis, config.redis.prefix, config.webhook.quarantineMax),
    intake,
    audit: (entry) => new AuditTrail(redis, config.redis.prefix).record({ who: cliOperator(), via: 'cli', ...entry }),
    close: async () => {
      // Let every queue finish connecting first: on a Redis Cluster, ending the connection under a
      // queue still initialising makes BullMQ emit an error nobody can catch any more.
      const giveUp = new AbortController();
      const timeout = sleep(READY_TIMEOUT_MS, undefined, { signal: giveUp.signal }).catch(() => undefined);
      await Promise.race([Promise.allSettled(queues.all().map((q) => q.waitUntilReady())), timeout]);
      giveUp.abort(); // no timer left behind when the CLI runs inside another process (tests)
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export class RedisUnreachableError extends Error {}

/**
 * A connection to the Redis of the running service, ready. Throws NoServiceError when there is
 * none (no REDIS_URL and no private Redis running), RedisUnreachableError when it does not answer.
 */
export async function connectServiceRedis(io: CliIO, config: Config): Promise<Redis> {
  const url = await serviceRedisUrl(io, config);
  const redis = connectRedis(url, 'producer', config.redis.cluster);
  try {
    await waitReady(redis, READY_TIMEOUT_MS);
  } catch {
    redis.disconnect();
    throw new RedisUnreachableError(
      `Redis at ${new URL(url).host} is not reachable (waited ${READY_TIMEOUT_MS / 1000} s)`,
    );
  }
  return redis;
}

/**
 * Runs an ops command: opens the handles, sets `io.exitCode` to what the command returns, always closes.
 * No service to act on, or an unreachable Redis, exits 3 with a plain message.
 */
export async function withOps(io: CliIO, command: string, run: (ops: OpsHandles) => Promise<number>): Promise<void> {
  let ops: OpsHandles;
  try {
    ops = await openOps(io);
  } catch (err) {
    if (!(err instanceof RedisUnreachableError || err instanceof NoServiceError)) throw err;
    io.err(`course-sync ${command}: ${err.message}`);
    io.exitCode = EXIT.unavailable;
    return;
  }
  try {
    io.exitCode = await run(ops);
  } finally {
    await ops.close();
  }
}

/** Commander argument parser: a work queue name (or its `-dlq` name). */
export function parseQueue(value: string): WorkQueueName {
  const queue = resolveWorkQueue(value);
  if (!queue) throw new InvalidArgumentError(`unknown queue; expected one of ${WORK_QUEUES.join(', ')}`);
  return queue;
}
