/**
 * Baseline servers for the ingest benchmark, each run alone in its own process:
 *   `202`        a bare Koa handler answering 202 (the HTTP ceiling of this machine);
 *   `queue-add`  a bare Koa handler that reads the body and does one BullMQ queue.add
 *                (the least any durable intake on BullMQ has to do).
 * Usage: node --import tsx bench/servers/bare-koa.ts <202|queue-add>; env PORT, REDIS_URL, QUEUE_PREFIX.
 */
import { Queue } from 'bullmq';
import Koa from 'koa';
import { connectRedis } from '../../src/redis/connection.ts';
import { readRawBody } from '../../src/raw-body.ts';

const mode = process.argv[2];
const port = Number(process.env.PORT);
const app = new Koa();

if (mode === '202') {
  app.use((ctx) => {
    ctx.status = 202;
    ctx.body = { accepted: true };
  });
} else if (mode === 'queue-add') {
  const connection = connectRedis(process.env.REDIS_URL!, 'producer');
  const queue = new Queue('baseline', { connection, prefix: process.env.QUEUE_PREFIX ?? 'bench-baseline' });
  app.use(async (ctx) => {
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    const body = await readRawBody(ctx.req, 1024 * 1024);
    const job = await queue.add('enroll', JSON.parse(body.toString('utf8')), { removeOnComplete: { count: 1000 } });
    ctx.status = 202;
    ctx.body = { accepted: true, id: job.id };
  });
} else {
  console.error('usage: bare-koa.ts <202|queue-add>');
  process.exit(2);
}

const server = app.listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
