/**
 * `npm run bench [-- <scenario>...] [--quick] [--profile]`: starts its own Redis, runs the
 * scenarios, prints the table and writes bench/results/latest.json.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openContext, type BenchContext } from './lib/context.ts';
import { interference } from './lib/drain.ts';
import { load1, machine } from './lib/machine.ts';
import { stopAllChildren } from './lib/processes.ts';
import { Report } from './lib/report.ts';
import { summariseProfiles } from './lib/profile.ts';

type Scenario = (ctx: BenchContext) => Promise<void>;

/** Scenario name → its module under scenarios/ and the function it exports (imported lazily, so one missing part does not stop the others). */
const SCENARIOS: Record<string, { title: string; file: string; fn: string }> = {
  ingest: { title: '1 ingest', file: 'ingest.ts', fn: 'ingest' },
  contacts: { title: '2 contacts', file: 'contacts.ts', fn: 'contacts' },
  email: { title: '3 email', file: 'email.ts', fn: 'email' },
  e2e: { title: '4 e2e', file: 'e2e.ts', fn: 'endToEnd' },
  footprint: { title: '5 footprint', file: 'footprint.ts', fn: 'footprint' },
  scaleout: { title: '6 scale-out', file: 'scale-out.ts', fn: 'scaleOut' },
  events: { title: '7 events', file: 'events.ts', fn: 'events' },
  steps: { title: '8 steps', file: 'steps.ts', fn: 'steps' },
  courses: { title: '9 courses', file: 'courses.ts', fn: 'courses' },
};

async function load(file: string, fn: string): Promise<Scenario> {
  const mod = (await import(`./scenarios/${file}`)) as Record<string, Scenario>;
  return mod[fn]!;
}

const USAGE = `usage: npm run bench -- [${Object.keys(SCENARIOS).join('|')}]... [--quick] [--profile]
  no scenario names: run them all
  --quick    shorter runs and smaller N (a smoke test of the bench, figures less steady)
  --profile  run service processes under node --cpu-prof and print their top functions`;

async function main(argv: string[]): Promise<void> {
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  const names = argv.filter((a) => !a.startsWith('--'));
  if (flags.has('--help')) return void console.log(USAGE);
  const unknown = [
    ...names.filter((n) => !SCENARIOS[n]),
    ...[...flags].filter((f) => !['--quick', '--profile'].includes(f)),
  ];
  if (unknown.length) {
    console.error(`unknown: ${unknown.join(', ')}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const selected = names.length ? names : Object.keys(SCENARIOS);
  const results = fileURLToPath(new URL('./results/', import.meta.url));
  const profileDir = `${results}profiles`;
  rmSync(profileDir, { recursive: true, force: true });
  const loadBefore = load1();
  if (loadBefore > 0.5)
    process.stderr.write(
      `bench: WARNING load average is ${loadBefore} before the run: other processes compete for the CPUs and the figures will be low\n`,
    );
  const report = new Report();
  const ctx = await openContext({
    quick: flags.has('--quick'),
    profile: flags.has('--profile'),
    report,
    logDir: `${results}logs`,
    profileDir,
  });
  // Ctrl-C (or SIGTERM): stop the children, Redis, and remove Redis' temporary data.
  const abort = () =>
    void stopAllChildren()
      .then(() => ctx.close())
      .finally(() => process.exit(130));
  process.once('SIGINT', abort).once('SIGTERM', abort);
  const started = Date.now();
  const timings: Record<string, number> = {};
  try {
    for (const name of selected) {
      const { title, file, fn } = SCENARIOS[name]!;
      const t0 = Date.now();
      process.stderr.write(`bench: ${title} ... (load average ${load1()})\n`);
      interference.worst = 0;
      try {
        await ctx.redis.flushall(); // each scenario starts on an empty Redis
        await (
          await load(file, fn)
        )(ctx);
      } catch (err) {
        report.add({
          scenario: title,
          metric: 'scenario failed',
          value: NaN,
          unit: '',
          versus: (err as Error).message.split('\n')[0]!.slice(0, 120),
          pass: false,
        });
        report.note(title, `failed: ${(err as Error).stack ?? String(err)}`);
      }
      timings[name] = Math.round((Date.now() - t0) / 100) / 10;
      if (interference.worst > 0.25)
        report.note(
          title,
          `WARNING: other processes on this machine used up to ${interference.worst.toFixed(2)} cores while it was measured; its figures are low`,
        );
      process.stderr.write(`bench: ${title} done in ${timings[name]} s\n`);
    }
  } finally {
    await ctx.close();
  }
  if (ctx.profile) for (const line of summariseProfiles(profileDir)) report.note('profile', line);
  const m = { ...machine(), loadBefore };
  const total = Math.round((Date.now() - started) / 1000);
  console.log(report.table());
  console.log(
    `\nmachine: ${m.nproc} CPUs (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, Redis ${m.redis}; load average before the run ${m.loadBefore}; mode ${ctx.quick ? 'quick' : 'full'}; ${total} s`,
  );
  report.write(`${results}latest.json`, {
    startedAt: new Date(started).toISOString(),
    seconds: total,
    mode: ctx.quick ? 'quick' : 'full',
    scenarios: selected,
    timings,
    machine: m,
  });
  console.log(`figures written to bench/results/latest.json`);
  if (report.rows.some((r) => r.metric === 'scenario failed')) process.exitCode = 1;
}

await main(process.argv.slice(2));
