import { InvalidArgumentError, type Command } from 'commander';
import { callsExpiredText, describeCalls, formatJourney } from '../trace/format.ts';
import { isEmail } from '../privacy/email.ts';
import { SEARCH_LIMIT } from '../trace/reader.ts';
import { TraceSearch } from '../trace/search.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { REDIS_NOTE, withOps } from './ops-connection.ts';
import { maskEmail } from '../privacy/email.ts';
import { adminLinks } from '../console-links.ts';

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > SEARCH_LIMIT)
    throw new InvalidArgumentError(`expected a whole number from 1 to ${SEARCH_LIMIT}`);
  return n;
}

/** Registers `course-sync trace <query>`: the journey of every event matching an id or e-mail. */
export function registerTrace(program: Command, io: CliIO): void {
  program
    .command('trace')
    .description(
      'where is my event? the journey of every event matching an enrollment id, course id, plan id or student e-mail',
    )
    .argument('<query>', 'enrollment id, course id, plan id, student e-mail or idempotency key')
    .option('--json', 'print the journeys as JSON')
    .option(
      '--calls',
      'also print the HubSpot and SendGrid calls each attempt took part in (its own part; e-mail and phone masked)',
    )
    .option('--limit <n>', `newest n matches (at most ${SEARCH_LIMIT})`, parseLimit, 10)
    .addHelpText(
      'after',
      '\nPrints one line per step (received, each attempt with its outcome and duration, HubSpot ids, SendGrid message id,' +
        '\nretries, dead letters, duplicates) and where each job is now.' +
        '\nExamples:\n  course-sync trace enroll_123456\n  course-sync trace student@example.com\n  course-sync trace plan_123' +
        `\n\n${REDIS_NOTE}` +
        '\nExit codes: 0 found; 1 nothing matches; 2 bad usage; 3 no service running (REDIS_URL unset) or Redis unreachable.',
    )
    .action((query: string, opts: { json?: boolean; limit: number; calls?: boolean }) =>
      withOps(io, 'trace', async ({ redis, config, queues, quarantine }) => {
        const journeys = await new TraceSearch({ redis, config, queues, quarantine, links: adminLinks }).find(
          query,
          opts.limit,
        );
        if (opts.json) io.out(JSON.stringify(journeys, null, 2));
        else if (journeys.length) {
          const calls = (j: (typeof journeys)[number]) =>
            j.callsExpiredAfterDays
              ? [`  calls: ${callsExpiredText(j.callsExpiredAfterDays)}`]
              : describeCalls(j.calls).map((c) => `  call: ${c}`);
          const text = (j: (typeof journeys)[number]) =>
            [...formatJourney(j), ...(opts.calls ? calls(j) : [])].join('\n');
          io.out(journeys.map(text).join('\n\n'));
        }
        if (!journeys.length) {
          const shown = isEmail(query) ? maskEmail(query.trim()) : query;
          io.err(`course-sync trace: no event matches "${shown}" (traces are kept ${config.trace.retentionDays} days)`);
          return EXIT.problem;
        }
        return EXIT.ok;
      }),
    );
}
