import type { Redis } from 'ioredis';
import { luaScript } from '../redis/scripts.ts';

/** What the intake knows about an event it accepted. */
export interface AcceptedEvent {
  key: string;
  type: string;
  data: unknown;
  receivedAt: string;
  correlationId: string;
  queues: string[];
}

/**
 * A record an observer (the trace store) has written with an event, inside one of the queues'
 * scripts: a hash set only if it has no `fields[0]` yet (a record kept from an earlier delivery
 * stays as it was), and the key's TTL becomes `ttlSeconds`; or an entry of a day's index, which
 * expires whole at `expireAt` (Unix seconds): `member` added to the space-separated list in hash
 * field `field` (unless there already), or pushed on a list.
 */
export type RecordWrite =
  | { kind: 'hash'; key: string; ttlSeconds: number; fields: [string, string][] }
  | { kind: 'field'; key: string; expireAt: number; field: string; member: string }
  | { kind: 'list'; key: string; expireAt: number; member: string };

/** One write as script arguments (every value a string). */
function writeArg(w: RecordWrite): string[] {
  if (w.kind === 'hash') return ['H', w.key, String(w.ttlSeconds), ...w.fields.flat()];
  if (w.kind === 'field') return ['F', w.key, String(w.expireAt), w.field, w.member];
  return ['L', w.key, String(w.expireAt), w.member];
}

/** `writes` as one script argument (JSON): ['H', key, ttl, field, value, …], ['F', key, expireAt, field, member] or ['L', key, expireAt, member] each (scripts/includes/record-writes.lua reads them). */
export function writeArgs(writes: RecordWrite[]): string {
  return JSON.stringify(writes.map(writeArg));
}

/** Performs the writes (scripts/apply-record-writes.lua; every script that writes records includes scripts/includes/record-writes.lua). */
const APPLY_WRITES = luaScript<[writes: string], null>(import.meta.url, 'scripts/apply-record-writes.lua', 0);

/** Performs `writes` on their own, in one script call (records written outside an intake script: a quarantined delivery's trace). */
export async function applyRecordWrites(redis: Redis, writes: RecordWrite[]): Promise<void> {
  await APPLY_WRITES.run(redis, writeArgs(writes));
}
