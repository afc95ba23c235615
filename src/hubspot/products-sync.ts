import { createHash } from 'node:crypto';
import type { Client } from '@hubspot/api-client';
import { instantOf } from '../events/timestamps.ts';
import type { Course } from '../events/types.ts';
import type { KeptLease } from '../redis/lock.ts';
import type { HubSpotCall } from './call.ts';
import type { CourseOptions, OptionChange } from './course-options.ts';
import type { CourseLease, CourseVersions } from './course-versions.ts';
import type { CourseRecordOutcome, CourseRecords } from './courses-sync.ts';
import { productInputs, type ProductMappingOptions, type ProductUpsertInput } from './product-mapping.ts';
import { archiveProducts, findProducts, upsertProducts, type ProductRecordError } from './products-api.ts';

/** What the products sync needs; all injected, so it runs against the emulator in tests. */
export interface ProductsSyncDeps {
  client: Client;
  /** Every HubSpot request goes through this (shared request budget, metrics, classification). */
  call: HubSpotCall;
  versions: CourseVersions;
  options: CourseOptions;
  /** Makes sure the custom product properties exist (once per process). */
  setup: { ensure(): Promise<unknown> };
  mapping: ProductMappingOptions;
  /** The course's record in HubSpot's Courses object, written with its products (HUBSPOT_COURSES_OBJECT). */
  courseRecords?: Pick<CourseRecords, 'write'>;
}

/** A course ready to sync: its version instant, its product inputs and their digest. */
export interface PreparedCourse {
  course: Course;
  at: number;
  inputs: ProductUpsertInput[];
  planIds: string[];
  digest: string;
}

/** What one sync of a course came to. */
export type ProductsSyncResult =
  | {
      status: 'written';
      products: { planId: string; productId: string; created: boolean }[];
      archived: { planId: string; productId: string }[];
      option: OptionChange | 'kept';
      courseRecord?: CourseRecordOutcome;
    }
  | { status: 'skipped'; reason: 'stale' | 'duplicate'; appliedAt: number }
  /** HubSpot refused records as sent (validation): retrying cannot help. */
  | { status: 'rejected'; message: string }
  /** Some records were not written for another reason: try again (the version is recorded without its digest). */
  | { status: 'incomplete'; message: string };

/** The course cannot be mapped to products (a bad timestamp or amount): retrying cannot help. */
export class CourseMappingError extends Error {
  constructor(courseId: string, reason: string) {
    super(`Course ${courseId} cannot be mapped: ${reason}`);
    this.name = 'CourseMappingError';
  }
}

/** The course lock lapsed before a request: another job may own the course now, so nothing is written. */
export class LeaseLostError extends Error {
  constructor(when = 'before a HubSpot request') {
    super(`lost the course lock ${when}; retrying`);
    this.name = 'LeaseLostError';
  }
}

/** HubSpot categories that mean the record as sent is invalid: retrying cannot help. */
const INVALID = new Set(['VALIDATION_ERROR', 'INVALID_PROPERTY', 'PROPERTY_DOESNT_EXIST']);

function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

function describe(errors: ProductRecordError[]): string {
  return errors.map((e) => `plan ${e.planIds.join(', ')}: ${e.category}: ${e.message}`).join('; ');
}

/** Maps a course to its products and version; throws CourseMappingError when it cannot be. */
export function prepareCourse(course: Course, mapping: ProductMappingOptions): PreparedCourse {
  try {
    const at = instantOf(course.updated_at);
    const inputs = productInputs(course, mapping);
    return { course, at, inputs, planIds: inputs.map((i) => i.id), digest: digestOf({ name: course.name, inputs }) };
  } catch (err) {
    throw new CourseMappingError(course.id, (err as Error).message);
  }
}

/** A HubSpotCall that refuses to send once the course lock is lost (checked after the budget wait). */
function leasedCall(call: HubSpotCall, kept: KeptLease): HubSpotCall {
  return (operation, request) =>
    call(operation, () => {
      if (kept.lost) throw new LeaseLostError();
      return request();
    });
}

/** Archives the live products of `planIds` that still belong to `courseId`. */
async function archiveRemoved(
  client: Client,
  call: HubSpotCall,
  courseId: string,
  planIds: string[],
): Promise<{ planId: string; productId: string }[]> {
  if (!planIds.length) return [];
  const found = await findProducts(client, call, planIds);
  const gone = [...found]
    .filter(([, p]) => !p.courseId || p.courseId === courseId)
    .map(([planId, p]) => ({ planId, productId: p.productId }));
  if (gone.length)
    await archiveProducts(
      client,
      call,
      gone.map((g) => g.productId),
    );
  return gone;
}

/**
 * One course event → one HubSpot product per plan, under the course's lease (held by the caller and
 * kept alive as `kept`). Compares the event's `updated_at` instant with the last applied one: older →
 * skipped ('stale'); same instant and same content → skipped ('duplicate'); otherwise upserts the
 * products by loopwise_plan_id, archives products of plans that left the course, labels the course's
 * contact-property option on create/rename, and records the version (without its digest when
 * incomplete, so a retry applies it again). Whole-call failures are thrown as HubSpotCallError
 * (its cause a LeaseLostError when the lock lapsed); a lost lock at commit throws LeaseLostError.
 */
export async function syncCourseProducts(
  deps: ProductsSyncDeps,
  prepared: PreparedCourse,
  lease: CourseLease,
  kept: KeptLease,
): Promise<ProductsSyncResult> {
  const { course, at, inputs, planIds, digest } = prepared;
  const decision = await deps.versions.decide(course.id, at, digest, planIds);
  if (decision.action === 'skip')
    return { status: 'skipped', reason: decision.reason, appliedAt: decision.previous.at };

  const call = leasedCall(deps.call, kept);
  await deps.setup.ensure();
  const option = decision.previous?.name === course.name ? 'kept' : await deps.options.label(course, call);
  const upserted = await upsertProducts(deps.client, call, inputs);
  const archived = await archiveRemoved(deps.client, call, course.id, decision.removedPlanIds);
  const courseRecord = await deps.courseRecords?.write(course, call);
  const recordRefused = courseRecord?.status === 'refused' ? courseRecord : undefined;

  const complete = upserted.errors.length === 0 && !recordRefused;
  if (!(await deps.versions.commit(lease, { at, digest: complete ? digest : '', planIds, name: course.name })))
    throw new LeaseLostError('before recording the version');
  const invalid = upserted.errors.filter((e) => INVALID.has(e.category));
  if (invalid.length) return { status: 'rejected', message: `HubSpot rejected ${describe(invalid)}` };
  if (recordRefused)
    return {
      status: INVALID.has(recordRefused.category) ? 'rejected' : 'incomplete',
      message: `HubSpot refused the course record: ${recordRefused.message}`,
    };
  if (!complete) return { status: 'incomplete', message: `HubSpot could not write ${describe(upserted.errors)}` };
  return { status: 'written', products: upserted.written, archived, option, ...(courseRecord ? { courseRecord } : {}) };
}
