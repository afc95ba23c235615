import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../config.ts';
import { createLogger, logFormatFor } from '../log.ts';
import { startService, type Role } from '../service.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { nextSteps } from './next-steps.ts';

/** The roles `start --role` accepts. */
export const ROLES: Role[] = ['all', 'receiver', 'worker'];

function parseRole(value: string): Role {
  if (!(ROLES as string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}`);
  return value as Role;
}

/** Registers `course-sync start`: runs the service until a stop signal, then stops it cleanly. */
export function registerStart(program: Command, io: CliIO): void {
  program
    .command('start')
    .description('run the service: receiver (HTTP), worker (queues) or all in one process')
    .addHelpText('after', '\nConfiguration comes from environment variables; see docs/configuration.md.')
    .option('--role <role>', 'all | receiver | worker', parseRole, 'all')
    .action(async (opts: { role: Role }) => {
      const config = loadConfig(io.env);
      const tty = io.stdout.isTTY === true;
      const log = createLogger(config.logLevel, io.logs, { format: logFormatFor(config.logFormat, tty), color: tty });
      const service = await startService(config, opts.role, log, { announce: io.err });
      for (const line of nextSteps(service, opts.role)) io.err(line);
      const signal = await io.untilStopped();
      log.info({ signal }, 'shutting down');
      await service.stop();
      io.exitCode = EXIT.ok;
    });
}
