import { freePort } from '../../src/redis/local-server.ts';
import type { BenchContext } from '../lib/context.ts';
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
      const r = await postEnrollments({ url, connections, duration, tag: name });
      return {
        rps: r.requests.total / r.duration,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.errors + r.timeouts + r.non2xx,
        statuses: statusCounts(r),
        peakRss: child.memory().peak,
      };
    } finally {
      await child.stop();
    }
  };

  const bare = await run('bare202', (port) => spawnTs('ingest-bare-202', 'bench/servers/bare-koa.ts', ['202'], { env: ctx.env('bench-b202', { PORT: String(port) }), logDir: ctx.logDir }));
  const add = await run('queueadd', (port) => spawnTs('ingest-queue-add', 'bench/servers/bare-koa.ts', ['queue-add'], { env: ctx.env('bench-badd', { PORT: String(port) }), logDir: ctx.logDir }));
  const ours = await run('receiver', (port) =>
    spawnService('ingest-receiver', 'receiver', {
      env: ctx.env('bench-ingest', { PORT: String(port) }),
      logDir: ctx.logDir,
      nodeFlags: ctx.profileFlags('ingest-receiver'),
    }),
  );

  const r = ctx.report;
  r.baseline(S, 'receiver req/s vs queue.add', ours.rps, 'req/s', 'queue.add', add.rps, 0.8);
  r.baseline(S, 'receiver req/s vs bare 202', ours.rps, 'req/s', 'bare 202', bare.rps);
  r.baseline(S, 'queue.add req/s vs bare 202', add.rps, 'req/s', 'bare 202', bare.rps);
  r.target(S, 'receiver p99 latency', ours.p99, 'ms', 'max', 25);
  r.baseline(S, 'receiver p50 latency', ours.p50, 'ms', 'queue.add', add.p50);
  r.baseline(S, 'receiver p99 vs queue.add p99', ours.p99, 'ms', 'queue.add', add.p99);
  r.info(S, 'bare 202 p50 / p99 latency', bare.p50, 'ms', `p99 ${bare.p99} ms`);
  r.target(S, 'receiver errors + non-2xx', ours.errors, 'req', 'max', 0);
  r.details.ingest = { durationSeconds: duration, connections, bare202: bare, queueAdd: add, receiver: ours };
}
