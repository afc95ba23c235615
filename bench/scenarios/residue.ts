import { Queue } from 'bullmq';
import { enrollmentKey } from '../../src/events/idempotency-key.ts';
import { QUEUES } from '../../src/queues/names.ts';
import { generateEventKeyPair } from '../../src/sendgrid-signature.ts';
import { freePort } from '../../src/redis/local-server.ts';
import { TraceReader } from '../../src/trace/reader.ts';
import { usedMemory, type BenchContext } from '../lib/context.ts';
import { startWorkerProcesses, waitUntil } from '../lib/drain.ts';
import { hubspot, sendgrid } from '../lib/emulators.ts';
import { lastingRecordsGrown, queueBounds } from '../lib/bounds.ts';
import { countFamilies, familyGrowth, familyLine, familyTotal } from '../lib/families.ts';
import { capacityLine, heldLines, heldPerEnrollment, unregistered } from '../lib/held.ts';
import { postEnrollments } from '../lib/load.ts';
import { spawnService, waitHttp } from '../lib/processes.ts';

const S = '5 footprint';

/** What stays in Redis per processed enrollment, at most (issue 18). */
const RESIDUE_TARGET_BYTES = 1_000;
/** What a steady flow holds per daily enrollment, at most (issue 24), and the moonshot. */
const HELD_TARGET_MIB = 0.05;
const HELD_MOONSHOT_MIB = 0.03;

/**
 * What an enrollment leaves in Redis once it is processed: enrollments posted to a receiver
 * process and drained by a worker process against the emulators (HubSpot unlimited), SendGrid's
 * emulator posting each email's events (processed, delivered) to the receiver's Event Webhook, in
 * two rounds. The first fills what is bounded by count (the completed jobs kept, BullMQ's event
 * logs); the second's growth, per enrollment and by family of records, is the residue — what every
 * further enrollment adds — and each key's size times the days it has left to live, summed, is what
 * a steady flow holds per daily enrollment. Every student is distinct (the worst case: no contact
 * record is shared).
 */
export async function residue(ctx: BenchContext): Promise<void> {
  const [first, second] = ctx.quick ? [3_000, 6_000] : [5_000, 20_000];
  const prefix = 'bench-res';
  const hs = await hubspot(undefined);
  const sg = await sendgrid();
  const keys = generateEventKeyPair();
  // Finished traces packed a second after their last job (the default waits 120 s), so a round need not wait.
  const env = ctx.env(prefix, {
    ...hs.env,
    ...sg.env,
    TRACE_COMPACT_AFTER_SECONDS: '1',
    SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
  });
  const config = ctx.config(prefix, env);
  const port = await freePort();
  const receiver = spawnService('residue-receiver', 'receiver', {
    env: { ...env, PORT: String(port) },
    logDir: ctx.logDir,
  });
  const workers = await startWorkerProcesses(ctx, 'residue', env).catch(async (err) => {
    await receiver.stop();
    throw err;
  });
  const queues = [QUEUES.contacts, QUEUES.email, QUEUES.emailEvents].map(
    (name) => new Queue(name, { connection: ctx.redis, prefix }),
  );
  const reader = new TraceReader(ctx.redis, config);
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, receiver);
    const url = `http://127.0.0.1:${port}`;
    sg.emulator.setEventWebhook({
      url: `${url}/webhooks/sendgrid`,
      privateKey: keys.privateKey,
      deliverAfterMs: 200,
      flushMs: 250,
    });
    const takenEvents = () =>
      (sg.emulator.events?.posted ?? [])
        .filter((b) => b.status >= 200 && b.status < 300)
        .reduce((n, b) => n + b.events.length, 0);
    /** Posts `n` enrollments of round `tag` and waits until each is a contact, an email with its events taken in, and a packed journey. */
    const round = async (tag: string, n: number, total: number) => {
      const posted = await postEnrollments({ url, connections: 50, amount: n, tag });
      if (posted.non2xx || posted.errors)
        throw new Error(`residue round ${tag}: ${posted.non2xx} non-2xx, ${posted.errors} errors`);
      await waitUntil(
        () => hs.emulator.state.objects.contacts.size >= total && sg.emulator.outbox.size >= total,
        600_000,
        `${total} contacts and emails`,
      );
      await waitUntil(() => takenEvents() >= 2 * total, 300_000, `${2 * total} SendGrid events taken in`);
      await waitUntil(
        async () => {
          const counts = await Promise.all(
            queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')),
          );
          return counts.every((c) => Object.values(c).every((v) => v === 0));
        },
        300_000,
        'empty queues',
      );
      // The tracer writes the steps from BullMQ's event streams a little after the jobs; the delivery events come later still.
      const sample = Array.from({ length: 200 }, (_, i) =>
        enrollmentKey(`enroll-${tag}-${i < 100 ? n - 1 - i : Math.floor((i * n) / 200)}`),
      );
      await waitUntil(
        async () =>
          (await reader.load(sample)).every(
            (t) =>
              t.steps.filter((s) => s.kind === 'completed').length >= 2 && t.steps.some((s) => s.event === 'delivered'),
          ),
        180_000,
        'traced journeys with their delivery',
      );
      // Packed: no header or step left beside the packed field (a later step is packed in again 1 s after it).
      const unpacked = async () =>
        (
          await Promise.all(sample.map(async (key) => [key, await ctx.redis.hkeys(reader.keys.trace(key))] as const))
        ).find(([, fields]) => fields.some((f) => f === 'h' || f.startsWith('s:')));
      await waitUntil(async () => !(await unpacked()), 180_000, 'packed traces').catch(async (err) => {
        const left = await unpacked();
        throw new Error(`${(err as Error).message}${left ? `: ${left[0]} holds ${left[1].join(' ')}` : ''}`);
      });
      return { memory: await usedMemory(ctx.redis), families: await countFamilies(ctx.redis, prefix) };
    };
    const a = await round('resA', first, first);
    const b = await round('resB', second, first + second);
    const perEnrollment = (b.memory - a.memory) / second;
    const growth = familyGrowth(a.families, b.families);
    const held = heldPerEnrollment(growth, second, b.memory - a.memory, config);
    const lasting = familyTotal(b.families);
    const missing = unregistered(b.families);
    const bounds = await queueBounds(ctx.redis, prefix, config);
    const lastingGrown = lastingRecordsGrown(growth);
    const r = ctx.report;
    r.target(S, 'Redis residue per processed enrollment', perEnrollment, 'B', 'max', RESIDUE_TARGET_BYTES);
    r.info(
      S,
      'keys left per processed enrollment',
      familyTotal(growth).keys / second,
      'keys',
      `all ${first + second}: ${(lasting.keys / (first + second)).toFixed(2)} keys`,
    );
    r.target(
      S,
      'Redis held per daily enrollment (MEMORY USAGE × TTL)',
      held.byteDays / 2 ** 20,
      'MiB',
      'max',
      HELD_TARGET_MIB,
    );
    r.info(
      S,
      "same with Redis' per-key bookkeeping",
      held.byteDaysWithKeys / 2 ** 20,
      'MiB',
      `moonshot ≤ ${HELD_MOONSHOT_MIB} MiB`,
      held.byteDays / 2 ** 20 / HELD_MOONSHOT_MIB,
    );
    r.target(S, 'course-sync keys without a TTL added (2nd round)', lastingGrown.keys, 'keys', 'max', 0);
    r.target(S, 'jobs kept beyond their count bounds', bounds.beyond, 'jobs', 'max', 0);
    r.note(
      S,
      `residue: ${first} then ${second} enrollments posted and drained (every student distinct), SendGrid's emulator posting processed and delivered for each email to the receiver's Event Webhook, finished traces packed 1 s after their last step (TRACE_COMPACT_AFTER_SECONDS, 120 s by default); growth over the second round per enrollment by family: ${familyLine(growth, second)}`,
    );
    r.note(
      S,
      `Redis held per daily enrollment: ${(held.byteDays / 2 ** 20).toFixed(4)} MiB (each key's MEMORY USAGE × the days it has left to live, summed over the second round's growth), ${(held.byteDaysWithKeys / 2 ** 20).toFixed(4)} MiB with Redis' per-key bookkeeping (${Math.round(held.perKey)} B a key beyond MEMORY USAGE, from used_memory); by family, per enrollment:\n  ${heldLines(held).join('\n  ')}`,
    );
    r.note(
      S,
      `steady flow: ${capacityLine(held)}; keys without a TTL: ${lasting.lastingKeys} holding ${(lasting.lastingBytes / 2 ** 20).toFixed(1)} MiB after ${first + second} enrollments, ${held.lastingBytes.toFixed(0)} B per enrollment more over the second round (BullMQ's, bounded by count: ${bounds.detail})${lastingGrown.keys ? `; course-sync keys without a TTL added: ${lastingGrown.families.join(', ')}` : ''}${missing.length ? `; NOT REGISTERED in src/redis/records.ts: ${missing.join(', ')}` : ''}`,
    );
    r.details.residue = {
      first,
      second,
      usedMemory: [a.memory, b.memory],
      perEnrollment,
      families: b.families,
      growth,
      held,
    };
  } finally {
    await Promise.all([receiver, ...workers].map((c) => c.stop()));
    await Promise.all(queues.map((q) => q.close()));
    await hs.emulator.close();
    await sg.emulator.close();
  }
}
