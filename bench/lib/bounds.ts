import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../src/config.ts';
import { WORK_QUEUES } from '../../src/queues/names.ts';
import type { Family } from './families.ts';

/** BullMQ's failed jobs kept per queue (src/queues/jobs.ts jobRetention). */
const FAILED_KEPT = 10_000;

/**
 * What BullMQ keeps without a TTL, against its bounds: per work queue, completed jobs beyond
 * COMPLETED_JOBS_KEEP and failed ones beyond 10,000 (both hard bounds), and its event log's length
 * (trimmed to about 10,000 entries).
 */
export async function queueBounds(
  redis: Redis,
  prefix: string,
  config: Config,
): Promise<{ beyond: number; detail: string }> {
  let beyond = 0;
  const parts: string[] = [];
  for (const name of WORK_QUEUES) {
    const q = new Queue(name, { connection: redis, prefix });
    const counts = await q.getJobCounts('completed', 'failed');
    const events = await redis.xlen(`${prefix}:${name}:events`);
    await q.close();
    beyond +=
      Math.max(0, (counts.completed ?? 0) - config.jobs.completedKeep) +
      Math.max(0, (counts.failed ?? 0) - FAILED_KEPT);
    parts.push(`${name} ${counts.completed} completed, ${counts.failed} failed, ${events} events`);
  }
  return { beyond, detail: parts.join('; ') };
}

/** Keys without a TTL among course-sync's own records (`cs:*` families) that a round added. */
export function lastingRecordsGrown(growth: Record<string, Family>): { keys: number; families: string[] } {
  const grown = Object.entries(growth).filter(([name, f]) => name.startsWith('cs:') && f.lastingKeys > 0);
  return {
    keys: grown.reduce((n, [, f]) => n + f.lastingKeys, 0),
    families: grown.map(([name, f]) => `${name} +${f.lastingKeys}`),
  };
}
