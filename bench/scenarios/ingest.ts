import { freePort } from '../../src/redis/local-server.ts';
import { redisTraffic, type BenchContext } from '../lib/context.ts';
import { cpuLine, cpuMeter } from '../lib/drain.ts';
import { postEnrollments, statusCounts } from '../lib/load.ts';
import { spawnService, spawnTs, waitHttp, type Child } from '../lib/processes.ts';

const S = '1 ingest';

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  statuses: Record<string, number>;
  peakRss: number;
  /** CPU use during the measured run, as a share of one core, per process. */
  cpu: Record<string, number>;
  /** Server CPU time per request, µs (robust against other load on the machine). */
  cpuPerRequestUs: number;
  /** Redis commands and bytes received per request. */
  redisCommandsPerRequest: number;
  redisBytesPerRequest: number;
}

/**
 * Scenario 1: signed enrollments posted by autocannon (50 connections) to three servers, each
 * alone in its own process on the same Redis: bare Koa 202, bare Koa + one queue.add, and the
 * real receiver (`course-sync start --role receiver`).
 */
export async function ingest(ctx: BenchContext): Promise<void> {
  const duration = ctx.quick ? 4 : 10;
  const warmup = ctx.quick ? 1 : 2;
  const connections = 50;

  const run = async (name: string, start: (port: number) => Child): Promise<Measured> => {
    const port = await freePort();
    const child = start(port);
    try {
      await waitHttp(`http://127.0.0.1:${port}/healthz`, child);
      const url = `http://127.0.0.1:${port}`;
      await postEnrollments({ url, connections, duration: warmup, tag: `${name}-warm` });
      const cpu = cpuMeter(ctx, [child]);
      const traffic0 = await redisTraffic(ctx.redis);
      const r = await postEnrollments({ url, connections, duration, tag: name });
      const shares = cpu.stop();
      const traffic1 = await redisTraffic(ctx.redis);
      const n = r.requests.total;
      return {
        rps: r.requests.total / r.duration,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.errors + r.timeouts + r.non2xx,
        statuses: statusCounts(r),
        peakRss: child.memory().peak,
        cpu: shares,
        cpuPerRequestUs: (shares[child.name]! * r.duration * 1e6) / n,
        redisCommandsPerRequest: (traffic1.commands - traffic0.commands - 1) / n,
        redisBytesPerRequest: (traffic1.inputBytes - traffic0.inputBytes) / n,
      };
    } finally {
      await child.stop();
    }
  };

  const bare = await run('bare202', (port) =>
    spawnTs('ingest-bare-202', 'bench/servers/bare-koa.ts', ['202'], {
      env: ctx.env('bench-b202', { PORT: String(port) }),
      logDir: ctx.logDir,
    }),
  );
  const add = await run('queueadd', (port) =>
    spawnTs('ingest-queue-add', 'bench/servers/bare-koa.ts', ['queue-add'], {
      env: ctx.env('bench-badd', { PORT: String(port) }),
      logDir: ctx.logDir,
    }),
  );
  const ours = await run('receiver', (port) =>
    spawnService('ingest-receiver', 'receiver', {
      env: ctx.env('bench-ingest', { PORT: String(port) }),
      logDir: ctx.logDir,
      nodeFlags: ctx.profileFlags('ingest-receiver'),
    }),
  );

  // Issue 18's targets, each against the bare queue.add server of the same run.
  const r = ctx.report;
  r.baseline(S, 'server CPU per request', ours.cpuPerRequestUs, 'µs', 'queue.add', add.cpuPerRequestUs, undefined, 2);
  r.baseline(S, 'receiver req/s vs queue.add', ours.rps, 'req/s', 'queue.add', add.rps, 0.5);
  r.baseline(S, 'receiver p99 vs queue.add p99', ours.p99, 'ms', 'queue.add', add.p99, undefined, 2);
  r.baseline(S, 'receiver req/s vs bare 202', ours.rps, 'req/s', 'bare 202', bare.rps);
  r.baseline(S, 'queue.add req/s vs bare 202', add.rps, 'req/s', 'bare 202', bare.rps);
  r.baseline(S, 'receiver p50 latency', ours.p50, 'ms', 'queue.add', add.p50);
  r.info(S, 'bare 202 p50 / p99 latency', bare.p50, 'ms', `p99 ${bare.p99} ms`);
  r.baseline(
    S,
    'Redis commands per request',
    ours.redisCommandsPerRequest,
    '',
    'queue.add',
    add.redisCommandsPerRequest,
  );
  r.baseline(
    S,
    'bytes sent to Redis per request',
    ours.redisBytesPerRequest,
    'B',
    'queue.add',
    add.redisBytesPerRequest,
  );
  r.target(S, 'receiver errors + non-2xx', ours.errors, 'req', 'max', 0);
  r.note(
    S,
    `CPU share of one core while loaded: bare 202 {${cpuLine(bare.cpu)}}; queue.add {${cpuLine(add.cpu)}}; receiver {${cpuLine(ours.cpu)}} (bench = autocannon)`,
  );
  r.details.ingest = { durationSeconds: duration, connections, bare202: bare, queueAdd: add, receiver: ours };
}
