import type { Redis } from 'ioredis';
import { connectSentinel, type RedisTarget, type SentinelTarget } from '../redis/connection.ts';
import type { ReplicaAck } from '../redis/replica-ack.ts';
import { ok, problem, unknown, type CheckResult } from './check.ts';

/** `field:value` lines of an INFO section as a map. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** A reply of field/value pairs (RESP2 flat array or RESP3 map) as an object. */
function fields(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
    return out;
  }
  return Object.fromEntries(Object.entries((reply ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

interface ReplicaLine {
  address: string;
  state: string;
  behind: number;
  lagSeconds: number;
}

/** The replicas INFO replication lists on a primary (`slave0:ip=…,port=…,state=online,offset=…,lag=…`). */
function replicasOf(info: Record<string, string>): ReplicaLine[] {
  const primaryOffset = Number(info.master_repl_offset ?? 0);
  return Object.entries(info)
    .filter(([k]) => /^slave\d+$/.test(k))
    .map(([, v]) => {
      const f = Object.fromEntries(v.split(',').map((kv) => kv.split('=') as [string, string]));
      return {
        address: `${f.ip}:${f.port}`,
        state: f.state ?? '?',
        behind: Math.max(0, primaryOffset - Number(f.offset ?? 0)),
        lagSeconds: Number(f.lag ?? 0),
      };
    });
}

const ACK_NAME = 'Redis replica acknowledgement';

/** What REDIS_MIN_REPLICAS_ACK asks of `online` replicas. */
function ackCheck(ack: ReplicaAck, online: number): CheckResult {
  const n = ack.replicas;
  if (n === 0)
    return ok(
      ACK_NAME,
      'off (REDIS_MIN_REPLICAS_ACK 0): a webhook is answered 2xx once the primary holds it; a failover can lose the last ones',
    );
  if (online < n)
    return problem(
      ACK_NAME,
      `REDIS_MIN_REPLICAS_ACK is ${n} but ${online} replica${online === 1 ? ' is' : 's are'} online: every webhook is answered 503`,
      'add replicas, or lower REDIS_MIN_REPLICAS_ACK',
    );
  const spare =
    online === n
      ? `; after a failover ${online - 1} would be left and webhooks answered 503 until one is back: run ${n + 1} replicas to ride through one`
      : '';
  return ok(
    ACK_NAME,
    `each webhook answered 2xx once ${n} of the ${online} online replicas hold it (WAIT, ${ack.timeoutMs} ms, else 503)${spare}`,
  );
}

/** The primary's replication, from its INFO: its replicas, how far behind each is, and what the ack setting needs. */
export async function checkReplication(redis: Redis, ack: ReplicaAck, primary: string): Promise<CheckResult[]> {
  let info: Record<string, string>;
  try {
    info = parseInfo(await redis.info('replication'));
  } catch {
    return [
      unknown('Redis replication', 'INFO replication is not allowed on this server'),
      ack.replicas
        ? unknown(ACK_NAME, `REDIS_MIN_REPLICAS_ACK is ${ack.replicas}; the replicas could not be counted`)
        : ackCheck(ack, 0),
    ];
  }
  if (info.role && info.role !== 'master')
    return [
      problem(
        'Redis replication',
        `${primary} is a ${info.role === 'slave' ? 'replica' : info.role} (read-only)`,
        'point REDIS_URL at the primary, or use REDIS_SENTINELS',
      ),
    ];
  const replicas = replicasOf(info);
  const online = replicas.filter((r) => r.state === 'online').length;
  if (ack.replicas > 0) {
    // Some managed services refuse WAIT: then no webhook could ever be confirmed.
    const refused = await redis.wait(0, 0).then(
      () => undefined,
      (err: Error) => err.message,
    );
    if (refused)
      return [
        ok('Redis replication', `primary ${primary}, ${replicas.length} replica(s)`),
        problem(
          ACK_NAME,
          `REDIS_MIN_REPLICAS_ACK is ${ack.replicas} but this server refuses WAIT (${refused}): every webhook would be answered 503`,
          "set REDIS_MIN_REPLICAS_ACK=0 (the service's own replication is then all there is)",
        ),
      ];
  }
  const list = replicas
    .map((r) => `${r.address} ${r.state}, ${r.behind} bytes not yet acknowledged, last ack ${r.lagSeconds} s ago`)
    .join('; ');
  const detail = `primary ${primary} (offset ${info.master_repl_offset ?? '?'}); ${replicas.length ? `${replicas.length} replica${replicas.length > 1 ? 's' : ''}: ${list}` : 'no replicas'}`;
  return [ok('Redis replication', detail), ackCheck(ack, online)];
}

type SentinelView = { node: string; error: string } | { node: string; master: Record<string, string> };

async function askSentinel(
  node: { host: string; port: number },
  target: RedisTarget & { sentinel: SentinelTarget },
): Promise<SentinelView> {
  const name = `${node.host}:${node.port}`;
  const redis = connectSentinel(node, target);
  try {
    return { node: name, master: fields(await redis.call('SENTINEL', 'MASTER', target.sentinel.master)) };
  } catch (err) {
    return { node: name, error: (err as Error).message };
  } finally {
    redis.disconnect();
  }
}

/**
 * What each sentinel of REDIS_SENTINELS says about REDIS_SENTINEL_MASTER: reachable, agreeing on the
 * primary, how many replicas and other sentinels each knows. Resolves to the results and the primary's address.
 */
export async function checkSentinels(
  target: RedisTarget & { sentinel: SentinelTarget },
): Promise<{ results: CheckResult[]; primary?: string }> {
  const name = 'Redis Sentinel';
  const { master, nodes } = target.sentinel;
  const views = await Promise.all(nodes.map((n) => askSentinel(n, target)));
  const answered = views.filter((v): v is { node: string; master: Record<string, string> } => 'master' in v);
  const failed = views.filter((v): v is { node: string; error: string } => 'error' in v);
  const failures = failed.map((v) => `${v.node} (${v.error})`).join(', ');
  if (!answered.length) {
    const unknownName = failed.some((v) => /no such master/i.test(v.error));
    return {
      results: [
        problem(
          name,
          `no sentinel answered about "${master}": ${failures}`,
          unknownName
            ? 'set REDIS_SENTINEL_MASTER to the name of their `sentinel monitor` line'
            : 'check REDIS_SENTINELS (host:port of each sentinel) and REDIS_SENTINEL_PASSWORD',
        ),
      ],
    };
  }
  const primaries = [...new Set(answered.map((v) => `${v.master.ip}:${v.master.port}`))];
  const first = answered[0]!.master;
  const quorum = Number(first.quorum ?? 0);
  const says = (v: (typeof answered)[number]) =>
    `${v.master['num-slaves'] ?? '?'} replica(s), ${v.master['num-other-sentinels'] ?? '?'} other sentinel(s), flags ${v.master.flags ?? '?'}`;
  const alike = new Set(answered.map(says)).size === 1;
  const knows = alike ? `each knows ${says(answered[0]!)}` : answered.map((v) => `${v.node}: ${says(v)}`).join('; ');
  const detail = `"${master}" primary ${primaries.join(' or ')}, quorum ${quorum}, ${answered.length} of ${nodes.length} sentinels answered (${knows})`;
  const results: CheckResult[] = [];
  if (primaries.length > 1)
    results.push(
      problem(
        name,
        `the sentinels disagree on the primary: ${detail}`,
        "wait for the failover to settle; if it persists, check the sentinels' logs",
      ),
    );
  else if (failed.length)
    results.push(
      problem(
        name,
        `${detail}; not answering: ${failures}`,
        'start the missing sentinels or correct REDIS_SENTINELS: a failover needs a majority of them',
      ),
    );
  else if (/down/.test(first.flags ?? ''))
    results.push(
      problem(
        name,
        `the sentinels see the primary down: ${detail}`,
        "a failover should follow; check the sentinels' logs",
      ),
    );
  else results.push(ok(name, detail));
  return { results, primary: primaries.length === 1 ? primaries[0] : undefined };
}
