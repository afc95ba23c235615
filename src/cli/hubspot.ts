import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { createHubSpotCall } from '../hubspot/call.ts';
import { createHubSpotClient } from '../hubspot/client.ts';
import { HubSpotCallError } from '../hubspot/errors.ts';
import { ensureHubSpotSetup, type SetupReport } from '../hubspot/setup.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';

const NOTE = `
Creates the "loopwise" property group and course-sync's custom properties on contacts and
products (see docs/hubspot.md); what exists already is left as it is.
Needs HUBSPOT_ACCESS_TOKEN (scopes crm.schemas.contacts.write, crm.schemas.products.write) and
HUBSPOT_BASE_URL (default https://api.hubapi.com). The workers run the same check at start-up.
Exit codes: 0 done; 1 a property exists with another type, or HubSpot refused; 2 token missing
or refused (401/403); 3 HubSpot unreachable.`;

/** The lines `hubspot setup` prints for a report. */
export function formatSetupReport(report: SetupReport): string[] {
  return [
    ...report.created.map((c) => `created  ${c}`),
    ...report.existing.map((c) => `exists   ${c}`),
    ...report.mismatched.map((c) => `DIFFERS  ${c}`),
    `${report.created.length} created, ${report.existing.length} already existed${report.mismatched.length ? `, ${report.mismatched.length} differ from what course-sync expects` : ''}`,
  ];
}

/** Registers `course-sync hubspot setup`. */
export function registerHubSpot(program: Command, io: CliIO): void {
  const hubspot = program.command('hubspot').description('HubSpot portal set-up');
  hubspot
    .command('setup')
    .description('create the loopwise property group and properties on contacts and products (idempotent)')
    .addHelpText('after', NOTE)
    .action(async () => {
      const env = io.env;
      if (!env.HUBSPOT_ACCESS_TOKEN)
        throw new ConfigError('HUBSPOT_ACCESS_TOKEN', 'is not set: hubspot setup needs a private-app token');
      // Only the HubSpot keys matter here; the other credentials are not needed for this command.
      const config = loadConfig({
        ...env,
        SENDGRID_API_KEY: env.SENDGRID_API_KEY || 'unused',
        WEBHOOK_SECRET: env.WEBHOOK_SECRET || 'unused',
      });
      const client = createHubSpotClient(config.hubspot);
      try {
        const report = await ensureHubSpotSetup(client, createHubSpotCall({}));
        for (const line of formatSetupReport(report)) io.out(line);
        io.exitCode = report.mismatched.length ? EXIT.problem : EXIT.ok;
      } catch (err) {
        if (!(err instanceof HubSpotCallError)) throw err;
        io.err(`course-sync hubspot setup: ${err.message}`);
        const kind = err.failure.kind;
        io.exitCode =
          kind === 'auth'
            ? EXIT.usage
            : kind === 'transient' && err.failure.status === undefined
              ? EXIT.unavailable
              : EXIT.problem;
      }
    });
}
