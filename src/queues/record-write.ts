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

/** `writes` as one script argument (JSON): ['H', key, ttl, field, value, …], ['F', key, expireAt, field, member] or ['L', key, expireAt, member] each. */
export function writeArgs(writes: RecordWrite[]): string {
  return JSON.stringify(writes.map(writeArg));
}

/** Lua: `applyWrites(json)` performs the writes `writeArgs` encoded. Needs `local rcall = redis.call`. */
export const APPLY_WRITES_LUA = `
local function applyWrites(json)
  for _, w in ipairs(cjson.decode(json)) do
    if w[1] == 'H' then
      if rcall('HSETNX', w[2], w[4], w[5]) == 1 and #w > 5 then rcall('HSET', w[2], unpack(w, 6)) end
      rcall('EXPIRE', w[2], w[3])
    else
      if w[1] == 'F' then
        -- Usually the address's first entry of the day: one command; else appended unless there.
        if rcall('HSETNX', w[2], w[4], w[5]) == 0 then
          local cur = rcall('HGET', w[2], w[4])
          if not string.find(' ' .. cur .. ' ', ' ' .. w[5] .. ' ', 1, true) then rcall('HSET', w[2], w[4], cur .. ' ' .. w[5]) end
        end
      else
        rcall('RPUSH', w[2], w[4])
      end
      rcall('EXPIREAT', w[2], w[3])
    end
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
