import { createReadStream, existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../config.ts';
import { EventIntake } from '../queues/intake.ts';
import { directSink, ReceiverRefusedError, receiverSink, type LineOutcome, type Sink } from './backfill-sinks.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { connectServiceRedis, NoServiceError, RedisUnreachableError } from './ops-connection.ts';
import { localWebhookUrl, ReceiverUnreachableError } from './post-webhook.ts';
import { ProgressLine, renderProgress, type Tally } from './progress.ts';
import { TraceWriter } from '../trace/writer.ts';

interface BackfillOptions {
  url?: string;
  direct?: boolean;
  secret?: string;
  concurrency: number;
}

/** One line that did not go through, for the summary. */
interface Problem {
  line: number;
  kind: 'invalid' | 'failed';
  reason: string;
}

const MAX_PROBLEMS_SHOWN = 50;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('expected a whole number from 1 to 256');
  return n;
}

/** Registers `course-sync backfill <file|->`: re-sends JSON-lines events through the normal pipeline. */
export function registerBackfill(program: Command, io: CliIO): void {
  program
    .command('backfill')
    .description('re-send events (one JSON envelope per line) through the normal pipeline; idempotent')
    .argument('<file>', 'JSON-lines file, one { "type": ..., "data": {...} } per line; "-" reads standard input')
    .addOption(
      new Option(
        '--url <url>',
        'post each event, signed, to this receiver (default: http://localhost:$PORT/webhooks/loopwise)',
      ).conflicts('direct'),
    )
    .addOption(
      new Option(
        '--direct',
        "enqueue straight into Redis (REDIS_URL, or the private Redis of the course-sync running here) with the receiver's checks, without HTTP",
      ),
    )
    .option('--secret <secret>', 'signing key for posting (default: the first of WEBHOOK_SECRET)')
    .option('--concurrency <n>', 'events in flight at once', positiveInt, 4)
    .addHelpText(
      'after',
      [
        '',
        'Events seen before (same enrollment id, or same course and updated_at) are reported as',
        'duplicates and not enqueued again, so running a backfill twice changes nothing.',
        '',
        'Examples:',
        '  course-sync backfill export.jsonl',
        '  course-sync backfill export.jsonl --url https://sync.example.com/webhooks/loopwise',
        '  gunzip -c export.jsonl.gz | REDIS_URL=redis://redis:6379 course-sync backfill - --direct',
        '',
        'Exit codes: 0 every line accepted, duplicate or ignored; 1 some lines invalid or failed, or the',
        'receiver refused the signature; 2 bad usage; 3 the receiver or Redis is unreachable.',
      ].join('\n'),
    )
    .action(async (file: string, opts: BackfillOptions) => {
      io.exitCode = await backfill(io, file, opts);
    });
}

async function openSink(
  io: CliIO,
  config: Config,
  opts: BackfillOptions,
): Promise<{ sink: Sink; target: string; close(): Promise<void> } | number> {
  if (!opts.direct) {
    const url = opts.url ?? localWebhookUrl(config.port);
    return {
      sink: receiverSink(url, opts.secret ?? config.webhook.secrets[0]),
      target: url,
      close: async () => undefined,
    };
  }
  let redis: Redis;
  try {
    redis = await connectServiceRedis(io, config);
  } catch (err) {
    if (err instanceof NoServiceError)
      io.err(`course-sync backfill: --direct needs the Redis the workers use: ${err.message}`);
    else if (err instanceof RedisUnreachableError)
      io.err(
        `course-sync backfill: Redis at ${config.redis.url ? 'REDIS_URL' : "the service's private address"} is unreachable: ${err.message}`,
      );
    else throw err;
    return EXIT.unavailable;
  }
  const intake = new EventIntake(redis, config, new TraceWriter(redis, config));
  return {
    sink: directSink(intake),
    target: `Redis (queue prefix ${config.redis.prefix})`,
    close: async () => {
      await redis.quit();
    },
  };
}

async function backfill(io: CliIO, file: string, opts: BackfillOptions): Promise<number> {
  const config = loadConfig(io.env);
  if (file !== '-' && !existsSync(file)) {
    io.err(`course-sync backfill: no such file: ${file}`);
    return EXIT.usage;
  }
  const opened = await openSink(io, config, opts);
  if (typeof opened === 'number') return opened;

  const tally: Tally = { lines: 0, accepted: 0, duplicate: 0, ignored: 0, invalid: 0, failed: 0 };
  const problems: Problem[] = [];
  const progress = new ProgressLine(io.stderr);
  const totalBytes = file === '-' ? undefined : statSync(file).size;
  let readBytes = 0;
  let stopped: Error | undefined;

  const record = (line: number, out: LineOutcome) => {
    tally[out.kind]++;
    if (out.kind === 'invalid' || out.kind === 'failed') problems.push({ line, kind: out.kind, reason: out.reason });
  };

  const input = file === '-' ? io.stdin() : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  const inFlight = new Set<Promise<void>>();
  let lineNo = 0;
  try {
    for await (const raw of lines) {
      lineNo++;
      readBytes += Buffer.byteLength(raw) + 1;
      const text = raw.trim();
      if (!text) continue;
      tally.lines++;
      const n = lineNo;
      const task: Promise<void> = opened
        .sink(text)
        .then(
          (out) => record(n, out),
          (err: Error) => {
            if (err instanceof ReceiverUnreachableError || err instanceof ReceiverRefusedError) stopped ??= err;
            else record(n, { kind: 'failed', reason: err.message });
          },
        )
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= opts.concurrency) await Promise.race(inFlight);
      progress.update(renderProgress(tally, readBytes, totalBytes));
      if (stopped) break;
    }
    await Promise.all(inFlight);
  } finally {
    lines.close();
    await opened.close();
  }
  progress.end(renderProgress(tally, readBytes, totalBytes));

  printSummary(io, file, opened.target, tally, problems, stopped);
  if (stopped instanceof ReceiverUnreachableError) return EXIT.unavailable;
  return stopped || tally.invalid || tally.failed ? EXIT.problem : EXIT.ok;
}

function printSummary(
  io: CliIO,
  file: string,
  target: string,
  tally: Tally,
  problems: Problem[],
  stopped?: Error,
): void {
  problems.sort((a, b) => a.line - b.line);
  const lineList = (kind: Problem['kind']) => {
    const nums = problems.filter((p) => p.kind === kind).map((p) => p.line);
    return nums.length
      ? `  (line${nums.length > 1 ? 's' : ''} ${nums.slice(0, 20).join(', ')}${nums.length > 20 ? ', …' : ''})`
      : '';
  };
  const out = [
    `backfill ${file === '-' ? 'standard input' : file} → ${target}: ${tally.lines} events`,
    `  accepted   ${tally.accepted}`,
    `  duplicate  ${tally.duplicate}`,
    `  ignored    ${tally.ignored}${tally.ignored ? '  (event types course-sync does not handle)' : ''}`,
    `  invalid    ${tally.invalid}${lineList('invalid')}`,
    `  failed     ${tally.failed}${lineList('failed')}`,
  ];
  for (const p of problems.slice(0, MAX_PROBLEMS_SHOWN)) out.push(`line ${p.line} ${p.kind}: ${p.reason}`);
  if (problems.length > MAX_PROBLEMS_SHOWN) out.push(`… and ${problems.length - MAX_PROBLEMS_SHOWN} more`);
  io.out(out.join('\n'));
  if (stopped) {
    const sent = tally.accepted + tally.duplicate + tally.ignored + tally.invalid + tally.failed;
    io.err(`course-sync backfill: stopped after ${sent} of ${tally.lines} events read: ${stopped.message}`);
  }
}
