import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { RedisBinaryMissingError } from '../redis/local-server.ts';
import { startService, type Role } from '../service.ts';
import { registerBackfill } from './backfill.ts';
import { registerDlq } from './dlq.ts';
import { registerDoctor } from './doctor.ts';
import { registerEmail } from './email.ts';
import { registerEmit } from './emit.ts';
import { registerHubSpot } from './hubspot.ts';
import { EXIT } from './exit-codes.ts';
import { registerQuarantine } from './quarantine.ts';
import { registerTrace } from './trace.ts';

// EXIT lives in its own module so command files can use it without importing main.ts (no cycle).
export { EXIT };

/** The roles `start --role` accepts. */
export const ROLES: Role[] = ['all', 'receiver', 'worker'];

function parseRole(value: string): Role {
  if (!(ROLES as string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}`);
  return value as Role;
}

/** Builds the `course-sync` command line. */
export function buildProgram(): Command {
  const program = new Command('course-sync')
    .description('Loopwise course webhooks → HubSpot contacts and products, SendGrid welcome emails')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('run the service: receiver (HTTP), worker (queues) or all in one process')
    .addHelpText('after', '\nConfiguration comes from environment variables; see README "Configuration".')
    .option('--role <role>', 'all | receiver | worker', parseRole, 'all')
    .action(async (opts: { role: Role }) => {
      const config = loadConfig();
      const log = createLogger(config.logLevel);
      const service = await startService(config, opts.role, log);
      const shutdown = async (signal: string) => {
        log.info({ signal }, 'shutting down');
        await service.stop();
        process.exit(EXIT.ok);
      };
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
      process.once('SIGINT', () => void shutdown('SIGINT'));
    });

  registerEmit(program);
  registerHubSpot(program);
  registerBackfill(program);
  registerDoctor(program);
  registerDlq(program);
  registerQuarantine(program);
  registerTrace(program);
  registerEmail(program);

  return program;
}

/** Runs the command line; prints configuration and dependency errors plainly and exits with a meaningful code. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as Error & { code?: string; exitCode?: number };
    if (e.code?.startsWith('commander.')) {
      process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof ConfigError) {
      console.error(`course-sync: ${err.message}`);
      process.exit(EXIT.usage);
    }
    if (err instanceof RedisBinaryMissingError) {
      console.error(`course-sync: ${err.message}`);
      process.exit(EXIT.unavailable);
    }
    console.error(`course-sync: ${e.message}`);
    process.exit(EXIT.problem);
  }
}
