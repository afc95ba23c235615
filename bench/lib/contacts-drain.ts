import { Queue } from 'bullmq';
import { deadLetterQueueName, QUEUES } from '../../src/queues/names.ts';
import type { BenchContext } from './context.ts';
import { cpuMeter, fillPaused, startWorkerProcesses, waitUntil } from './drain.ts';
import { hubspot, maxInWindow } from './emulators.ts';
import { emailOf } from './enrollments.ts';

/** How one contact drain runs. */
export interface ContactDrainOptions {
  /** Emulator burst limit per 10 s; undefined = lifted (and the workers' budget set far above any rate). */
  limit: number | undefined;
  /** Contacts measured (after the warm-up). */
  n: number;
  processes: number;
  /** Names the run: queue prefix, e-mails and log files. */
  name: string;
}

/** What one contact drain measured. */
export interface ContactDrain {
  n: number;
  /** Contacts written before the clock starts: one full window (limit × 100), so the rolling window's initial burst does not inflate the rate. */
  warm: number;
  /** Contacts per second from the end of the warm-up to the last write. */
  rate: number;
  /** Contacts per second from resume to the last write, warm-up included. */
  rawRate: number;
  seconds: number;
  /** Wall time the CPU shares in `cpu` were measured over (resume until every contact was there). */
  drainSeconds: number;
  calls: number;
  tooMany: number;
  /** Most requests (any path, any status) that reached the emulator in one rolling 10 s window. */
  maxPer10s: number;
  lost: number;
  deadLetters: number;
  completedKept: number;
  completedKeep: number;
  cpu: Record<string, number>;
}

/**
 * Fills `crm-contacts` (paused) with warm-up + N enrollments of distinct students, starts the
 * worker processes against a fresh HubSpot emulator, resumes, and waits until every student is
 * a contact; timings come from the emulator's own write log.
 */
export async function drainContacts(ctx: BenchContext, opts: ContactDrainOptions): Promise<ContactDrain> {
  const prefix = `bench-${opts.name}`;
  const hs = await hubspot(opts.limit);
  const warm = opts.limit ? opts.limit * 100 : 0;
  const total = warm + opts.n;
  const filled = await fillPaused(ctx, prefix, QUEUES.contacts, opts.name, total);
  const env = ctx.env(prefix, hs.env);
  const workers = await startWorkerProcesses(ctx, opts.name, env, opts.processes);
  const contacts = hs.emulator.state.objects.contacts;
  try {
    const cpu = cpuMeter(ctx, workers);
    const t0 = await filled.resume();
    const ceilingSeconds = opts.limit ? total / (opts.limit * 10) : 0;
    await waitUntil(
      () => contacts.size >= total,
      60_000 + ceilingSeconds * 2_000,
      `${total} contacts in the HubSpot emulator`,
    );
    const shares = cpu.stop();
    const drainSeconds = (Date.now() - t0) / 1000;
    const state = hs.emulator.state;
    const firstWrite = new Map<string, number>();
    for (const w of state.writes) if (w.objectType === 'contacts' && !firstWrite.has(w.id)) firstWrite.set(w.id, w.at);
    const times = [...firstWrite.values()].sort((a, b) => a - b);
    const tWarm = warm ? times[warm - 1]! : t0;
    const tLast = times[times.length - 1]!;
    const upserts = state.requestsTo('/contacts/batch/upsert');
    const byEmail = state.contacts;
    let lost = 0;
    for (let i = 0; i < total; i++) if (!byEmail.has(emailOf(opts.name, i))) lost++;
    await Promise.all(workers.map((w) => w.stop()));
    const config = ctx.config(prefix);
    return {
      n: opts.n,
      warm,
      rate: opts.n / ((tLast - tWarm) / 1000),
      rawRate: total / ((tLast - t0) / 1000),
      seconds: (tLast - t0) / 1000,
      drainSeconds,
      calls: upserts.length,
      tooMany: upserts.filter((r) => r.status === 429).length,
      maxPer10s: maxInWindow(state.requests.map((r) => r.at)),
      lost,
      deadLetters: await deadLetterCount(ctx, prefix),
      completedKept: await filled.queue.getCompletedCount(),
      completedKeep: config.jobs.completedKeep,
      cpu: shares,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await filled.close();
    await hs.emulator.close();
  }
}

async function deadLetterCount(ctx: BenchContext, prefix: string): Promise<number> {
  const dlq = new Queue(deadLetterQueueName(QUEUES.contacts), { connection: ctx.redis, prefix });
  const n = await dlq.count();
  await dlq.close();
  return n;
}
