import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { globSafe, scanKeys } from '../../src/redis/keys.ts';
import type { QueueSet } from '../../src/queues/registry.ts';
import type { WorkQueueName } from '../../src/queues/names.ts';

/**
 * Fixtures of course-sync's formats (src/formats.ts), one file per format and version:
 * test/fixtures/formats/<format>/<version>.json. A fixture holds Redis records as written (key
 * under `{prefix}`, type, value, TTL) and jobs as written (queue, id, name, data, timestamp), what
 * the reading release must make of them (`expect`), and — for a current version — the shape the
 * pin test compares today's writes with.
 */
export const FORMATS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'formats');

/** A value as stored: text, or bytes (a packed trace's pieces) as `{ base64 }`. */
export type StoredText = string | { base64: string };

export type FixtureRecord =
  | { key: string; type: 'string'; value: StoredText; ttl?: number }
  | { key: string; type: 'hash'; value: Record<string, StoredText>; ttl?: number }
  | { key: string; type: 'list'; value: string[]; ttl?: number }
  | { key: string; type: 'zset'; value: [string, number][]; ttl?: number };

export interface FixtureJob {
  queue: WorkQueueName;
  /** A dead letter (in the queue's dead-letter queue), not a job to run. */
  deadLetter?: true;
  id: string;
  name: string;
  data: unknown;
  timestamp: number;
}

/** What the release reading a fixture must do with it. */
export interface FixtureExpect {
  /** Addresses whose HubSpot contact the jobs write (with these course ids among their courses). */
  contacts?: { email: string; courses: string[] }[];
  /** Addresses that get one welcome email. */
  welcomes?: string[];
  /** Dead letters `course-sync dlq replay` puts back, whose job then completes. */
  replays?: { queue: WorkQueueName; id: string }[];
  /** Plan ids the products jobs write to HubSpot. */
  products?: string[];
  /** `course-sync trace <query>` finds trace `key`. */
  traces?: { query: string; key: string }[];
  /** Addresses `course-sync export` finds records of (one where each of `where` is), and `forget` erases. */
  students?: { email: string; where: string[] }[];
  /** Enrollment ids whose welcome email `course-sync export <id>` shows, with its status. */
  sent?: string[];
}

export interface FormatFixture {
  format: string;
  version: number;
  /** How the fixture was made: captured from a release's writes, or rebuilt from the code that read it. */
  origin: string;
  records: FixtureRecord[];
  jobs: FixtureJob[];
  expect: FixtureExpect;
  /** For a current version: the shape of what is written (see `shapeOf`). */
  shape?: unknown;
}

const PREFIX = '{prefix}';

/** Every fixture committed, by format then version. */
export function readFixtures(): FormatFixture[] {
  if (!existsSync(FORMATS_DIR)) return [];
  return readdirSync(FORMATS_DIR).flatMap((format) =>
    readdirSync(join(FORMATS_DIR, format))
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(FORMATS_DIR, format, f), 'utf8')) as FormatFixture),
  );
}

export function fixturePath(format: string, version: number): string {
  return join(FORMATS_DIR, format, `${version}.json`);
}

export function writeFixture(fixture: FormatFixture): void {
  mkdirSync(join(FORMATS_DIR, fixture.format), { recursive: true });
  writeFileSync(fixturePath(fixture.format, fixture.version), JSON.stringify(fixture, null, 1) + '\n');
}

const text = (b: Buffer): StoredText => {
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? s : { base64: b.toString('base64') };
};
const bytes = (v: StoredText): Buffer =>
  typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.base64, 'base64');

/** course-sync's own records under `prefix` whose family (`cs:<kind>`) passes `keep`, as a fixture holds them. */
export async function dumpRecords(
  redis: Redis,
  prefix: string,
  keep: (family: string) => boolean,
): Promise<FixtureRecord[]> {
  const keys = (await scanKeys(redis, `${globSafe(prefix)}:cs:*`)).sort();
  const out: FixtureRecord[] = [];
  for (const full of keys) {
    const key = PREFIX + full.slice(prefix.length);
    if (!keep(full.slice(prefix.length + 1).split(':')[1]!)) continue;
    const ttl = await redis.ttl(full);
    const kept = ttl > 0 ? { ttl } : {};
    const type = await redis.type(full);
    if (type === 'string') out.push({ key, type, value: text((await redis.getBuffer(full))!), ...kept });
    else if (type === 'hash')
      out.push({
        key,
        type,
        value: Object.fromEntries(Object.entries(await redis.hgetallBuffer(full)).map(([f, v]) => [f, text(v)])),
        ...kept,
      });
    else if (type === 'list') out.push({ key, type, value: await redis.lrange(full, 0, -1), ...kept });
    else if (type === 'zset') {
      const flat = await redis.zrange(full, '0', '-1', 'WITHSCORES');
      const value: [string, number][] = [];
      for (let i = 0; i < flat.length; i += 2) value.push([flat[i]!, Number(flat[i + 1])]);
      out.push({ key, type, value, ...kept });
    }
  }
  return out;
}

/** The jobs waiting in `queues`, as written. */
export async function dumpJobs(queues: QueueSet, names: WorkQueueName[]): Promise<FixtureJob[]> {
  const out: FixtureJob[] = [];
  for (const queue of names) {
    for (const job of await queues.work[queue].getJobs(['waiting', 'prioritized', 'delayed'])) {
      out.push({ queue, id: job.id!, name: job.name, data: job.data, timestamp: job.timestamp });
    }
  }
  return out.sort((a, b) => (a.queue + a.id < b.queue + b.id ? -1 : 1));
}

/** Writes a fixture's records under `prefix` (TTL as kept, else a day) and adds its jobs as the release that wrote them did. */
export async function loadFixture(
  redis: Redis,
  queues: QueueSet,
  prefix: string,
  fixture: FormatFixture,
  attempts = 3,
): Promise<void> {
  for (const r of fixture.records) {
    // Added to what is there: fixtures loaded together share the records of a day (the trace indexes).
    const key = prefix + r.key.slice(PREFIX.length);
    if (r.type === 'string') await redis.set(key, bytes(r.value));
    else if (r.type === 'hash')
      await redis.hset(key, Object.fromEntries(Object.entries(r.value).map(([f, v]) => [f, bytes(v)])));
    else if (r.type === 'list') await redis.rpush(key, ...r.value);
    else await redis.zadd(key, ...r.value.flatMap(([m, s]) => [String(s), m]));
    await redis.expire(key, r.ttl ?? 86_400);
  }
  for (const j of fixture.jobs) {
    if (j.deadLetter) {
      await queues.deadLetter[j.queue].add(j.name, j.data, { jobId: j.id, timestamp: j.timestamp });
      continue;
    }
    await queues.work[j.queue].add(j.name, j.data, {
      jobId: j.id,
      timestamp: j.timestamp,
      attempts,
      backoff: { type: 'jittered', delay: 50 },
    });
  }
}

/** Names whose variable part is data, not format: a course id, a step's order, a piece's number. */
function fieldPattern(name: string): string {
  return name
    .replace(/^c:.+/, 'c:<id>')
    .replace(/^s:.+/, 's:<order>')
    .replace(/^z\d+$/, 'z<n>')
    .replace(/^q:.+/, 'q:<queue>')
    .replace(/^e:([^.]+)\..+/, 'e:$1.<field>')
    .replace(/^e:[^.]+$/, 'e:<field>')
    .replace(/^[A-Za-z0-9_-]{22}$/, '<e-mail hash>');
}

/**
 * The shape of a value: field names and value types, not the values (times, ids, addresses).
 * JSON texts are read as JSON; arrays keep the shape of their first element.
 */
export function shapeOf(value: unknown): unknown {
  if (typeof value === 'string' && /^[[{]/.test(value)) {
    try {
      return { json: shapeOf(JSON.parse(value)) };
    } catch {
      return 'string';
    }
  }
  if (Array.isArray(value)) return value.length ? [shapeOf(value[0])] : [];
  if (value && typeof value === 'object') {
    if ('base64' in value) return 'bytes';
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      out[fieldPattern(k)] ??= shapeOf(v);
    return out;
  }
  return value === null ? 'null' : typeof value;
}

const isShapeObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Two shapes as one: the fields of both (the first's type where both have one), whatever order the records came in. */
function mergeShapes(a: unknown, b: unknown): unknown {
  if (!isShapeObject(a) || !isShapeObject(b)) return a;
  const out: Record<string, unknown> = {};
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
    out[k] = k in a && k in b ? mergeShapes(a[k], b[k]) : k in a ? a[k] : b[k];
  return out;
}

/** The shape of records: per family and type, the shape of all their values. */
export function recordsShape(records: FixtureRecord[]): unknown {
  const byFamily: Record<string, unknown> = {};
  for (const r of records) {
    const name = `${r.key.split(':')[2]}:${r.type}`;
    const shape = shapeOf(r.type === 'zset' ? 'zset' : r.value);
    byFamily[name] = name in byFamily ? mergeShapes(byFamily[name], shape) : shape;
  }
  return Object.fromEntries(Object.entries(byFamily).sort(([x], [y]) => (x < y ? -1 : 1)));
}

/** The shape of jobs: per queue and name, the shape of their data. */
export function jobsShape(jobs: FixtureJob[]): unknown {
  const out: Record<string, unknown> = {};
  for (const j of jobs) out[`${j.queue}${j.deadLetter ? '-dlq' : ''}/${j.name}`] ??= shapeOf(j.data);
  return out;
}
