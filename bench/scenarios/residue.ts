import { Queue } from 'bullmq';
import { enrollmentKey } from '../../src/events/idempotency-key.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { freePort } from '../../src/redis/local-server.ts';
import { TraceReader } from '../../src/trace/reader.ts';
import { usedMemory, type BenchContext } from '../lib/context.ts';
import { startWorkerProcesses, waitUntil } from '../lib/drain.ts';
import { hubspot, sendgrid } from '../lib/emulators.ts';
import { countFamilies, familyGrowth, familyLifetimeDays, familyLine, type Family } from '../lib/families.ts';
import { postEnrollments } from '../lib/load.ts';
import { spawnService, waitHttp } from '../lib/processes.ts';

const S = '5 footprint';

/** What stays in Redis per processed enrollment, at most (issue 18). */
const RESIDUE_TARGET_BYTES = 1_000;

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
  // Finished traces packed a second after their last job (the default waits 120 s), so a round need not wait.
  const env = ctx.env(prefix, { ...hs.env, ...sg.env, TRACE_COMPACT_AFTER_SECONDS: '1' });
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
      await waitUntil(async () => (await Promise.all(sample.map((key) => ctx.redis.hlen(reader.keys.trace(key))))).every((n) => n === 1), 60_000, 'packed traces');
      return { memory: await usedMemory(ctx.redis), families: await countFamilies(ctx.redis, prefix) };
    };
    const a = await round('resA', first, first);
    const b = await round('resB', second, first + second);
    const perEnrollment = (b.memory - a.memory) / second;
    const growth = familyGrowth(a.families, b.families);
    const sum = (fs: Record<string, Family>) => Object.values(fs).reduce((t, f) => ({ keys: t.keys + f.keys, bytes: t.bytes + f.bytes }), { keys: 0, bytes: 0 });
    // MEMORY USAGE leaves out Redis' own bookkeeping of each key (its entries in the key and expiry
    // tables): spread what used_memory grew by beyond it over the new keys.
    const total = sum(growth);
    const perKey = total.keys > 0 ? (b.memory - a.memory - total.bytes) / total.keys : 0;
    const lifetimes = familyLifetimeDays(ctx.config(prefix));
    const held = Object.entries(growth)
      .filter(([name]) => lifetimes[name] !== undefined)
      .map(([name, f]) => ({ name, bytes: (f.bytes + f.keys * perKey) / second, days: lifetimes[name]! }));
    // Steady state: each day's enrollments leave their records for their lifetimes.
    const perDailyEnrollment = held.reduce((t, f) => t + f.bytes * f.days, 0);
    const bounded = Object.entries(b.families).filter(([name]) => lifetimes[name] === undefined).reduce((t, [, f]) => t + f.bytes, 0);
    const r = ctx.report;
    r.target(S, 'Redis residue per processed enrollment', perEnrollment, 'B', 'max', RESIDUE_TARGET_BYTES);
    r.info(S, 'keys left per processed enrollment', total.keys / second, 'keys', `all ${first + second}: ${(sum(b.families).keys / (first + second)).toFixed(2)} keys`);
    r.info(S, 'Redis held per enrollment a day (records to their TTL)', perDailyEnrollment / 2 ** 20, 'MiB', `10,000 a day: ${((perDailyEnrollment * 10_000) / 2 ** 30).toFixed(1)} GiB`);
    r.note(S, `residue: ${first} then ${second} enrollments posted and drained (every student distinct), finished traces packed 1 s after their last job (TRACE_COMPACT_AFTER_SECONDS, 120 s by default); growth over the second round per enrollment by family: ${familyLine(growth, second)}`);
    r.note(S, `residue with Redis' per-key bookkeeping (${Math.round(perKey)} B a key) and how long each family lives: ${held.map((f) => `${f.name} ${Math.round(f.bytes)} B × ${f.days} d`).join(', ')}; bounded by count (completed jobs kept, event logs, queue structures): ${(bounded / 2 ** 20).toFixed(1)} MiB`);
    r.details.residue = { first, second, usedMemory: [a.memory, b.memory], perEnrollment, families: b.families, growth, perKey, held, perDailyEnrollment, bounded };
  } finally {
    await Promise.all([receiver, ...workers].map((c) => c.stop()));
    await Promise.all(queues.map((q) => q.close()));
    await hs.emulator.close();
    await sg.emulator.close();
  }
}
