import type { Client } from '@hubspot/api-client';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { createHubSpotCall, type HubSpotCall } from '../hubspot/call.ts';
import { createHubSpotClient } from '../hubspot/client.ts';
import { HubSpotCallError } from '../hubspot/errors.ts';
import { describeMappingProblem } from '../hubspot/contact-mapping-fit.ts';
import { readCoursesEnablement, type CoursesMode } from '../hubspot/courses-object.ts';
import { checkMappingAgainstPortal } from '../hubspot/portal-checks.ts';
import type { CrmObjectType } from '../hubspot/properties.ts';
import { ensureHubSpotSetup, type SetupReport } from '../hubspot/setup.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';

const NOTE = `
Creates the "loopwise" property group and course-sync's custom properties on contacts and
products, and on course records when the Courses object is active (HUBSPOT_COURSES_OBJECT); see
docs/hubspot.md. What exists already is left as it is. Refuses, changing nothing, when a property
the contact mapping (HUBSPOT_CONTACT_MAPPING) names is missing from the portal or does not take
what is written to it.
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

/** The object types to set up, and what to say about course records (HUBSPOT_COURSES_OBJECT and the portal's Courses object). */
async function coursesPlan(
  client: Client,
  call: HubSpotCall,
  mode: CoursesMode,
): Promise<{ types: CrmObjectType[]; line?: string; problem?: boolean }> {
  const base: CrmObjectType[] = ['contacts', 'products'];
  if (mode === 'off') return { types: base };
  let active: boolean;
  try {
    active = await readCoursesEnablement(client, call);
  } catch (err) {
    return {
      types: base,
      line: `unknown  courses: could not ask HubSpot whether the Courses object is active (${(err as Error).message.split('\n')[0]})`,
      problem: mode === 'on',
    };
  }
  if (active) return { types: [...base, 'courses'] };
  const how = 'a super admin activates it in Settings → Objects → Courses, then run this again';
  return {
    types: base,
    line: `skipped  courses: the Courses object (0-410) is not active in this portal (${how})`,
    problem: mode === 'on',
  };
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
      const call = createHubSpotCall({});
      try {
        // The contact mapping first: nothing is changed in a portal it does not fit.
        const misfits = await checkMappingAgainstPortal(client, call, config.hubspot.contactMapping);
        if (misfits.length) {
          for (const m of misfits) io.out(`REFUSED  ${describeMappingProblem(m)}`);
          io.err(
            `course-sync hubspot setup: the contact mapping ${config.hubspot.contactMapping.path} does not fit this portal (${misfits.map((m) => m.property).join(', ')}); nothing was changed`,
          );
          io.exitCode = EXIT.problem;
          return;
        }
        const courses = await coursesPlan(client, call, config.hubspot.coursesObject);
        if (courses.line) io.out(courses.line);
        const report = await ensureHubSpotSetup(client, call, courses.types);
        for (const line of formatSetupReport(report)) io.out(line);
        io.exitCode = report.mismatched.length || courses.problem ? EXIT.problem : EXIT.ok;
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
