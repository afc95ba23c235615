import type { Redis } from 'ioredis';
import type { Config } from '../../src/config.ts';
import { globSafe, scanKeys } from '../../src/redis/keys.ts';

/** Bytes (MEMORY USAGE) and keys of one family of records. */
export interface Family {
  keys: number;
  bytes: number;
}

/** BullMQ's per-queue structures (not jobs): lists, sets, the meta hash, the id counter, the marker... */
const QUEUE_PARTS = new Set(['wait', 'paused', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'meta', 'id', 'marker', 'stalled', 'stalled-check', 'limiter', 'pc', 'events', 'metrics', 'repeat']);

/**
 * The family of a key under `prefix`: `cs:<kind>` (`cs:trace-idx:<kind>` for the trace index) for
 * course-sync's own records; for BullMQ's, `<queue> jobs`, `<queue> events` (the event log) or
 * `<queue> <structure>`.
 */
export function familyOf(prefix: string, key: string): string {
  const rest = key.slice(prefix.length + 1).split(':');
  if (rest[0] === 'cs') return rest[1] === 'trace-idx' ? `cs:trace-idx:${rest[2]}` : `cs:${rest[1]}`;
  const [queue, part, more] = rest;
  if (part === undefined) return `${queue}`;
  if (QUEUE_PARTS.has(part) && more === undefined) return `${queue} ${part === 'events' ? 'events' : 'queue'}`;
  if (more !== undefined) return `${queue} job ${more}`;
  return `${queue} jobs`;
}

/** Every key under `prefix` grouped by family, with its MEMORY USAGE summed. */
export async function countFamilies(redis: Redis, prefix: string): Promise<Record<string, Family>> {
  const keys = await scanKeys(redis, `${globSafe(prefix)}:*`);
  const families: Record<string, Family> = {};
  for (let i = 0; i < keys.length; i += 1000) {
    const chunk = keys.slice(i, i + 1000);
    const batch = redis.pipeline();
    for (const k of chunk) batch.memory('USAGE', k, 'SAMPLES', 0);
    const sizes = (await batch.exec()) ?? [];
    chunk.forEach((k, j) => {
      const f = (families[familyOf(prefix, k)] ??= { keys: 0, bytes: 0 });
      f.keys += 1;
      f.bytes += Number(sizes[j]?.[1] ?? 0);
    });
  }
  return families;
}

/** `after` minus `before`, family by family (families only in `before` are left out). */
export function familyGrowth(before: Record<string, Family>, after: Record<string, Family>): Record<string, Family> {
  return Object.fromEntries(Object.entries(after).map(([name, f]) => [name, { keys: f.keys - (before[name]?.keys ?? 0), bytes: f.bytes - (before[name]?.bytes ?? 0) }]));
}

/** "cs:trace 412 B 1.00 keys, ..." per enrollment, largest first. */
export function familyLine(families: Record<string, Family>, per: number): string {
  return Object.entries(families)
    .filter(([, f]) => f.bytes !== 0 || f.keys !== 0)
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .map(([name, f]) => `${name} ${Math.round(f.bytes / per)} B ${(f.keys / per).toFixed(2)} keys`)
    .join(', ');
}

/** How many days a record of each per-enrollment family lives after the enrollment is processed (its TTL, from the config). */
export function familyLifetimeDays(config: Config): Record<string, number> {
  const trace = config.trace.retentionDays;
  const contact = config.hubspot.contactRecordTtlSeconds / 86_400;
  return {
    'cs:trace': trace,
    'cs:trace-idx:email': trace,
    'cs:trace-idx:course': trace,
    'cs:trace-idx:enrollment': trace,
    'cs:seen': config.webhook.dedupeTtlSeconds / 86_400,
    'cs:sent': config.sendgrid.sentRecordTtlSeconds / 86_400,
    'cs:sent-by': config.sendgrid.messageIndexTtlSeconds / 86_400,
    'cs:sg-event': config.sendgrid.events.dedupeTtlSeconds / 86_400,
    'cs:contact': contact,
    'cs:contact-owner': contact,
    'cs:contact-alias': contact,
  };
}
