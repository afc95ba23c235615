import type { Client } from '@hubspot/api-client';
import type { Config } from '../config.ts';
import { createHubSpotCall } from '../hubspot/call.ts';
import { describeMappingProblem } from '../hubspot/contact-mapping-fit.ts';
import { COURSE_OBJECT } from '../hubspot/course-records.ts';
import { readCoursesEnablement } from '../hubspot/courses-object.ts';
import { checkMappingAgainstPortal, COURSE_SCOPES, readTokenScopes } from '../hubspot/portal-checks.ts';
import { ok, problem, unknown, type CheckResult } from './check.ts';

const NAME = 'HubSpot Courses object';
const ACTIVATE =
  'a super admin activates it in HubSpot: Settings → Objects → Courses (course-sync notices within 5 minutes; then run `course-sync hubspot setup`)';

/** Why a call failed, in a few words. */
const why = (err: unknown) => (err as Error).message.split('\n')[0]!.slice(0, 160);

/**
 * Whether course records are written: the mode, whether the portal has the Courses object active
 * (the object library's enablement endpoint) and whether the token has its scopes. Under `auto`
 * an inactive object is no problem: contacts and products are written as without it.
 */
export async function checkCoursesObject(
  client: Client,
  hubspot: Pick<Config['hubspot'], 'coursesObject' | 'accessToken'>,
): Promise<CheckResult> {
  const mode = hubspot.coursesObject;
  if (mode === 'off')
    return {
      name: NAME,
      status: 'skipped',
      detail:
        'HUBSPOT_COURSES_OBJECT=off: no course records; students reach HubSpot as contacts with their course list (loopwise_enrolled_courses)',
    };
  const call = createHubSpotCall({});
  let active: boolean;
  try {
    active = await readCoursesEnablement(client, call);
  } catch (err) {
    return unknown(
      NAME,
      `could not ask HubSpot whether it is active (${why(err)})`,
      "check the token (doctor's other HubSpot lines) and run the doctor again",
    );
  }
  if (!active) {
    const detail = `not active in the portal (${COURSE_OBJECT})`;
    if (mode === 'on')
      return problem(
        NAME,
        `${detail}, and HUBSPOT_COURSES_OBJECT=on: course-sync will not start`,
        `${ACTIVATE}; or set HUBSPOT_COURSES_OBJECT=auto`,
      );
    return {
      name: NAME,
      status: 'skipped',
      detail: `${detail}: today's behaviour applies (contacts with their course list and products, no course records)`,
      fix: `to use it, ${ACTIVATE}`,
    };
  }
  let scopes: string[];
  try {
    scopes = await readTokenScopes(client, call, hubspot.accessToken ?? '');
  } catch (err) {
    return unknown(
      NAME,
      `active (${COURSE_OBJECT}); the token's scopes could not be read (${why(err)})`,
      `make sure the private app has the scopes ${COURSE_SCOPES.join(' and ')}`,
    );
  }
  const lacking = COURSE_SCOPES.filter((s) => !scopes.includes(s));
  if (lacking.length)
    return problem(
      NAME,
      `active (${COURSE_OBJECT}) but the token lacks ${lacking.join(' and ')}${mode === 'auto' ? ': course records are not written' : ''}`,
      `give the private app the scopes ${COURSE_SCOPES.join(' and ')} (Settings → Integrations → Private apps → Scopes)`,
    );
  return ok(
    NAME,
    `active (${COURSE_OBJECT}), the token has ${COURSE_SCOPES.join(' and ')}: each course is a course record with its students associated`,
  );
}

/** Whether every property of the contact mapping exists in the portal and takes what is written to it. */
export async function checkContactMapping(
  client: Client,
  spec: Config['hubspot']['contactMapping'],
): Promise<CheckResult> {
  const name = 'HubSpot contact mapping';
  let problems;
  try {
    problems = await checkMappingAgainstPortal(client, createHubSpotCall({}), spec);
  } catch (err) {
    return unknown(name, `the portal's contact properties could not be read (${why(err)})`);
  }
  if (!problems.length) return ok(name, `the ${spec.entries.length} properties of ${spec.path} fit the portal`);
  return problem(
    name,
    `${problems.length} of the properties of ${spec.path} do not fit the portal: ${problems.map(describeMappingProblem).join('; ')}`,
    'create or change the properties in HubSpot (Settings → Properties), or change the mapping (HUBSPOT_CONTACT_MAPPING); `course-sync hubspot setup` refuses to run until they fit',
  );
}
