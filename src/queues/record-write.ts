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

/** `writes` as script arguments: their count, then per write 'H' key ttl field-count field value… | 'Z' key ttl score member trimAt. */
export function writeArgs(writes: RecordWrite[]): (string | number)[] {
  const args: (string | number)[] = [writes.length];
  for (const w of writes) {
    if (w.kind === 'hash') args.push('H', w.key, w.ttlSeconds, w.fields.length, ...w.fields.flat());
    else args.push('Z', w.key, w.ttlSeconds, w.score, w.member, w.trimAt ?? '');
  }
  return args;
}

/**
 * Lua: `applyWrites(i, apply)` reads the writes `writeArgs` put at ARGV[i] and, when `apply`,
 * performs them; returns the index after them. Needs `local rcall = redis.call`.
 */
export const APPLY_WRITES_LUA = `
local function applyWrites(i, apply)
  local n = tonumber(ARGV[i])
  i = i + 1
  for w = 1, n do
    local kind, key, ttl = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    if kind == 'H' then
      local fields = tonumber(ARGV[i + 3])
      if apply and rcall('HSETNX', key, ARGV[i + 4], ARGV[i + 5]) == 1 and fields > 1 then
        rcall('HSET', key, unpack(ARGV, i + 6, i + 3 + 2 * fields))
      end
      i = i + 4 + 2 * fields
    else
      if apply then
        rcall('ZADD', key, 'NX', ARGV[i + 3], ARGV[i + 4])
        if ARGV[i + 5] ~= '' then rcall('ZREMRANGEBYSCORE', key, '-inf', ARGV[i + 5]) end
      end
      i = i + 6
    end
    if apply then rcall('EXPIRE', key, ttl) end
  end
  return i
end
`;
