import type { Job, JobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES } from '../queues/names.ts';
import type { QueueSet } from '../queues/registry.ts';
import { withoutPersonalData } from '../privacy/mask.ts';
import type { Student } from './student.ts';
import type { StudentRecord } from './student-records.ts';

/** Every state a job can be in; `forget` looks at all of them. */
const STATES: JobType[] = ['active', 'waiting', 'waiting-children', 'prioritized', 'delayed', 'completed', 'failed'];
const PAGE = 500;

async function* jobsOf(queue: Queue): AsyncGenerator<Job> {
  for (const state of STATES) {
    for (let start = 0; ; start += PAGE) {
      const page = (await queue.getJobs([state], start, start + PAGE - 1, true)) as Job[];
      for (const job of page) if (job) yield job;
      if (page.length < PAGE) break;
    }
  }
}

/**
 * Removes a job; one a worker holds (active, locked) cannot be, so its data is stripped of the
 * student's instead and marked, which makes every later attempt of it a no-op.
 */
async function removeJob(job: Job): Promise<void> {
  try {
    await job.remove();
  } catch {
    await job.updateData(withoutPersonalData(job.data));
  }
}

/** SendGrid's events are posted in batches naming many students: only theirs are taken out of the job. */
async function dropEvents(job: Job, student: Student): Promise<void> {
  const events = (job.data?.events ?? []) as unknown[];
  const others = events.filter((e) => !student.isNamedIn(e));
  if (!others.length) return removeJob(job);
  await job.updateData({ ...job.data, events: others });
}

/** The parts of a job that can name the student: its data, its result, why it failed. */
function jobContent(job: Job): Record<string, unknown> {
  return { data: job.data, returnvalue: job.returnvalue, failedReason: job.failedReason, stacktrace: job.stacktrace };
}

/**
 * The student's jobs in every state of every work queue and dead-letter queue, and the entries of
 * each queue's event log (BullMQ's `<queue>:events` stream: failure reasons, results) naming them.
 */
export async function findQueueRecords(redis: Redis, queues: QueueSet, student: Student): Promise<StudentRecord[]> {
  const found: StudentRecord[] = [];
  const deadLetterQueues = new Set(Object.values(queues.deadLetter));
  for (const queue of queues.all()) {
    const kind = deadLetterQueues.has(queue)
      ? 'dead letters'
      : queue.name === QUEUES.emailEvents
        ? 'SendGrid event batches'
        : 'jobs';
    for await (const job of jobsOf(queue)) {
      const content = jobContent(job);
      const where = `${queue.name}/${job.id}`;
      if (kind === 'SendGrid event batches') {
        // A batch is shared with other students: found by its content only, and only their events go.
        if (student.learnFrom(content))
          found.push({
            kind,
            where,
            content: { queue: queue.name, id: job.id, ...content },
            erase: () => dropEvents(job, student),
          });
        continue;
      }
      if (!student.learnFrom(content) && !student.recordKeys.has(job.id!)) continue;
      student.recordKeys.add(job.id!);
      found.push({ kind, where, content: { queue: queue.name, id: job.id, ...content }, erase: () => removeJob(job) });
    }
    found.push(...(await findQueueEvents(redis, queue, student)));
  }
  return found;
}

async function findQueueEvents(redis: Redis, queue: Queue, student: Student): Promise<StudentRecord[]> {
  const key = queue.keys.events!;
  const entries = await redis.xrange(key, '-', '+');
  return entries
    .filter(([, fields]) => student.isNamedIn(Object.fromEntries(pairs(fields))))
    .map(([id, fields]) => ({
      kind: 'queue event log entries',
      where: `${key}/${id}`,
      content: Object.fromEntries(pairs(fields)),
      erase: async () => void (await redis.xdel(key, id)),
    }));
}

/** [k1, v1, k2, v2] → [[k1, v1], [k2, v2]]. */
export function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
