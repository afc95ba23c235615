import { QueueKeys } from 'bullmq';

/**
 * The one place course-sync writes BullMQ's job format itself (the intake's script adds an
 * enrollment's two jobs together with its dedupe marker and trace, in one call). It mirrors what
 * BullMQ's `addStandardJob` script does for a job with its own id, no delay, no priority, no parent
 * and no deduplication: bump the id counter, store the job hash (name, data, opts, timestamp, delay,
 * priority), log `added`, push the id on `wait` (a paused queue's jobs wait there too since BullMQ 6),
 * log `waiting`, and set the marker that wakes workers unless the queue is paused or at its global
 * concurrency. Written against BullMQ 6.7, the version the lockfile pins; test/bullmq-add.test.ts compares its result with what the
 * installed BullMQ's own `Queue.add` writes, key by key, and fails when BullMQ's format moves.
 * The Lua is scripts/includes/bullmq-add.lua; this module gives it its keys.
 */

/** The queue keys the script needs, in the order scripts/includes/bullmq-add.lua reads them from KEYS (its QUEUE_KEY_NAMES). */
const QUEUE_KEY_NAMES = ['wait', 'meta', 'id', 'active', 'events', 'marker'] as const;

/** How many KEYS each queue takes. */
export const KEYS_PER_QUEUE = QUEUE_KEY_NAMES.length;

/** The KEYS of one queue, a group `newQueue` reads (scripts/includes/bullmq-add.lua). */
export function bullmqQueueKeys(prefix: string, queue: string): string[] {
  const keys = new QueueKeys(prefix).getKeys(queue);
  return QUEUE_KEY_NAMES.map((name) => keys[name]!);
}

/** Prefix of a job's hash key in `queue` (`<prefix>:<queue>:`; the job id follows). */
export function bullmqJobKeyPrefix(prefix: string, queue: string): string {
  return new QueueKeys(prefix).toKey(queue, '');
}
