import { Command } from 'commander';
import { ConfigError } from '../config.ts';
import { RedisBinaryMissingError } from '../redis/local-server.ts';
import { registerBackfill } from './backfill.ts';
import { registerDlq } from './dlq.ts';
import { registerDoctor } from './doctor.ts';
import { registerEmail } from './email.ts';
import { registerEmit } from './emit.ts';
import { registerHubSpot } from './hubspot.ts';
import { EXIT } from './exit-codes.ts';
import { processIO, type CliIO } from './io.ts';
import { registerPrivacy } from './privacy.ts';
import { registerQuarantine } from './quarantine.ts';
import { registerStart } from './start.ts';
import { registerTrace } from './trace.ts';

// EXIT and ROLES live in modules of their own so command files can use them without importing main.ts (no cycle).
export { EXIT };
export { ROLES } from './start.ts';

/** Builds the `course-sync` command line; help and usage errors go to `io`. */
export function buildProgram(io: CliIO = processIO()): Command {
  const program = new Command('course-sync')
    .description('Loopwise course webhooks → HubSpot contacts and products, SendGrid welcome emails')
    // Set before the commands are added, so that every subcommand inherits them.
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
    })
    .showHelpAfterError()
    .exitOverride();

  registerStart(program, io);
  registerEmit(program, io);
  registerHubSpot(program, io);
  registerBackfill(program, io);
  registerDoctor(program, io);
  registerDlq(program, io);
  registerQuarantine(program, io);
  registerTrace(program, io);
  registerEmail(program, io);
  registerPrivacy(program, io);

  return program;
}

/**
 * Runs the command line with `argv` as process.argv has it and resolves to the exit code; prints
 * configuration and dependency errors plainly. Never exits the process (bin/course-sync.js does).
 */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv);
    return io.exitCode;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code?.startsWith('commander.'))
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    io.err(`course-sync: ${e.message}`);
    if (err instanceof ConfigError) return EXIT.usage;
    if (err instanceof RedisBinaryMissingError) return EXIT.unavailable;
    return EXIT.problem;
  }
}
