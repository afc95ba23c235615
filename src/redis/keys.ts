import type { Cluster, Redis } from 'ioredis';

/**
 * The one builder of the Redis keys of course-sync's own records (outside BullMQ's), all under the
 * queue prefix, so a {hash-tagged} QUEUE_PREFIX keeps every key in one Redis Cluster slot.
 */
export function recordKey(prefix: string, ...parts: string[]): string {
  return [prefix, 'cs', ...parts].join(':');
}

/** Every key matching `pattern` (SCAN MATCH), on every master of a cluster. */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const nodes =
    'nodes' in redis && typeof (redis as unknown as Cluster).nodes === 'function'
      ? (redis as unknown as Cluster).nodes('master')
      : [redis];
  const keys = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const k of batch) keys.add(k);
    } while (cursor !== '0');
  }
  return [...keys];
}

/** Escapes the glob characters of a prefix for SCAN MATCH. */
export function globSafe(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
