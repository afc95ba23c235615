import { Queue } from 'bullmq';
import { enrollmentKey } from '../../src/events/idempotency-key.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { freePort } from '../../src/redis/local-server.ts';
import { TraceReader } from '../../src/trace/reader.ts';
import { usedMemory, type BenchContext } from '../lib/context.ts';
import { startWorkerProcesses, waitUntil } from '../lib/drain.ts';
import { hubspot, sendgrid } from '../lib/emulators.ts';
import { countFamilies, familyGrowth, familyLine, type Family } from '../lib/families.ts';
import { postEnrollments } from '../lib/load.ts';
import { spawnService, waitHttp } from '../lib/processes.ts';

const S = '5 footprint';

/** What stays in Redis per processed enrollment, at most (issue 18). */
export const RESIDUE_TARGET_BYTES = 1_000;

/**
 * What an enrollment leaves in Redis once it is processed: enrollments posted to a receiver
 * process and drained by a worker process against the emulators (HubSpot unlimited), in two rounds.
 * The first fills what is bounded by count (the completed jobs kept, BullMQ's event logs); the
 * second's growth, per enrollment and by family of records, is the residue — what every further
 * enrollment adds for as long as its records live. Every student is distinct (the worst case: no
 * contact record is shared).
 */
export async function residue(ctx: BenchContext): Promise<void> {
  const [first, second] = ctx.quick ? [3_000, 6_000] : [5_000, 20_000];
  const prefix = 'bench-res';
  const hs = await hubspot(undefined);
  const sg = await sendgrid();
  const env = ctx.env(prefix, { ...hs.env, ...sg.env });
  const port = await freePort();
  const receiver = spawnService('residue-receiver', 'receiver', { env: { ...env, PORT: String(port) }, logDir: ctx.logDir });
  const workers = await startWorkerProcesses(ctx, 'residue', env).catch(async (err) => {
    await receiver.stop();
    throw err;
  });
  const queues = [QUEUES.contacts, QUEUES.email].map((name) => new Queue(name, { connection: ctx.redis, prefix }));
  const reader = new TraceReader(ctx.redis, ctx.config(prefix));
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, receiver);
    const url = `http://127.0.0.1:${port}`;
    /** Posts `n` enrollments of round `tag` and waits until each is a contact, an email and a traced journey. */
    const round = async (tag: string, n: number, total: number) => {
      const posted = await postEnrollments({ url, connections: 50, amount: n, tag });
      if (posted.non2xx || posted.errors) throw new Error(`residue round ${tag}: ${posted.non2xx} non-2xx, ${posted.errors} errors`);
      await waitUntil(() => hs.emulator.state.objects.contacts.size >= total && sg.emulator.outbox.size >= total, 180_000, `${total} contacts and emails`);
      await waitUntil(async () => {
        const counts = await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
        return counts.every((c) => Object.values(c).every((v) => v === 0));
      }, 60_000, 'empty queues');
      // The tracer writes the completed steps from BullMQ's event streams, a little after the jobs.
      const sample = Array.from({ length: 200 }, (_, i) => enrollmentKey(`enroll-${tag}-${i < 100 ? n - 1 - i : Math.floor((i * n) / 200)}`));
      await waitUntil(async () => (await reader.load(sample)).every((t) => t.steps.filter((s) => s.kind === 'completed').length >= 2), 60_000, 'traced journeys');
      return { memory: await usedMemory(ctx.redis), families: await countFamilies(ctx.redis, prefix) };
    };
    const a = await round('resA', first, first);
    const b = await round('resB', second, first + second);
    const perEnrollment = (b.memory - a.memory) / second;
    const growth = familyGrowth(a.families, b.families);
    const sum = (fs: Record<string, Family>) => Object.values(fs).reduce((t, f) => ({ keys: t.keys + f.keys, bytes: t.bytes + f.bytes }), { keys: 0, bytes: 0 });
    const r = ctx.report;
    r.target(S, 'Redis residue per processed enrollment', perEnrollment, 'B', 'max', RESIDUE_TARGET_BYTES);
    r.info(S, 'keys left per processed enrollment', sum(growth).keys / second, 'keys', `all ${first + second}: ${(sum(b.families).keys / (first + second)).toFixed(2)} keys`);
    r.note(S, `residue: ${first} then ${second} enrollments posted and drained (every student distinct); growth over the second round per enrollment by family: ${familyLine(growth, second)}`);
    r.details.residue = { first, second, usedMemory: [a.memory, b.memory], perEnrollment, families: b.families, growth };
  } finally {
    await Promise.all([receiver, ...workers].map((c) => c.stop()));
    await Promise.all(queues.map((q) => q.close()));
    await hs.emulator.close();
    await sg.emulator.close();
  }
}
