import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { idempotencyKey } from '../../src/events/idempotency-key.ts';
import { EventIntake } from '../../src/queues/intake.ts';
import { QUEUES, type WorkQueueName } from '../../src/queues/names.ts';
import { TraceWriter } from '../../src/trace/writer.ts';
import type { BenchContext } from './context.ts';
import { enrollment } from './enrollments.ts';
import { machineBusyMs, procCpuMs, spawnService, waitLog, type Child } from './processes.ts';

/** A work queue filled while paused, so the drain starts only when `resume()` is called. */
export interface PausedQueue {
  queue: Queue;
  /** Resumes the queue; returns the time it did (the start of the drain). */
  resume(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Accepts enrollments `from`..`from+count-1` of `tag` through the intake, as the receiver does (both
 * jobs of each, the enrollment in its pending record, the trace's index entries), with both
 * enrollment queues paused: only `queueName` is resumed, the other's jobs stay where they are.
 */
export async function fillPaused(
  ctx: BenchContext,
  prefix: string,
  queueName: WorkQueueName,
  tag: string,
  count: number,
  from = 0,
  make: typeof enrollment = enrollment,
): Promise<PausedQueue> {
  const connection = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
  const [queue, other] = [queueName, queueName === QUEUES.email ? QUEUES.contacts : QUEUES.email].map(
    (name) => new Queue(name, { connection, prefix }),
  );
  await Promise.all([queue!.pause(), other!.pause()]);
  const config = ctx.config(prefix);
  const intake = new EventIntake(connection, config, new TraceWriter(connection, config));
  for (let i = 0; i < count; i += 500) {
    const events = Array.from({ length: Math.min(500, count - i) }, (_, k) => ({
      type: 'course.student_enroll' as const,
      data: make(tag, from + i + k),
    }));
    await Promise.all(events.map((e) => intake.accept(e, idempotencyKey(e), `bench-${e.data.id}`)));
  }
  return {
    queue: queue!,
    resume: async () => {
      await queue!.resume();
      return Date.now();
    },
    close: async () => {
      await Promise.all([queue!.close(), other!.close()]);
      await connection.quit();
    },
  };
}

/** Starts `count` worker processes (`course-sync start --role worker`) and waits until each has its workers running. */
export async function startWorkerProcesses(
  ctx: BenchContext,
  name: string,
  env: Record<string, string>,
  count = 1,
): Promise<Child[]> {
  const children = Array.from({ length: count }, (_, i) =>
    spawnService(`${name}-worker${count > 1 ? i + 1 : ''}`, 'worker', {
      env,
      logDir: ctx.logDir,
      nodeFlags: ctx.profileFlags(`${name}-worker${i + 1}`),
    }),
  );
  try {
    await Promise.all(children.map((c) => waitLog(c, '"workers started"', 60_000)));
  } catch (err) {
    await Promise.all(children.map((c) => c.stop()));
    throw err;
  }
  return children;
}

/** Polls `done` every 20 ms (or as soon as its promise settles); throws after `timeoutMs` naming `what`. */
export async function waitUntil(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(20);
  }
}

/** The most CPU (in cores) other processes of the machine used during any measured stretch since the last reset. */
export const interference = { worst: 0 };

/** CPU time used by each process during a measured stretch: start() then stop() → ms per process. */
export function cpuMeter(ctx: BenchContext, children: Child[]) {
  const pids: Record<string, number> = {
    redis: ctx.redisPid,
    ...Object.fromEntries(children.map((c) => [c.name, c.proc.pid!])),
  };
  const read = () => {
    const own = process.cpuUsage();
    // "bench" is this process: the load generator and the in-process emulators.
    return {
      ...Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, procCpuMs(pid)])),
      bench: (own.user + own.system) / 1000,
      machine: machineBusyMs(),
    };
  };
  const before = read();
  const t0 = Date.now();
  return {
    /**
     * CPU use of each process as a share of one core over the stretch, e.g. { redis: 0.31 }, and
     * `others`: what the rest of the machine used meanwhile (other people's work skews the figures).
     */
    stop(): Record<string, number> {
      const after = read();
      const wall = Math.max(1, Date.now() - t0);
      const share = (ms: number) => Math.round((ms / wall) * 100) / 100;
      const used = Object.fromEntries(
        Object.keys(after).map((n) => [
          n,
          (after as Record<string, number>)[n]! - (before as Record<string, number>)[n]!,
        ]),
      );
      const { machine, ...ours } = used;
      const others = machine! - Object.values(ours).reduce((a, b) => a + b, 0);
      interference.worst = Math.max(interference.worst, share(others));
      return {
        ...Object.fromEntries(Object.entries(ours).map(([n, ms]) => [n, share(ms)])),
        others: Math.max(0, share(others)),
        machine: share(machine!),
      };
    },
  };
}

/** "redis 0.31, worker 0.95, others 0.02; machine 1.30 of 2 cores" — CPU shares as printed in notes. */
export function cpuLine(shares: Record<string, number>): string {
  const { machine, ...each } = shares;
  const parts = Object.entries(each)
    .map(([n, s]) => `${n} ${s.toFixed(2)}`)
    .join(', ');
  return machine === undefined ? parts : `${parts}; machine ${machine.toFixed(2)} of ${availableParallelism()} cores`;
}
