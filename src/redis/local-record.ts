import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { answersPing } from './local-server.ts';

/**
 * Where `course-sync start` notes the private redis-server it runs (REDIS_URL unset), so that the
 * other commands started from the same folder find that Redis by themselves. One JSON file in
 * REDIS_DATA_DIR, written once Redis answers and removed when the service stops cleanly; a file
 * left by a killed service is recognised as stale (its process is gone, or its port is silent).
 */
export const RECORD_FILE = 'course-sync.json';

export interface LocalRedisRecord {
  /** Where the private Redis listens, `redis://127.0.0.1:<port>`. */
  url: string;
  /** The course-sync process that started it (and stops it). */
  pid: number;
  /** redis-server's own process. */
  redisPid?: number;
  /** ISO 8601 time the service started its Redis. */
  startedAt: string;
}

export type LocalRedisLookup =
  | { state: 'running'; path: string; record: LocalRedisRecord }
  | { state: 'none'; path: string }
  | { state: 'stale'; path: string; record?: LocalRedisRecord; reason: string };

function recordPath(dataDir: string): string {
  return join(resolve(dataDir), RECORD_FILE);
}

/** Writes the record (to a temporary file first, so a reader never sees half of it). */
export function writeLocalRedisRecord(dataDir: string, record: LocalRedisRecord): void {
  const path = recordPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(tmp, path);
}

function readRecord(path: string): LocalRedisRecord | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const r = JSON.parse(text) as Partial<LocalRedisRecord>;
    if (
      typeof r.url === 'string' &&
      /^redis:\/\/127\.0\.0\.1:\d+$/.test(r.url) &&
      Number.isInteger(r.pid) &&
      typeof r.startedAt === 'string'
    )
      return r as LocalRedisRecord;
  } catch {
    /* not JSON */
  }
  return 'unreadable';
}

/** Removes the record if it is the one process `pid` wrote (another service may have replaced it). */
export function removeLocalRedisRecord(dataDir: string, pid = process.pid): void {
  const path = recordPath(dataDir);
  const record = readRecord(path);
  if (typeof record === 'object' && record.pid === pid) rmSync(path, { force: true });
}

/** True while process `pid` exists (signal 0 checks without sending anything; EPERM: it exists, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads the record under `dataDir` and checks that its service still runs and its Redis answers. */
export async function findLocalRedis(dataDir: string): Promise<LocalRedisLookup> {
  const path = recordPath(dataDir);
  const record = readRecord(path);
  if (record === 'missing') return { state: 'none', path };
  if (record === 'unreadable') return { state: 'stale', path, reason: 'the file cannot be read' };
  if (!processAlive(record.pid)) return { state: 'stale', path, record, reason: `its process ${record.pid} is gone` };
  const port = Number(new URL(record.url).port);
  if (!(await answersPing(port))) return { state: 'stale', path, record, reason: `nothing answers at ${record.url}` };
  return { state: 'running', path, record };
}

/**
 * Shuts down the private Redis a killed service left running (it runs in a process group of its own)
 * when it serves `dataDir`, so a new one never shares that folder's append-only file; Redis writes
 * its data out on SHUTDOWN, and the new one reads it back. Resolves true when it stopped one.
 */
export async function stopLeftOverRedis(
  record: LocalRedisRecord,
  dataDir: string,
  timeoutMs = 10_000,
): Promise<boolean> {
  const port = Number(new URL(record.url).port);
  if (!(await answersPing(port))) return false;
  const redis = new Redis(record.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const [, dir] = await redis.config('GET', 'dir');
    if (!dir || resolve(dir) !== resolve(dataDir)) return false;
    await redis.call('SHUTDOWN').catch(() => undefined); // answered by closing the connection
  } finally {
    redis.disconnect();
  }
  const deadline = Date.now() + timeoutMs;
  while (await answersPing(port)) {
    if (Date.now() > deadline)
      throw new Error(`the Redis left running at ${record.url} by a stopped course-sync did not shut down`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
  return true;
}
