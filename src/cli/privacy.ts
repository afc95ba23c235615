import { createInterface } from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../config.ts';
import { HubSpotCallError } from '../hubspot/errors.ts';
import { maskEmail } from '../privacy/email.ts';
import { maskText } from '../privacy/text.ts';
import { exportAudit, exportStudent } from '../student-data/export.ts';
import { erasureAudit, forgetStudent, type ForgetReport } from '../student-data/forget.ts';
import { openPrivacy } from '../student-data/deps.ts';
import { parseStudentQuery, type StudentQuery } from '../student-data/student.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { REDIS_NOTE, withOps } from './ops-connection.ts';

function parseStudent(value: string): StudentQuery {
  try {
    return parseStudentQuery(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The lines `forget` prints for a report (never an address in clear). */
function formatForgetReport(report: ForgetReport): string[] {
  const verb = report.dryRun ? 'would remove' : 'removed';
  const lines = [`found ${report.addresses} address(es) and ${report.enrollments} enrollment(s) of the student`];
  for (const [kind, n] of Object.entries(report.removed)) lines.push(`${verb}\t${String(n).padStart(5)}\t${kind}`);
  if (report.dryRun) for (const r of report.records) lines.push(`  ${r.kind}\t${r.where}`);
  if (!report.total) lines.push('nothing in Redis names the student');
  for (const a of report.hubspot?.addresses ?? []) lines.push(`HubSpot\t${a.email}: ${a.said}`);
  if (report.suppressed !== undefined)
    lines.push(`suppressed\t${report.suppressed} address(es) newly (later events for them are not processed)`);
  if (!report.dryRun)
    lines.push(
      report.remaining
        ? `NOT DONE: ${report.remaining} record(s) still name the student (a job running right now?); run forget again`
        : 'checked: nothing left in Redis names the student',
    );
  return lines;
}

/** Asks on a terminal; anything but "y"/"yes" is a no. */
async function confirm(io: CliIO, question: string): Promise<boolean> {
  io.stderr.write(`${question} [y/N] `);
  const rl = createInterface({ input: io.stdin(), terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Registers `course-sync forget` and `course-sync export`: a student's right to erasure and to access. */
export function registerPrivacy(program: Command, io: CliIO): void {
  program
    .command('forget')
    .description("remove every copy of a student's personal data from Redis (and with --hubspot from HubSpot)")
    .argument('<student>', 'their e-mail address, an enrollment id or their user id', parseStudent)
    .option('--dry-run', 'list what would be removed; remove nothing')
    .option(
      '--hubspot',
      'also ask HubSpot to delete their contact permanently (GDPR delete; an address without a contact is blocklisted by HubSpot; needs HUBSPOT_ACCESS_TOKEN)',
    )
    .option('--suppress', 'keep a keyed hash of their address so later events for it are not synced or e-mailed')
    .option('--unsuppress', 'lift the suppression of <student> (an e-mail address); removes nothing')
    .option('--yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      '\nFinds jobs in every state of every queue and dead-letter queue, quarantined deliveries, traces and' +
        '\ntheir index entries, contact course records, welcome email records and attempt logs; removes them,' +
        '\nthen looks again to check nothing is left. Running it twice removes nothing more. Recorded in the' +
        '\naudit trail (kinds and counts, never the address).' +
        '\nExamples:\n  course-sync forget student@example.com --dry-run\n  course-sync forget student@example.com --hubspot --suppress --yes' +
        '\n  course-sync forget --unsuppress student@example.com' +
        `\n\n${REDIS_NOTE}` +
        '\nExit codes: 0 done; 1 something still names the student, or HubSpot refused (nothing removed then);' +
        '\n2 bad usage or configuration (no confirmation); 3 no service running (REDIS_URL unset), Redis or HubSpot unreachable.',
    )
    .action(
      (
        query: StudentQuery,
        opts: { dryRun?: boolean; hubspot?: boolean; suppress?: boolean; unsuppress?: boolean; yes?: boolean },
      ) => {
        if (opts.unsuppress && !('email' in query))
          throw new InvalidArgumentError('--unsuppress takes the e-mail address');
        if (opts.hubspot && !opts.dryRun && !io.env.HUBSPOT_ACCESS_TOKEN)
          throw new ConfigError(
            'HUBSPOT_ACCESS_TOKEN',
            'is not set: forget --hubspot asks HubSpot to delete the contact',
          );
        return withOps(io, 'forget', async ({ config, redis, queues, audit }) => {
          const privacy = await openPrivacy(config, redis, queues);
          if (opts.unsuppress) {
            const email = (query as { email: string }).email;
            const lifted = await privacy.suppression.remove(email);
            await audit({ action: 'unsuppress student', count: lifted ? 1 : 0 });
            io.err(
              lifted ? `${maskEmail(email)} is processed again from now on` : `${maskEmail(email)} was not suppressed`,
            );
            return EXIT.ok;
          }
          if (!opts.dryRun && !opts.yes) {
            const preview = await forgetStudent(privacy, query, { dryRun: true });
            for (const line of formatForgetReport(preview).filter((l) => !l.startsWith('  '))) io.err(line);
            const stdin = io.stdin() as NodeJS.ReadableStream & { isTTY?: boolean };
            if (!stdin.isTTY) {
              io.err('course-sync forget: add --yes to remove this (or --dry-run to list it)');
              return EXIT.usage;
            }
            if (
              !(await confirm(
                io,
                `Remove ${preview.total} record(s)${opts.hubspot ? ' and the HubSpot contact' : ''}?`,
              ))
            ) {
              io.err('nothing removed');
              return EXIT.ok;
            }
          }
          let report: ForgetReport;
          try {
            report = await forgetStudent(privacy, query, opts);
          } catch (err) {
            if (!(err instanceof HubSpotCallError)) throw err;
            io.err(
              `course-sync forget: HubSpot did not delete the contact, so nothing was removed: ${maskText(err.message)}`,
            );
            return err.failure.kind === 'transient' && err.failure.status === undefined
              ? EXIT.unavailable
              : EXIT.problem;
          }
          if (!report.dryRun) await audit(erasureAudit(report));
          for (const line of formatForgetReport(report)) io.out(line);
          return report.remaining ? EXIT.problem : EXIT.ok;
        });
      },
    );

  program
    .command('export')
    .description('everything course-sync holds about a student, as one JSON document (subject access request)')
    .argument('<student>', 'their e-mail address, an enrollment id or their user id', parseStudent)
    .addHelpText(
      'after',
      '\nPrints their addresses, names and phone numbers as held, each enrollment, the welcome email status,' +
        '\nthe trace of each event and every record naming them. Reads only. Recorded in the audit trail.' +
        `\nExample:\n  course-sync export student@example.com > student.json\n\n${REDIS_NOTE}` +
        '\nExit codes: 0 found; 1 nothing names the student; 2 bad usage or configuration; 3 no service running (REDIS_URL unset) or Redis unreachable.',
    )
    .action((query: StudentQuery) =>
      withOps(io, 'export', async ({ config, redis, queues, audit }) => {
        const doc = await exportStudent(await openPrivacy(config, redis, queues), query);
        await audit(exportAudit(doc));
        io.out(JSON.stringify(doc, null, 2));
        if (!doc.records.length) {
          io.err('course-sync export: nothing in Redis names the student');
          return EXIT.problem;
        }
        return EXIT.ok;
      }),
    );
}
