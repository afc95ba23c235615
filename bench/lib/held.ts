import type { Config } from '../../src/config.ts';
import { familyTotal, lifetimeLabel, lifetimeOf, type Family } from './families.ts';

/** What one family holds per enrollment of a steady flow. */
export interface HeldFamily {
  name: string;
  /** MEMORY USAGE per enrollment. */
  bytes: number;
  keys: number;
  /** Its lifetime as configured ("30 d (TRACE_RETENTION_DAYS)", "by count: …"). */
  lifetime: string;
  /** bytes × days left to live, per enrollment. */
  byteDays: number;
  /** The same with Redis' per-key bookkeeping (`perKey` bytes a key, spread from used_memory) added. */
  byteDaysWithKeys: number;
  /** Bytes in keys without a TTL, per enrollment (must be about 0: those are bounded by count). */
  lastingBytes: number;
}

export interface Held {
  /** Per enrollment of the round: bytes × days, summed over every key (MEMORY USAGE × TTL). */
  byteDays: number;
  byteDaysWithKeys: number;
  /** used_memory growth beyond MEMORY USAGE, per new key. */
  perKey: number;
  families: HeldFamily[];
  /** Bytes per enrollment the round added in keys without a TTL. */
  lastingBytes: number;
}

/**
 * What a steady flow holds per daily enrollment, from one round's growth (`growth`, over `n`
 * enrollments, `usedGrowth` of used_memory): each key's size times the days it has left to live,
 * summed — every day's enrollments leave that for those days. MEMORY USAGE leaves out part of
 * Redis' bookkeeping of a key (its expiry entry, the tables' slots): spread what used_memory grew
 * by beyond MEMORY USAGE over the new keys and count it for their lifetimes too.
 */
export function heldPerEnrollment(growth: Record<string, Family>, n: number, usedGrowth: number, config: Config): Held {
  const total = familyTotal(growth);
  const perKey = total.keys > 0 ? Math.max(0, (usedGrowth - total.bytes) / total.keys) : 0;
  const families = Object.entries(growth)
    .filter(([, f]) => Math.abs(f.bytes) / n >= 0.5 || f.keys !== 0)
    .map(([name, f]) => ({
      name,
      bytes: f.bytes / n,
      keys: f.keys / n,
      lifetime: lifetimeLabel(name, config),
      byteDays: f.byteDays / n,
      byteDaysWithKeys: (f.byteDays + perKey * f.keyDays) / n,
      lastingBytes: f.lastingBytes / n,
    }))
    .sort((a, b) => b.byteDaysWithKeys - a.byteDaysWithKeys || b.bytes - a.bytes);
  return {
    byteDays: total.byteDays / n,
    byteDaysWithKeys: (total.byteDays + perKey * total.keyDays) / n,
    perKey,
    families,
    lastingBytes: total.lastingBytes / n,
  };
}

/** Families with keys whose lifetime the registry does not know (each must be registered). */
export function unregistered(families: Record<string, Family>): string[] {
  return Object.keys(families).filter((name) => !lifetimeOf(name));
}

const mib = (b: number) => b / 2 ** 20;

/** One line per family: "cs:trace 412 B × 30 d (TRACE_RETENTION_DAYS) = 12,360 B·d". */
export function heldLines(held: Held): string[] {
  const n = (v: number) => Math.round(v).toLocaleString('en-US');
  return held.families
    .filter((f) => Math.abs(f.byteDaysWithKeys) >= 1 || Math.abs(f.bytes) >= 0.5)
    .map(
      (f) =>
        `${f.name.padEnd(24)} ${n(f.bytes).padStart(6)} B ${f.keys.toFixed(2)} keys, lives ${f.lifetime}: ${n(f.byteDays)} B·d (${n(f.byteDaysWithKeys)} with key bookkeeping)`,
    );
}

/** The capacity table: enrollments a day → Redis a steady flow holds. */
export function capacityLine(held: Held): string {
  return [1_000, 10_000, 50_000]
    .map(
      (perDay) =>
        `${perDay.toLocaleString('en-US')} a day → ${((mib(held.byteDays) * perDay) / 1024).toFixed(2)} GiB (${((mib(held.byteDaysWithKeys) * perDay) / 1024).toFixed(2)} GiB with key bookkeeping)`,
    )
    .join('; ');
}
