import type { Redis } from 'ioredis';

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
 * stays as it was), or a sorted-set entry added unless already there (entries scored `trimAt` or
 * less are dropped then); either way the key's TTL becomes `ttlSeconds`.
 */
export type RecordWrite =
  | { kind: 'hash'; key: string; ttlSeconds: number; fields: [string, string][] }
  | { kind: 'index'; key: string; ttlSeconds: number; score: number; member: string; trimAt?: number };

/**
 * `writes` as one script argument (JSON, every value a string): ['H', key, ttl, field, value, …] or
 * ['Z', key, ttl, score, member, trimAt?] each.
 */
export function writeArgs(writes: RecordWrite[]): string {
  return JSON.stringify(
    writes.map((w) => (w.kind === 'hash' ? ['H', w.key, String(w.ttlSeconds), ...w.fields.flat()] : ['Z', w.key, String(w.ttlSeconds), String(w.score), w.member, ...(w.trimAt === undefined ? [] : [String(w.trimAt)])])),
  );
}

/** Lua: `applyWrites(json)` performs the writes `writeArgs` encoded. Needs `local rcall = redis.call`. */
export const APPLY_WRITES_LUA = `
local function applyWrites(json)
  for _, w in ipairs(cjson.decode(json)) do
    if w[1] == 'H' then
      if rcall('HSETNX', w[2], w[4], w[5]) == 1 and #w > 5 then rcall('HSET', w[2], unpack(w, 6)) end
    else
      rcall('ZADD', w[2], 'NX', w[4], w[5])
      if w[6] then rcall('ZREMRANGEBYSCORE', w[2], '-inf', w[6]) end
    end
    rcall('EXPIRE', w[2], w[3])
  end
end
`;

const APPLY_WRITES = `
local rcall = redis.call
${APPLY_WRITES_LUA}
applyWrites(ARGV[1])
`;

/** Performs `writes` on their own, in one script call (records written outside an intake script: a quarantined delivery's trace). */
export async function applyRecordWrites(redis: Redis, writes: RecordWrite[]): Promise<void> {
  await redis.eval(APPLY_WRITES, 0, writeArgs(writes));
}
