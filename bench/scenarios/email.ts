import { QUEUES } from '../../src/queues/names.ts';
import type { BenchContext } from '../lib/context.ts';
import { cpuLine, cpuMeter, fillPaused, startWorkerProcesses, waitUntil } from '../lib/drain.ts';
import { sendgrid } from '../lib/emulators.ts';

const S = '3 email';

/**
 * Scenario 3: N enrollments queued on `email-welcome`, drained by one worker process into the
 * SendGrid emulator: emails/s (target ≥ 500/s), every enrollment exactly one email.
 */
export async function email(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 5_000 : 10_000;
  const prefix = 'bench-email';
  const sg = await sendgrid();
  const env = ctx.env(prefix, sg.env);
  const filled = await fillPaused(ctx, prefix, QUEUES.email, 'em', n);
  const workers = await startWorkerProcesses(ctx, 'email', env);
  try {
    const cpu = cpuMeter(ctx, workers);
    const t0 = await filled.resume();
    await waitUntil(
      () => sg.emulator.outbox.size >= n,
      ctx.quick ? 60_000 : 120_000,
      `${n} emails in the SendGrid outbox`,
    );
    const shares = cpu.stop();
    const emails = sg.emulator.outbox.all();
    const last = Math.max(...emails.map((e) => Date.parse(e.acceptedAt)));
    const seconds = (last - t0) / 1000;
    // Give late duplicates a moment to show up before counting.
    await new Promise((ok) => setTimeout(ok, 500));
    const perEnrollment = new Map<string, number>();
    for (const e of sg.emulator.outbox.all())
      perEnrollment.set(e.customArgs.enrollment_id!, (perEnrollment.get(e.customArgs.enrollment_id!) ?? 0) + 1);
    const duplicates = [...perEnrollment.values()].reduce((sum, c) => sum + (c - 1), 0);
    const missing = n - perEnrollment.size;
    await Promise.all(workers.map((w) => w.stop()));
    const completed = await filled.queue.getCompletedCount();
    const keep = ctx.config(prefix).jobs.completedKeep;

    const r = ctx.report;
    r.target(S, `emails/s (${n / 1000}k queued, 1 worker)`, n / seconds, '/s', 'min', 500);
    r.target(S, 'duplicate emails', duplicates, '', 'max', 0);
    r.target(S, 'enrollments without email', missing, '', 'max', 0);
    r.target(S, `completed jobs kept after ${n / 1000}k`, completed, 'jobs', 'max', keep);
    r.note(S, `CPU (share of one core) during the drain: ${cpuLine(shares)}`);
    r.details.email = {
      n,
      seconds,
      requests: sg.emulator.requests.length,
      duplicates,
      missing,
      completed,
      cpu: shares,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await filled.close();
    await sg.emulator.close();
  }
}
