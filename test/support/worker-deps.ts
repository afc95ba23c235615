import { Redis } from 'ioredis';
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { DeadLetters } from '../../src/queues/dead-letter.ts';
import { PendingEvents } from '../../src/queues/pending-events.ts';
import { openQueues } from '../../src/queues/registry.ts';
import { TraceWriter } from '../../src/trace/writer.ts';
import type { WorkerDeps } from '../../src/workers/deps.ts';
import { dropPrefix, redisUrl } from './env.ts';

/**
 * The WorkerDeps a service would give its workers, on the test Redis and `config`'s prefix.
 * `stop()` closes the queues and every connection handed out, then deletes the prefix's keys.
 */
export function testWorkerDeps(config: Config): WorkerDeps & { stop(): Promise<void> } {
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };
  const redis = connect();
  const queues = openQueues(redis, config);
  const traces = new TraceWriter(redis, config);
  const pending = new PendingEvents(redis, config, (event) => traces.finalRecord(event));
  return {
    config,
    log: createLogger('silent'),
    connect,
    redis,
    queues,
    deadLetters: new DeadLetters(redis, queues, config.redis.prefix, pending),
    pending,
    metrics: createMetrics(),
    async stop() {
      await queues.close();
      await dropPrefix(redis, config.redis.prefix);
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

/** Polls `check` until it returns true; throws after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
