import { hostname, userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from 'commander';
import type { Redis } from 'ioredis';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { resolveWorkQueue } from '../queues/dead-letter-view.ts';
import { DeadLetters } from '../queues/dead-letter.ts';
import { EventIntake } from '../queues/intake.ts';
import { WORK_QUEUES, type WorkQueueName } from '../queues/names.ts';
import { openQueues, type QueueSet } from '../queues/registry.ts';
import { Quarantine } from '../receiver/quarantine.ts';
import { connectRedis, waitReady } from '../redis/connection.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { TraceWriter } from '../trace/writer.ts';
import { AuditTrail, type AuditEntry } from '../admin/audit.ts';

/** What the ops commands work with, on the Redis of a running service. */
export interface OpsHandles {
  config: Config;
  redis: Redis;
  queues: QueueSet;
  deadLetters: DeadLetters;
  quarantine: Quarantine;
  intake: EventIntake;
  /** Records an action of this command in the audit trail, as `<os user>@<host>` via the CLI. */
  audit(entry: Omit<AuditEntry, 'at' | 'who' | 'via'>): Promise<void>;
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

/**
 * Connects to REDIS_URL (required: these commands act on the Redis a running service uses and
 * never start a private one). Throws ConfigError when it is unset, a plain Error when unreachable.
 */
async function openOps(env: CliIO['env']): Promise<OpsHandles> {
  const config = loadConfig(env);
  const url = config.redis.url;
  if (!url) {
    throw new ConfigError(
      'REDIS_URL',
      'is not set. dlq and quarantine commands act on the Redis of a running service and never start their own: ' +
        'set REDIS_URL to it (the private redis-server of `course-sync start` logs its port at start-up: REDIS_URL=redis://127.0.0.1:<port>)',
    );
  }
  const redis = connectRedis(url, 'producer', config.redis.cluster);
  try {
    await waitReady(redis, READY_TIMEOUT_MS);
  } catch {
    redis.disconnect();
    throw new RedisUnreachableError(`Redis at ${new URL(url).host} is not reachable (waited ${READY_TIMEOUT_MS / 1000} s)`);
  }
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
      await intake.close();
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

class RedisUnreachableError extends Error {}

/**
 * Runs an ops command: opens the handles, sets `io.exitCode` to what the command returns, always closes.
 * An unreachable Redis exits 3 with a plain message.
 */
export async function withOps(io: CliIO, command: string, run: (ops: OpsHandles) => Promise<number>): Promise<void> {
  let ops: OpsHandles;
  try {
    ops = await openOps(io.env);
  } catch (err) {
    if (!(err instanceof RedisUnreachableError)) throw err;
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
