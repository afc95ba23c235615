import { InvalidArgumentError, type Command } from 'commander';
import { replayQuarantined } from '../receiver/quarantine-replay.ts';
import type { QuarantineEntry } from '../quarantine/store.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { REDIS_NOTE, withOps } from './ops-connection.ts';

const EXIT_NOTE =
  'Exit codes: 0 done; 1 not found, not replayable or still invalid; 2 bad usage or configuration; 3 no service running (REDIS_URL unset) or Redis unreachable.';

/** One list line: id, received at, HTTP status, event type, replayable or not, reason (tab-separated). */
function formatQuarantineLine(e: QuarantineEntry): string {
  return [
    e.id,
    e.receivedAt,
    e.status,
    e.eventType || '-',
    e.replayable ? 'replayable' : '-',
    e.reason.replace(/\s+/g, ' '),
  ].join('\t');
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new InvalidArgumentError('expected a whole number from 1 to 10000');
  return n;
}

function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** Registers `course-sync quarantine list|show|replay`: the webhooks the receiver refused. */
export function registerQuarantine(program: Command, io: CliIO): void {
  const quarantine = program
    .command('quarantine')
    .description('rejected webhooks: list, show, and replay schema-invalid (422) ones after a fix')
    .addHelpText('after', `\n${REDIS_NOTE}\n${EXIT_NOTE}`);

  quarantine
    .command('list')
    .description('newest first, one line each: id, received at, status, event type, replayable, reason')
    .option('--limit <n>', 'at most this many', parseLimit, 100)
    .addHelpText('after', `\n${REDIS_NOTE}\n${EXIT_NOTE}`)
    .action((opts: { limit: number }) =>
      withOps(io, 'quarantine list', async ({ quarantine: q }) => {
        const entries = await q.list(opts.limit);
        for (const e of entries) io.out(formatQuarantineLine(e));
        if (entries.length === 0) io.err('quarantine is empty');
        return EXIT.ok;
      }),
    );

  quarantine
    .command('show')
    .description('one rejected webhook: why it was refused and its body as received')
    .argument('<id>', 'its id, from `quarantine list`')
    .addHelpText('after', `\n${REDIS_NOTE}\n${EXIT_NOTE}`)
    .action((id: string) =>
      withOps(io, 'quarantine show', async ({ quarantine: q }) => {
        const entry = /^\d+-\d+$/.test(id) ? await q.get(id) : undefined;
        if (!entry) {
          io.err(`course-sync quarantine show: no quarantined webhook "${id}"`);
          return EXIT.problem;
        }
        const { body, ...meta } = entry;
        // Field errors are a list of objects: shown as JSON, not "[object Object]".
        for (const [k, v] of Object.entries(meta))
          io.out(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
        io.out('body:');
        io.out(prettyBody(body));
        return EXIT.ok;
      }),
    );

  quarantine
    .command('replay')
    .description('re-validate a 422 delivery with the current schema and, if valid, enqueue it as the receiver would')
    .argument('<id>', 'its id, from `quarantine list`')
    .addHelpText('after', `\n${REDIS_NOTE}\n${EXIT_NOTE}`)
    .action((id: string) =>
      withOps(io, 'quarantine replay', async (ops) => {
        const result = await replayQuarantined({ quarantine: ops.quarantine, intake: ops.intake }, id);
        switch (result.status) {
          case 'replayed':
            await ops.audit({ action: 'quarantine replay', count: 1, detail: `entry ${id} → ${result.outcome}` });
            io.out(`replayed\t${id}\t${result.key}\t${result.outcome}`);
            return EXIT.ok;
          case 'not-found':
            io.err(`course-sync quarantine replay: no quarantined webhook "${id}"`);
            return EXIT.problem;
          case 'not-replayable':
            io.err(`course-sync quarantine replay: ${result.reason}`);
            return EXIT.problem;
          case 'invalid':
            io.err(`course-sync quarantine replay: "${id}" still does not match the schema; kept in quarantine`);
            for (const e of result.errors) io.err(`  ${e.field}: ${e.message}`);
            return EXIT.problem;
        }
      }),
    );
}
