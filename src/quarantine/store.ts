import type { Redis } from 'ioredis';
import type { FieldError } from '../events/schemas.ts';
import { recordKey } from '../redis/keys.ts';

/** A rejected delivery kept for inspection. Only signed, schema-invalid ones (422) are replayable. */
export interface QuarantineEntry {
  id: string;
  receivedAt: string;
  status: number;
  reason: string;
  eventType: string;
  /** The raw body as received (cut at `MAX_KEPT_BYTES` for oversized or unsigned bodies). */
  body: string;
  truncated: boolean;
  replayable: boolean;
  /** Each field the schema refused (422s). */
  errors: FieldError[];
  /** The address it came from. */
  source: string;
  /** Its size as received, in bytes. */
  bytes: number;
}

/** Whether an entry can be replayed: a schema-invalid (422) delivery whose body was kept whole. */
export function canReplay(entry: Pick<QuarantineEntry, 'replayable' | 'truncated'>): boolean {
  return entry.replayable && !entry.truncated;
}

const MAX_KEPT_BYTES = 64 * 1024;

/**
 * Rejected webhooks, in a bounded Redis stream (oldest dropped past `maxEntries`), so a bad
 * delivery is never silently lost and ops can see what Loopwise sent and why it was refused.
 * A room of its own below the pipeline: the receiver writes it; the traces, the console, the CLI,
 * the overview and the retention purge read it (README "Layout").
 */
export class Quarantine {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly maxEntries: number,
  ) {
    this.key = recordKey(prefix, 'quarantine');
  }

  /** Keeps a rejected delivery; returns its id. */
  async add(
    entry: Omit<QuarantineEntry, 'id' | 'receivedAt' | 'truncated' | 'body' | 'errors' | 'source' | 'bytes'> & {
      body: Buffer | string;
      errors?: FieldError[];
      source?: string;
    },
  ): Promise<string> {
    const raw = Buffer.isBuffer(entry.body) ? entry.body : Buffer.from(entry.body);
    const keepWhole = entry.replayable || raw.length <= MAX_KEPT_BYTES;
    const body = (keepWhole ? raw : raw.subarray(0, MAX_KEPT_BYTES)).toString('utf8');
    const fields = {
      receivedAt: new Date().toISOString(),
      status: String(entry.status),
      reason: entry.reason,
      eventType: entry.eventType,
      body,
      truncated: keepWhole ? '0' : '1',
      replayable: entry.replayable ? '1' : '0',
      errors: JSON.stringify(entry.errors ?? []),
      source: entry.source ?? '',
      bytes: String(raw.length),
    };
    const id = await this.redis.xadd(
      this.key,
      'MAXLEN',
      '~',
      String(this.maxEntries),
      '*',
      ...Object.entries(fields).flat(),
    );
    return id!;
  }

  /** Newest first, at most `count`. */
  async list(count = 100): Promise<QuarantineEntry[]> {
    const rows = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', count);
    return rows.map(([id, fields]) => toEntry(id, fields));
  }

  async get(id: string): Promise<QuarantineEntry | undefined> {
    const rows = await this.redis.xrange(this.key, id, id);
    return rows[0] ? toEntry(rows[0][0], rows[0][1]) : undefined;
  }

  async remove(id: string): Promise<boolean> {
    return (await this.redis.xdel(this.key, id)) === 1;
  }

  /** Removes the entries received before `cutoffMs` (stream ids start with their time); returns how many. */
  async removeOlderThan(cutoffMs: number): Promise<number> {
    return this.redis.xtrim(this.key, 'MINID', Math.floor(cutoffMs));
  }

  async size(): Promise<number> {
    return this.redis.xlen(this.key);
  }
}

function toEntry(id: string, flat: string[]): QuarantineEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  return {
    id,
    receivedAt: f.receivedAt ?? '',
    status: Number(f.status),
    reason: f.reason ?? '',
    eventType: f.eventType ?? '',
    body: f.body ?? '',
    truncated: f.truncated === '1',
    replayable: f.replayable === '1',
    errors: f.errors ? (JSON.parse(f.errors) as FieldError[]) : [],
    source: f.source ?? '',
    bytes: f.bytes ? Number(f.bytes) : Buffer.byteLength(f.body ?? ''),
  };
}
