/**
 * `npm run soak -- --minutes N [--rate R] [--course-rate C] [--hubspot-limit L] [--keep K] [--warmup M]`
 * (not in CI): a receiver and a worker, each its own process, under a steady flow for N minutes —
 * R enrollments a second (default 10), C course updates a second (default 1) and the SendGrid
 * events the emulator posts for every welcome email — with 1 % of HubSpot's answers a 503 and
 * HubSpot's burst limit enforced at L requests per 10 s (default 100, the Starter tier; the
 * service's budget HUBSPOT_REQUESTS_PER_10S set to it: at 10 enrollments and 1 course update a
 * second the flow asks about 70; a lower L makes the budget pace it, and past about 60 the queues
 * grow). COMPLETED_JOBS_KEEP is K
 * (default 100), so the completed jobs kept, bounded by count, reach their bound within the
 * warm-up even on the queues of one job a second. Every 10 s it samples each
 * process's RSS, heap and event-loop delay, Redis' used_memory and the work queues' depth; at the
 * end it prints them as a table, each figure's slope after the warm-up (default the first third,
 * at least a minute) and writes an SVG chart and the samples as JSON under bench/results/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { WORK_QUEUES } from '../src/queues/names.ts';
import { generateEventKeyPair } from '../src/sendgrid-signature.ts';
import { startSendGridEmulator, type SendGridEmulator } from '../src/emulators/sendgrid/index.ts';
import { openContext, usedMemory } from './lib/context.ts';
import { hubspot } from './lib/emulators.ts';
import { enrollBody, signedHeaders } from './lib/enrollments.ts';
import { load1, machine } from './lib/machine.ts';
import { Report } from './lib/report.ts';
import { chart, redisPerEnrollment, slopeLines, slopes, table, type SoakSample } from './lib/soak-figures.ts';
import type { ServiceSample } from './soak-service.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const SAMPLE_MS = 10_000;

function option(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

/** A service process of the soak, with the IPC that samples it. */
function startChild(
  name: string,
  role: 'receiver' | 'worker',
  env: Record<string, string>,
): { proc: ChildProcess; up: Promise<number | undefined>; sample(): Promise<ServiceSample> } {
  const fd = openSync(join(RESULTS, 'logs', `soak-${name}.log`), 'w');
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'soak-service.ts'), role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  const up = new Promise<number | undefined>((ok, fail) => {
    proc.on('message', (m: { kind: string; port?: number }) => m.kind === 'up' && ok(m.port));
    proc.once('exit', (code) =>
      fail(new Error(`soak: the ${name} exited (${code}) before it was up: see bench/results/logs/soak-${name}.log`)),
    );
  });
  const sample = () =>
    new Promise<ServiceSample>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`soak: the ${name} did not answer a sample within 5 s`)), 5_000);
      const on = (m: { kind: string; sample?: ServiceSample }) => {
        if (m.kind !== 'sample') return;
        clearTimeout(timer);
        proc.off('message', on);
        ok(m.sample!);
      };
      proc.on('message', on);
      proc.send({ kind: 'sample' });
    });
  return { proc, up, sample };
}

async function main(argv: string[]): Promise<void> {
  const minutes = option(argv, 'minutes', 30);
  const rate = option(argv, 'rate', 10);
  const courseRate = option(argv, 'course-rate', 1);
  const hubspotLimit = option(argv, 'hubspot-limit', 100);
  const keep = option(argv, 'keep', 100);
  const warmupSeconds = option(argv, 'warmup', Math.max(1, minutes / 3)) * 60;
  mkdirSync(join(RESULTS, 'logs'), { recursive: true });
  const ctx = await openContext({
    quick: false,
    profile: false,
    report: new Report(),
    logDir: join(RESULTS, 'logs'),
    profileDir: join(RESULTS, 'profiles'),
  });
  const hs = await hubspot(hubspotLimit);
  let faults = 0;
  await hs.emulator.injectFaults({ status: 503, count: Infinity, match: () => Math.random() < 0.01 && ++faults > 0 });
  const keys = generateEventKeyPair();
  const prefix = 'soak';
  const env = (extra: Record<string, string> = {}) =>
    ctx.env(prefix, {
      ...hs.env,
      SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey,
      LOG_LEVEL: 'warn',
      COMPLETED_JOBS_KEEP: String(keep),
      ...extra,
    });
  const receiver = startChild('receiver', 'receiver', env());
  const port = await receiver.up;
  const base = `http://127.0.0.1:${port}`;
  const sendgrid: SendGridEmulator = await startSendGridEmulator({
    eventWebhook: { url: `${base}/webhooks/sendgrid`, privateKey: keys.privateKey, flushMs: 1_000 },
  });
  const worker = startChild(
    'worker',
    'worker',
    env({ SENDGRID_BASE_URL: sendgrid.url, SENDGRID_API_KEY: sendgrid.apiKey }),
  );
  await worker.up;
  const stopAll = async () => {
    for (const c of [receiver, worker]) if (c.proc.exitCode === null) c.proc.kill('SIGTERM');
    await Promise.all(
      [receiver, worker].map((c) =>
        c.proc.exitCode === null ? new Promise((ok) => c.proc.once('exit', ok)) : Promise.resolve(),
      ),
    );
    await Promise.all([hs.emulator.close(), sendgrid.close()]);
    await ctx.close();
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

  const connection = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
  const queues = WORK_QUEUES.map((name) => new Queue(name, { connection, prefix }));
  const course = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'loopwise', 'course.updated.json'), 'utf8')) as {
    data: Record<string, unknown>;
  };
  const tag = Date.now().toString(36);
  let [posted, failedPosts, n, courses] = [0, 0, 0, 0];
  const post = (body: string) =>
    fetch(`${base}/webhooks/loopwise`, { method: 'POST', headers: signedHeaders(body), body })
      .then((r) => (r.status < 300 ? posted++ : failedPosts++))
      .catch(() => failedPosts++);
  // Steady: every 100 ms, the enrollments and course updates due by now (fractions carried over).
  const started = Date.now();
  const flow = setInterval(() => {
    const t = (Date.now() - started) / 1000;
    while (n < t * rate) void post(enrollBody(tag, n++));
    while (courses < t * courseRate) {
      const i = courses++;
      const now = new Date().toISOString();
      void post(
        JSON.stringify({
          type: 'course.updated',
          data: { ...course.data, id: `course-soak-${i % 20}`, name: `Soak course ${i % 20} (${i})`, updated_at: now },
        }),
      );
    }
  }, 100);

  const samples: SoakSample[] = [];
  let [lastPosted, lastEmails] = [0, 0];
  process.stderr.write(
    `soak: ${minutes} min, ${rate} enrollments/s, ${courseRate} course updates/s, HubSpot limit ${hubspotLimit}/10 s with 1 % 503s, ${keep} completed jobs kept per queue; warm-up ${warmupSeconds / 60} min; a sample every 10 s\n`,
  );
  while (Date.now() - started < minutes * 60_000) {
    await new Promise((ok) => setTimeout(ok, SAMPLE_MS - ((Date.now() - started) % SAMPLE_MS)));
    const [r, w, redisMemory, keyspace, counts] = await Promise.all([
      receiver.sample(),
      worker.sample(),
      usedMemory(ctx.redis),
      ctx.redis.info('keyspace'),
      Promise.all(queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized'))),
    ]);
    const [, keys = 0, expires = 0] = (/keys=(\d+),expires=(\d+)/.exec(keyspace) ?? []).map(Number);
    const requests = hs.emulator.state.requests.splice(0);
    const emails = sendgrid.outbox.all().length;
    const s: SoakSample = {
      t: Math.round((Date.now() - started) / 1000),
      receiverRss: r.rss,
      receiverHeap: r.heapUsed,
      receiverEldP99: r.eldP99,
      workerRss: w.rss,
      workerHeap: w.heapUsed,
      workerEldP99: w.eldP99,
      redisMemory,
      redisLasting: keys - expires,
      queueDepth: counts.reduce((a, c) => a + Object.values(c).reduce((x, y) => x + y, 0), 0),
      posted: posted - lastPosted,
      hubspotRequests: requests.length,
      hubspot429: requests.filter((q) => q.status === 429).length,
      hubspotFaults: faults,
      emails: emails - lastEmails,
    };
    faults = 0;
    [lastPosted, lastEmails] = [posted, emails];
    samples.push(s);
    process.stderr.write(`${table([s]).at(-1)}\n`);
  }
  clearInterval(flow);

  const when = new Date().toISOString();
  const m = machine();
  const title = `course-sync soak ${when.slice(0, 16)}Z · ${minutes} min · ${rate} enrollments/s · ${m.nproc} CPU ${m.cpu} · Node ${m.node} · Redis ${m.redis}`;
  const lines = [
    title,
    `command: npm run soak -- ${argv.join(' ')}`,
    `load average at the end: ${load1()}; posts refused or failed: ${failedPosts}`,
    '',
    ...table(samples),
    '',
    `slopes after the warm-up (${warmupSeconds / 60} min):`,
    ...slopeLines(slopes(samples, warmupSeconds)),
    `Redis used_memory per enrollment after the warm-up: ${Math.round(redisPerEnrollment(samples, warmupSeconds))} B (records that live days: see Performance)`,
  ];
  const stamp = when.replace(/[:.]/g, '-');
  const svg = join(RESULTS, `soak-${stamp}.svg`);
  writeFileSync(svg, chart(samples, warmupSeconds, title));
  writeFileSync(
    join(RESULTS, `soak-${stamp}.json`),
    JSON.stringify(
      { title, argv, machine: m, warmupSeconds, samples, slopes: slopes(samples, warmupSeconds) },
      null,
      1,
    ),
  );
  console.log([...lines, '', `chart: ${svg}`].join('\n'));
  await Promise.all(queues.map((q) => q.close()));
  await connection.quit();
  await stopAll();
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
