import { InvalidArgumentError, type Command } from 'commander';
import { shownLetter, summarizeDeadLetter, type DeadLetterSummary } from '../queues/dead-letter-view.ts';
import { groupDeadLetters } from '../queues/dead-letter-groups.ts';
import { DurationError, parseDuration } from '../duration.ts';
import { WORK_QUEUES, type WorkQueueName } from '../queues/names.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { parseQueue, REDIS_NOTE, withOps } from './ops-connection.ts';

const EXIT_NOTE =
  'Exit codes: 0 done; 1 something asked for was not found; 2 bad usage or configuration; 3 no service running (REDIS_URL unset) or Redis unreachable.';

/** One list line: queue, id, event id, time of the last error, last error (tab-separated). */
function formatDeadLetterLine(s: DeadLetterSummary): string {
  return [s.queue, s.id, s.eventId, s.lastErrorAt, s.lastError.replace(/\s+/g, ' ')].join('\t');
}

/** Prints rows as JSON, or one line each (saying on stderr when there are none). */
function printRows<T>(io: CliIO, rows: T[], json: boolean | undefined, line: (row: T) => string, none: string): void {
  if (json) io.out(JSON.stringify(rows, null, 2));
  else if (rows.length) for (const row of rows) io.out(line(row));
  else io.err(none);
}

function parseOlderThan(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    if (err instanceof DurationError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** Registers `course-sync dlq list|show|replay|purge`: inspect and repair the dead-letter queues. */
export function registerDlq(program: Command, io: CliIO): void {
  const dlq = program
    .command('dlq')
    .description('dead-letter queues: list, show, replay and purge jobs that failed for good')
    .addHelpText('after', `\nQueues: ${WORK_QUEUES.join(', ')} (their DLQs end in -dlq).\n${REDIS_NOTE}\n${EXIT_NOTE}`);

  dlq
    .command('list')
    .description(
      'one line per dead letter: queue, job id, event id (enrollment or course id), time of the last error, last error',
    )
    .argument('[queue]', 'only this queue', parseQueue)
    .option('--json', 'print JSON instead of tab-separated lines')
    .addHelpText('after', `\n${REDIS_NOTE}\n${EXIT_NOTE}`)
    .action((queue: WorkQueueName | undefined, opts: { json?: boolean }) =>
      withOps(io, 'dlq list', async ({ deadLetters }) => {
        const summaries: DeadLetterSummary[] = [];
        for (const q of queue ? [queue] : WORK_QUEUES)
          summaries.push(...(await deadLetters.list(q)).map(summarizeDeadLetter));
        printRows(io, summaries, opts.json, formatDeadLetterLine, `no dead letters${queue ? ` in ${queue}` : ''}`);
        return EXIT.ok;
      }),
    );

  dlq
    .command('show')
    .description(
      'one dead letter in full: original job data and every attempt error (addresses and phone numbers in the errors masked)',
    )
    .argument('<queue>', 'its queue', parseQueue)
    .argument('<id>', 'its job id')
    .addHelpText('after', `\n${REDIS_NOTE}\n${EXIT_NOTE}`)
    .action((queue: WorkQueueName, id: string) =>
      withOps(io, 'dlq show', async ({ deadLetters }) => {
        const letter = await deadLetters.get(queue, id);
        if (!letter) {
          io.err(`course-sync dlq show: no dead letter "${id}" in ${queue}`);
          return EXIT.problem;
        }
        io.out(JSON.stringify(shownLetter(letter.data), null, 2));
        return EXIT.ok;
      }),
    );

  dlq
    .command('groups')
    .description('the dead letters of a queue grouped by cause: count, category, first and last seen, the cause')
    .argument('<queue>', 'the queue', parseQueue)
    .option('--json', 'print JSON instead of tab-separated lines')
    .addHelpText(
      'after',
      `\nReplay a whole group with: course-sync dlq replay <queue> --cause "<cause>"\n\n${REDIS_NOTE}\n${EXIT_NOTE}`,
    )
    .action((queue: WorkQueueName, opts: { json?: boolean }) =>
      withOps(io, 'dlq groups', async ({ deadLetters }) => {
        const groups = groupDeadLetters(await deadLetters.list(queue));
        printRows(
          io,
          groups,
          opts.json,
          (g) => [g.count, g.category ?? '-', g.firstAt, g.lastAt, g.cause.replace(/\s+/g, ' ')].join('\t'),
          `no dead letters in ${queue}`,
        );
        return EXIT.ok;
      }),
    );

  dlq
    .command('replay')
    .description('put dead letters back on their queue with fresh attempts (same job id, so idempotency holds)')
    .argument('<queue>', 'the queue', parseQueue)
    .argument('[ids...]', 'job ids to replay')
    .option('--all', 'replay every dead letter of the queue')
    .option('--cause <cause>', 'replay the dead letters of one cause, as `dlq groups` prints it')
    .addHelpText(
      'after',
      `\nExamples:\n  course-sync dlq replay crm-contacts --all\n  course-sync dlq replay email-welcome enroll-enroll_123456\n  course-sync dlq replay crm-contacts --cause "HubSpot 500 …"\n\n${REDIS_NOTE}\n${EXIT_NOTE}`,
    )
    .action((queue: WorkQueueName, ids: string[], opts: { all?: boolean; cause?: string }) => {
      if ([!!opts.all, ids.length > 0, opts.cause !== undefined].filter(Boolean).length !== 1) {
        io.err('course-sync dlq replay: give one of --all, --cause <cause>, or one or more job ids');
        io.exitCode = EXIT.usage;
        return;
      }
      return withOps(io, 'dlq replay', async ({ deadLetters, audit }) => {
        let selection: string[] | 'all' = opts.all ? 'all' : ids;
        if (opts.cause !== undefined) {
          const ofCause = await deadLetters.idsOfCause(queue, opts.cause);
          if (!ofCause) {
            io.err(
              `course-sync dlq replay: no dead letters in ${queue} with that cause (see \`course-sync dlq groups ${queue}\`)`,
            );
            return EXIT.problem;
          }
          selection = ofCause;
        }
        const { replayed, notReplayed } = await deadLetters.replay(queue, selection);
        const detail = opts.all
          ? 'all'
          : opts.cause !== undefined
            ? `cause: ${opts.cause.slice(0, 200)}`
            : `${ids.length} id(s) asked`;
        await audit({ action: 'replay', queue, count: replayed.length, detail });
        for (const id of replayed) io.out(`replayed\t${queue}\t${id}`);
        for (const { id, reason } of notReplayed) io.err(`not replayed: ${id}: ${reason}`);
        io.err(`${replayed.length} replayed into ${queue}`);
        return notReplayed.length ? EXIT.problem : EXIT.ok;
      });
    });

  dlq
    .command('purge')
    .description('delete dead letters that died longer ago than a duration')
    .argument('<queue>', 'the queue', parseQueue)
    .requiredOption('--older-than <duration>', 'e.g. 30m, 12h, 7d, 2w', parseOlderThan)
    .addHelpText(
      'after',
      `\nExample:\n  course-sync dlq purge crm-products --older-than 30d\n\n${REDIS_NOTE}\n${EXIT_NOTE}`,
    )
    .action((queue: WorkQueueName, opts: { olderThan: number }) =>
      withOps(io, 'dlq purge', async ({ deadLetters, audit }) => {
        const purged = await deadLetters.purge(queue, opts.olderThan);
        await audit({
          action: 'purge',
          queue,
          count: purged.length,
          detail: `older than ${+(opts.olderThan / 86_400_000).toFixed(3)} days`,
        });
        for (const id of purged) io.out(`purged\t${queue}\t${id}`);
        io.err(`${purged.length} purged from ${queue}`);
        return EXIT.ok;
      }),
    );
}
