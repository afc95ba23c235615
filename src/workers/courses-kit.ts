import { CourseAssociations } from '../hubspot/course-associations.ts';
import { CourseRecordIds } from '../hubspot/course-record-ids.ts';
import { CourseVersions } from '../hubspot/course-versions.ts';
import { CoursesObject } from '../hubspot/courses-object.ts';
import { CourseRecords } from '../hubspot/courses-sync.ts';
import { setupOnce } from '../hubspot/setup.ts';
import type { WorkerDeps } from './deps.ts';
import type { HubSpotKit, HubSpotWorkerOptions } from './hubspot-kit.ts';

/** A HubSpot worker's course records (HUBSPOT_COURSES_OBJECT), and the Courses object check it runs at start. */
export interface CoursesKit {
  records: CourseRecords;
  object: CoursesObject;
}

/**
 * Builds the course records a HubSpot worker writes (contacts: from enrollments, and the
 * associations; products: from course events), on the worker's client and call (the shared budget),
 * and checks the Courses object once: under `on`, a portal without it stops start-up
 * (ConfigError naming HUBSPOT_COURSES_OBJECT), and the worker's kit is stopped first.
 */
export async function startCoursesKit(
  deps: WorkerDeps,
  kit: HubSpotKit,
  opts: HubSpotWorkerOptions,
): Promise<CoursesKit> {
  const { config, log } = deps;
  const { client, call } = kit;
  const prefix = config.redis.prefix;
  const object = new CoursesObject({
    mode: config.hubspot.coursesObject,
    client,
    call,
    redis: deps.redis,
    prefix,
    log,
    now: opts.clock ? () => opts.clock!.now() : undefined,
  });
  const records = new CourseRecords({
    client,
    call,
    setup: setupOnce(client, call, ['courses']),
    object,
    ids: new CourseRecordIds(deps.redis, prefix),
    associations: new CourseAssociations(client, call),
    versions: new CourseVersions(deps.redis, prefix),
  });
  try {
    await object.start();
  } catch (err) {
    await kit.stop();
    throw err;
  }
  return { records, object };
}
