import { randomBytes } from 'node:crypto';
import { QUEUES } from '../../src/queues/names.ts';
import { freePort } from '../../src/redis/local-server.ts';
import { generateEventKeyPair, signedEventHeaders } from '../../src/sendgrid-signature.ts';
import type { BenchContext } from '../lib/context.ts';
import { cpuLine, cpuMeter, startWorkerProcesses, waitUntil } from '../lib/drain.ts';
import { hubspot } from '../lib/emulators.ts';
import { spawnService, waitHttp } from '../lib/processes.ts';

const S = '7 events';
const BATCH = 500;
const STATUS_PROPERTY = 'loopwise_welcome_email_status';

/** A batch of SendGrid events as SendGrid posts them: five per enrollment (processed, deferred, delivered, open, click), shuffled. */
function batch(first: number, perBatch: number): string {
  const events: Record<string, unknown>[] = [];
  for (let i = first; i < first + perBatch / 5; i++) {
    const id = `bench_ev_${i}`;
    for (const event of ['processed', 'deferred', 'delivered', 'open', 'click']) {
      events.push({
        email: `${id}@example.com`,
        timestamp: Math.floor(Date.now() / 1000),
        event,
        sg_event_id: randomBytes(16).toString('base64url'),
        sg_message_id: `msg${i}.filter0001.0`,
        enrollment_id: id,
        course_id: 'course_789012',
      });
    }
  }
  events.sort(() => Math.random() - 0.5);
  return JSON.stringify(events) + '\r\n';
}

/**
 * Scenario 7: SendGrid's Event Webhook. Signed batches of 500 events posted to a receiver (4 at a
 * time): events/s taken in, signature checked (target ≥ 5,000/s). Then a worker process applies
 * them and writes the statuses to the HubSpot emulator: HubSpot requests per 1,000 status changes.
 */
export async function events(ctx: BenchContext): Promise<void> {
  const enrollments = ctx.quick ? 2_000 : 6_000;
  const batches = (enrollments * 5) / BATCH;
  const prefix = 'bench-events';
  const keys = generateEventKeyPair();
  const hs = await hubspot(undefined, 190);
  const env = ctx.env(prefix, { ...hs.env, SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey });
  const port = await freePort();
  const receiver = spawnService('events-receiver', 'receiver', {
    env: { ...env, PORT: String(port) },
    logDir: ctx.logDir,
    nodeFlags: ctx.profileFlags('events-receiver'),
  });
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, receiver);
    const bodies = Array.from({ length: batches }, (_, b) => batch(b * (BATCH / 5), BATCH));
    const post = async (body: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/sendgrid`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signedEventHeaders(keys.privateKey, body) },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    };
    await post(batch(10_000_000, BATCH)); // warm-up
    const cpu = cpuMeter(ctx, [receiver]);
    const t0 = performance.now();
    const statuses: number[] = [];
    for (let i = 0; i < bodies.length; i += 4) statuses.push(...(await Promise.all(bodies.slice(i, i + 4).map(post))));
    const seconds = (performance.now() - t0) / 1000;
    const shares = cpu.stop();
    const failed = statuses.filter((s) => s !== 200).length;

    const requestsBefore = hs.emulator.state.requestsTo('/contacts/batch/upsert').length;
    const workers = await startWorkerProcesses(ctx, 'events', env);
    try {
      const written = () =>
        [...hs.emulator.state.objects.contacts.values()].filter((c) => c.properties[STATUS_PROPERTY] === 'delivered')
          .length;
      await waitUntil(
        () => written() >= enrollments,
        ctx.quick ? 120_000 : 240_000,
        `${enrollments} contacts with the status delivered`,
      );
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    const statusRequests = hs.emulator.state
      .requestsTo('/contacts/batch/upsert')
      .slice(requestsBefore)
      .filter((r) =>
        (r.body as { inputs: { properties: Record<string, string> }[] }).inputs.some(
          (i) => STATUS_PROPERTY in i.properties,
        ),
      ).length;
    const left = await ctx.redis.llen(`${prefix}:${QUEUES.emailEvents}:wait`);

    const r = ctx.report;
    r.target(S, `events/s taken in (batches of ${BATCH}, signed)`, (batches * BATCH) / seconds, '/s', 'min', 5_000);
    r.target(S, 'batches not answered 200', failed, '', 'max', 0);
    r.target(S, 'HubSpot requests per 1,000 status changes', (statusRequests * 1000) / enrollments, 'req', 'max', 12);
    r.note(
      S,
      `${batches} batches of ${BATCH} events for ${enrollments} enrollments in ${seconds.toFixed(1)} s; receiver CPU (share of one core): ${cpuLine(shares)}; ${statusRequests} status upserts; ${left} batches left waiting`,
    );
    r.details.events = { enrollments, batches, seconds, statusRequests, failed, cpu: shares };
  } finally {
    await receiver.stop();
    await hs.emulator.close();
  }
}
