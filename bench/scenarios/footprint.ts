import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES } from '../../src/queues/names.ts';
import { freePort } from '../../src/redis/local-server.ts';
import { usedMemory, type BenchContext } from '../lib/context.ts';
import { cpuLine, cpuMeter } from '../lib/drain.ts';
import { countFamilies, familyLine } from '../lib/families.ts';
import { enrollBody } from '../lib/enrollments.ts';
import { postEnrollments, statusCounts } from '../lib/load.ts';
import { fmt } from '../lib/report.ts';
import { spawnService, waitHttp } from '../lib/processes.ts';
import { residue } from './residue.ts';

const S = '5 footprint';

/**
 * Scenario 5: 100,000 signed enrollments posted to the receiver and left queued (no workers):
 * Redis memory per queued event against one bare queue.add job of the same body, and the
 * receiver's peak RSS against its idle RSS. Then what stays behind once enrollments are processed
 * (see residue.ts).
 */
export async function footprint(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 20_000 : 100_000;
  const prefix = 'bench-fp';

  // Baseline: the same bodies as single BullMQ jobs (what a bare queue.add keeps per event).
  const baseN = ctx.quick ? 5_000 : 20_000;
  const conn = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('baseline', { connection: conn, prefix: 'bench-fp-base' });
  const base0 = await usedMemory(ctx.redis);
  for (let i = 0; i < baseN; i += 1000) {
    const bodies = Array.from({ length: Math.min(1000, baseN - i) }, (_, k) => JSON.parse(enrollBody('fpbase', i + k)));
    await queue.addBulk(bodies.map((data) => ({ name: 'enroll', data })));
  }
  const basePerEvent = ((await usedMemory(ctx.redis)) - base0) / baseN;
  await queue.close();
  await conn.quit();

  const port = await freePort();
  const child = spawnService('footprint-receiver', 'receiver', {
    env: ctx.env(prefix, { PORT: String(port) }),
    logDir: ctx.logDir,
    nodeFlags: ctx.profileFlags('footprint-receiver'),
  });
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, child);
    const idle = child.memory().rss;
    const mem0 = await usedMemory(ctx.redis);
    // RSS sampled through the load: a leak shows as the second half peaking above the first.
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(child.memory().rss), 250);
    const cpu = cpuMeter(ctx, [child]);
    const result = await postEnrollments({ url: `http://127.0.0.1:${port}`, connections: 50, amount: n, tag: 'fp' });
    clearInterval(sampler);
    const shares = cpu.stop();
    const peak = child.memory().peak;
    const half = Math.floor(samples.length / 2);
    const firstHalf = Math.max(...samples.slice(0, half));
    const secondHalf = Math.max(...samples.slice(half));
    const statuses = statusCounts(result);
    const accepted = statuses['202'] ?? 0;
    const perEvent = ((await usedMemory(ctx.redis)) - mem0) / accepted;
    const families = await countFamilies(ctx.redis, prefix);
    const waiting = await Promise.all(
      [QUEUES.contacts, QUEUES.email].map(async (name) => {
        const q = new Queue(name, { connection: ctx.redis, prefix });
        const c = await q.getWaitingCount();
        await q.close();
        return c;
      }),
    );

    const r = ctx.report;
    r.target(S, 'events queued (202) of posted', accepted, 'events', 'min', n);
    r.info(S, 'jobs waiting contacts / email', waiting[0]!, 'jobs', `email ${fmt(waiting[1]!)} jobs`);
    r.baseline(S, 'Redis memory per queued event', perEvent, 'B', 'one queue.add job', basePerEvent, undefined, 2);
    r.info(S, 'queued events per GiB of Redis', 2 ** 30 / perEvent, 'events');
    r.baseline(S, `receiver peak RSS at ${n / 1000}k queued`, peak / 2 ** 20, 'MiB', 'idle receiver', idle / 2 ** 20);
    r.baseline(S, 'receiver RSS peak, 2nd half of load', secondHalf / 2 ** 20, 'MiB', '1st half', firstHalf / 2 ** 20);
    r.note(
      S,
      `posted ${n} at ${Math.round(result.requests.total / result.duration)} req/s; CPU share of one core: ${cpuLine(shares)}`,
    );
    r.note(
      S,
      `queued, per enrollment by family (MEMORY USAGE, without Redis' per-key bookkeeping): ${familyLine(families, accepted)}`,
    );
    r.details.footprint = {
      families,
      posted: n,
      statuses,
      redisBytesPerEvent: perEvent,
      baselineBytesPerJob: basePerEvent,
      idleRss: idle,
      peakRss: peak,
      rssSamples: samples,
      waiting,
      postRate: result.requests.total / result.duration,
    };
  } finally {
    await child.stop();
  }
  await residue(ctx);
}
