import type { Redis } from 'ioredis';
import type { Config } from '../../src/config.ts';
import { globSafe, scanKeys } from '../../src/redis/keys.ts';
import { QUEUE_FAMILIES, recordFamily, type Lifetime } from '../../src/redis/records.ts';

/** Bytes (MEMORY USAGE) and keys of one family of records, with what they hold for how long. */
export interface Family {
  keys: number;
  bytes: number;
  /** Each key's bytes times the days it has left to live (its TTL), summed. */
  byteDays: number;
  /** Each key's days left to live, summed (for Redis' per-key bookkeeping, which MEMORY USAGE leaves out). */
  keyDays: number;
  /** Keys without a TTL, and their bytes. */
  lastingKeys: number;
  lastingBytes: number;
}

const empty = (): Family => ({ keys: 0, bytes: 0, byteDays: 0, keyDays: 0, lastingKeys: 0, lastingBytes: 0 });

/** BullMQ's per-queue structures (not jobs): lists, sets, the meta hash, the id counter, the marker... */
const QUEUE_PARTS = new Set([
  'wait',
  'paused',
  'active',
  'completed',
  'failed',
  'delayed',
  'prioritized',
  'meta',
  'id',
  'marker',
  'stalled',
  'stalled-check',
  'limiter',
  'pc',
  'events',
  'metrics',
  'repeat',
  'de',
]);

/**
 * The family of a key under `prefix`: `cs:<kind>` (`cs:trace-idx:<kind>` for the trace index) for
 * course-sync's own records; for BullMQ's, `<queue> jobs`, `<queue> events` (the event log) or
 * `<queue> queue` (its other structures).
 */
export function familyOf(prefix: string, key: string): string {
  const rest = key.slice(prefix.length + 1).split(':');
  if (rest[0] === 'cs') return rest[1] === 'trace-idx' ? `cs:trace-idx:${rest[2]}` : `cs:${rest[1]}`;
  const [queue, part, more] = rest;
  if (part === undefined) return `${queue}`;
  if (QUEUE_PARTS.has(part)) return `${queue} ${part === 'events' ? 'events' : 'queue'}`;
  if (more !== undefined) return `${queue} job ${more}`;
  return `${queue} jobs`;
}

/** The lifetime of a family: the registry's (src/redis/records.ts) for course-sync's records, count-bounded for BullMQ's. */
export function lifetimeOf(family: string): Lifetime | undefined {
  if (family.startsWith('cs:')) return recordFamily(family)?.lifetime;
  return QUEUE_FAMILIES[family.slice(family.lastIndexOf(' ') + 1)] ?? QUEUE_FAMILIES.jobs;
}

/** "30 d (TRACE_RETENTION_DAYS)", "by count: …", or "unregistered". */
export function lifetimeLabel(family: string, config: Config): string {
  const l = lifetimeOf(family);
  if (!l) return 'NOT IN src/redis/records.ts';
  if (l.kind === 'count') return `by count: ${l.bound}`;
  if (l.kind === 'until') return `until ${l.what}`;
  const sec = l.seconds(config);
  const span =
    sec >= 86_400
      ? `${+(sec / 86_400).toFixed(1)} d`
      : sec >= 3_600
        ? `${+(sec / 3_600).toFixed(1)} h`
        : `${Math.round(sec)} s`;
  return l.setting ? `${span} (${l.setting})` : span;
}

/** Every key under `prefix` grouped by family: MEMORY USAGE and TTL summed. */
export async function countFamilies(redis: Redis, prefix: string): Promise<Record<string, Family>> {
  const keys = await scanKeys(redis, `${globSafe(prefix)}:*`);
  const families: Record<string, Family> = {};
  for (let i = 0; i < keys.length; i += 1000) {
    const chunk = keys.slice(i, i + 1000);
    const batch = redis.pipeline();
    for (const k of chunk) batch.memory('USAGE', k, 'SAMPLES', 0).pttl(k);
    const answers = (await batch.exec()) ?? [];
    chunk.forEach((k, j) => {
      const bytes = Number(answers[2 * j]?.[1] ?? 0);
      const pttl = Number(answers[2 * j + 1]?.[1] ?? -2);
      if (pttl === -2) return; // gone between SCAN and now
      const f = (families[familyOf(prefix, k)] ??= empty());
      f.keys += 1;
      f.bytes += bytes;
      if (pttl === -1) {
        f.lastingKeys += 1;
        f.lastingBytes += bytes;
      } else {
        f.byteDays += (bytes * pttl) / 86_400_000;
        f.keyDays += pttl / 86_400_000;
      }
    });
  }
  return families;
}

/** `after` minus `before`, family by family (families only in `before` come out negative). */
export function familyGrowth(before: Record<string, Family>, after: Record<string, Family>): Record<string, Family> {
  const out: Record<string, Family> = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = after[name] ?? empty();
    const b = before[name] ?? empty();
    out[name] = Object.fromEntries(
      Object.keys(a).map((k) => [k, a[k as keyof Family] - b[k as keyof Family]]),
    ) as unknown as Family;
  }
  return out;
}

/** "cs:trace 412 B 1.00 keys, ..." per enrollment, largest first. */
export function familyLine(families: Record<string, Family>, per: number): string {
  return Object.entries(families)
    .filter(([, f]) => Math.round(f.bytes / per) !== 0 || f.keys !== 0)
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .map(([name, f]) => `${name} ${Math.round(f.bytes / per)} B ${(f.keys / per).toFixed(2)} keys`)
    .join(', ');
}

/** The families' sum. */
export function familyTotal(families: Record<string, Family>): Family {
  return Object.values(families).reduce((t, f) => {
    for (const k of Object.keys(t) as (keyof Family)[]) t[k] += f[k];
    return t;
  }, empty());
}
