import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { parseEnvelope } from '../../src/events/envelope.ts';
import { idempotencyKey } from '../../src/events/idempotency-key.ts';
import { validateEvent } from '../../src/events/schemas.ts';
import type { EventType, LoopwiseEvent } from '../../src/events/types.ts';
import { createLogger } from '../../src/log.ts';
import { EventIntake } from '../../src/queues/intake.ts';
import { WebhookSignature } from '../../src/receiver/signature.ts';
import { TraceWriter } from '../../src/trace/writer.ts';
import { redisTraffic, type BenchContext } from '../lib/context.ts';
import { BENCH_SECRET, enrollBody, signedHeaders } from '../lib/enrollments.ts';

const S = '8 steps';

/** CPU time of this process in µs. */
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** µs of CPU per call of `step` over `inputs` (after a warm-up pass over the first tenth). */
function perCall<T>(inputs: T[], step: (input: T) => unknown): number {
  for (const input of inputs.slice(0, Math.ceil(inputs.length / 10))) step(input);
  const t0 = cpuNow();
  for (const input of inputs) step(input);
  return (cpuNow() - t0) / inputs.length;
}

/**
 * Scenario 8: where a webhook's time goes, step by step, measured in this process (one step at a
 * time, over thousands of distinct signed enrollments): signature, JSON, schema, key, the intake
 * (dedupe, both jobs, trace; 50 webhooks per event-loop turn as under load) with its Redis
 * commands and bytes, and the request's log line. What the ingest scenario's per-request CPU has
 * beyond their sum is HTTP, Koa and the garbage collector.
 */
export async function steps(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 3_000 : 10_000;
  const prefix = 'bench-steps';
  const bodies = Array.from({ length: n }, (_, i) => Buffer.from(enrollBody('steps', i)));
  const headers = bodies.map((b) => signedHeaders(b.toString()));
  const signature = new WebhookSignature([BENCH_SECRET]);
  const r = ctx.report;

  const verifyUs = perCall(
    bodies.map((b, i) => ({ b, h: headers[i]! })),
    ({ b, h }) => signature.verify(b, h),
  );
  const envelopes = bodies.map((b) => parseEnvelope(b));
  const parseUs = perCall(bodies, (b) => parseEnvelope(b));
  const validateUs = perCall(envelopes, (e) => validateEvent(e.type as EventType, e.data));
  const events = envelopes.map((e) => validateEvent(e.type as EventType, e.data));
  const keyUs = perCall(events, (e) => idempotencyKey(e));
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const log = createLogger('info', sink);
  const logUs = perCall(events, (e) =>
    log.info(
      {
        method: 'POST',
        path: '/webhooks/loopwise',
        status: 202,
        ms: 3,
        correlationId: 'c0ffee00-0000-4000-8000-000000000000',
        eventType: e.type,
        key: idempotencyKey(e),
        outcome: 'accepted',
      },
      'request',
    ),
  );

  const redis = new Redis(ctx.redisUrl);
  const config = ctx.config(prefix);
  const intake = new EventIntake(redis, config, new TraceWriter(redis, config));
  const accept = (batch: LoopwiseEvent[]) =>
    Promise.all(batch.map((e, i) => intake.accept(e, idempotencyKey(e), `bench-${i}`)));
  const turn = 50;
  const warm = events.slice(0, turn * 4);
  for (let i = 0; i < warm.length; i += turn) await accept(warm.slice(i, i + turn));
  await redis.flushall();
  const traffic0 = await redisTraffic(ctx.redis);
  const t0 = cpuNow();
  for (let i = 0; i < n; i += turn) await accept(events.slice(i, i + turn));
  const intakeUs = (cpuNow() - t0) / n;
  const traffic1 = await redisTraffic(ctx.redis);
  await redis.quit();
  const commands = (traffic1.commands - traffic0.commands - 1) / n;
  const bytes = (traffic1.inputBytes - traffic0.inputBytes) / n;

  r.info(S, 'signature (HMAC-SHA256 of the body)', verifyUs, 'µs');
  r.info(S, 'JSON parse of the envelope', parseUs, 'µs');
  r.info(S, 'schema (yup)', validateUs, 'µs');
  r.info(S, 'idempotency key', keyUs, 'µs');
  r.info(
    S,
    'intake at 50 per turn (Node side)',
    intakeUs,
    'µs',
    `${commands.toFixed(1)} Redis commands, ${Math.round(bytes)} B sent`,
  );
  r.info(S, 'request log line', logUs, 'µs');
  r.info(
    S,
    'sum of the steps',
    verifyUs + parseUs + validateUs + keyUs + intakeUs + logUs,
    'µs',
    'the rest of the ingest CPU per request: HTTP, Koa, GC',
  );
  r.details.steps = {
    n,
    turn,
    verifyUs,
    parseUs,
    validateUs,
    keyUs,
    intakeUs,
    logUs,
    redisCommandsPerEvent: commands,
    redisBytesPerEvent: bytes,
  };
}
