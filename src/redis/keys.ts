/**
 * The one builder of the Redis keys of course-sync's own records (outside BullMQ's), all under the
 * queue prefix, so a {hash-tagged} QUEUE_PREFIX keeps every key in one Redis Cluster slot.
 */
export function recordKey(prefix: string, ...parts: string[]): string {
  return [prefix, 'cs', ...parts].join(':');
}
