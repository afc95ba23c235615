import type { Redis } from 'ioredis';
import type { QueueSet } from '../queues/registry.ts';
import { findQueueRecords } from './queue-records.ts';
import { findOwnRecords } from './record-sweep.ts';
import type { Student } from './student.ts';

/** One copy of a student's data course-sync holds: a job, a trace, an entry of a shared stream or index… */
export interface StudentRecord {
  /** What it is, as `forget` reports it ("jobs", "traces", "quarantined deliveries", …). */
  kind: string;
  /** Where: the Redis key (with the entry or member), or `<queue>/<job id>`. */
  where: string;
  /** What it holds, as read (for `export`). */
  content: unknown;
  /** Removes this copy (or the student's part of it); removing it again does nothing. */
  erase(): Promise<void>;
}

/** Where students' data is kept: the queues and course-sync's own records, under one prefix. */
export interface StudentStores {
  redis: Redis;
  prefix: string;
  queues: QueueSet;
}

/** Passes at most: each can teach ids that find more (address → enrollment → user → other enrollments). */
const MAX_PASSES = 5;

/**
 * Every record naming the student, in every queue (jobs in any state, dead letters, event logs) and
 * among course-sync's own keys. Looks again as long as a pass taught new identifiers.
 */
export async function findStudentRecords(stores: StudentStores, student: Student): Promise<StudentRecord[]> {
  let records: StudentRecord[] = [];
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const before = student.size;
    records = [
      ...(await findQueueRecords(stores.redis, stores.queues, student)),
      ...(await findOwnRecords(stores.redis, stores.prefix, student)),
    ];
    if (student.size === before) break;
  }
  return records;
}

/** How many records of each kind, kinds in a stable order. */
export function countByKind(records: StudentRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of [...records].sort((a, b) => a.kind.localeCompare(b.kind))) counts[r.kind] = (counts[r.kind] ?? 0) + 1;
  return counts;
}
