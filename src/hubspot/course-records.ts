import type { Client } from '@hubspot/api-client';
import { inputOfResult, inputsInMessage, inputsNamed, withTraceIds } from './batch-write.ts';
import type { HubSpotCall } from './call.ts';
import { HubSpotCallError } from './errors.ts';

/**
 * Course records: HubSpot's Courses object (object type 0-410, from its object library), one record
 * per Loopwise course, upserted by the unique custom property `loopwise_course_id`. The name and
 * description go to HubSpot's own `hs_course_name` and `hs_course_description` (the courses
 * guide), slug and state to course-sync's `loopwise_course_slug` and `loopwise_course_state`.
 */
export const COURSE_OBJECT = '0-410';
export const COURSE_ID_PROPERTY = 'loopwise_course_id';

/** What course-sync knows of a course: all of it from a course event, id, name and slug from an enrollment. */
export interface CourseFacts {
  id: string;
  name?: string | null;
  description?: string | null;
  slug?: string | null;
  state?: string | null;
}

/** One input of `POST /crm/v3/objects/0-410/batch/upsert`. */
export interface CourseRecordInput {
  idProperty: typeof COURSE_ID_PROPERTY;
  id: string;
  properties: Record<string, string>;
}

/** What became of one course record: written (its HubSpot id), or refused with HubSpot's words. */
export type CourseRecordResult = { recordId: string; created: boolean } | { error: string; category: string };

/** HubSpot's largest batch. */
const BATCH = 100;

function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
}

/** A course as a course record upsert; empty values are left out, so they never blank what HubSpot has. */
export function courseRecordInput(course: CourseFacts): CourseRecordInput {
  const props: Record<string, string | undefined> = {
    [COURSE_ID_PROPERTY]: course.id,
    hs_course_name: text(course.name),
    hs_course_description: text(course.description),
    loopwise_course_slug: text(course.slug),
    loopwise_course_state: text(course.state),
  };
  const properties = Object.fromEntries(Object.entries(props).filter((e): e is [string, string] => e[1] !== undefined));
  return { idProperty: COURSE_ID_PROPERTY, id: course.id, properties };
}

/** A refusal that a property set-up repairs: the unique id property or another of ours is missing. */
function needsSetup(err: unknown): boolean {
  if (!(err instanceof HubSpotCallError) || err.failure.kind !== 'rejected' || err.failure.status !== 400) return false;
  return /PROPERTY_DOESNT_EXIST|non-unique|does not exist/i.test(err.failure.message);
}

/**
 * A 400 about the records sent (a value HubSpot does not take), not about the object: "Unable to
 * infer object type" says the Courses object is not there, which the caller's switch handles.
 */
function isRecordRefusal(err: unknown): err is HubSpotCallError {
  if (!(err instanceof HubSpotCallError) || err.failure.kind !== 'rejected' || err.failure.status !== 400) return false;
  return !/unable to infer object type/i.test(err.failure.message);
}

const courseIdOf = (i: CourseRecordInput) => i.id;

/** What upserting course records needs. */
export interface CourseRecordDeps {
  client: Client;
  call: HubSpotCall;
  /** The course record properties' set-up (run when HubSpot says one is missing, once per write). */
  setup: { ensure(): Promise<unknown>; forget(): void };
}

/**
 * Upserts course records by `loopwise_course_id`, at most 100 per request, each input with an
 * `objectWriteTraceId` (batch-write.ts), and returns each course's record id or refusal. A 400
 * naming a missing property runs the course property set-up (`hubspot setup` does it beforehand;
 * a portal that activated the object later needs no manual step) and sends the batch once more;
 * another 400 is narrowed down to the courses it refuses. Other whole-call failures are thrown as
 * HubSpotCallError.
 */
export async function upsertCourseRecords(
  deps: CourseRecordDeps,
  inputs: CourseRecordInput[],
): Promise<Map<string, CourseRecordResult>> {
  const out = new Map<string, CourseRecordResult>();
  for (let i = 0; i < inputs.length; i += BATCH) await upsertBatch(deps, inputs.slice(i, i + BATCH), out, false);
  return out;
}

async function upsertBatch(
  deps: CourseRecordDeps,
  batch: CourseRecordInput[],
  out: Map<string, CourseRecordResult>,
  repaired: boolean,
): Promise<void> {
  const traced = withTraceIds(batch);
  let res;
  try {
    res = await deps.call('courses.upsert', () =>
      deps.client.crm.objects.batchApi.upsert(COURSE_OBJECT, { inputs: traced }),
    );
  } catch (err) {
    if (needsSetup(err)) {
      if (repaired) throw err;
      deps.setup.forget();
      await deps.setup.ensure();
      return upsertBatch(deps, batch, out, true);
    }
    if (!isRecordRefusal(err)) throw err;
    // A whole-batch refusal of what was sent (HubSpot may answer invalid values so, behaviour.ts
    // `invalidValues`): narrowed down as for products, until each refused course stands alone.
    const { message, category } = err.failure as { message: string; category?: string };
    if (batch.length === 1) {
      out.set(batch[0]!.id, { error: message, category: category ?? 'VALIDATION_ERROR' });
      return;
    }
    const named = inputsInMessage(message, batch, courseIdOf);
    const half = Math.ceil(batch.length / 2);
    const parts =
      named.length && named.length < batch.length
        ? [...named.map((i) => [i]), batch.filter((i) => !named.includes(i))]
        : [batch.slice(0, half), batch.slice(half)];
    for (const part of parts) await upsertBatch(deps, part, out, repaired);
    return;
  }
  for (const r of res.results) {
    const input = inputOfResult(r, traced, courseIdOf, r.properties[COURSE_ID_PROPERTY] ?? undefined);
    if (input) out.set(input.id, { recordId: r.id, created: r._new });
  }
  for (const e of ('errors' in res ? res.errors : undefined) ?? []) {
    const named = inputsNamed(e, traced, courseIdOf);
    for (const input of named.length ? named : traced.filter((t) => !out.has(t.id)))
      out.set(input.id, { error: `HubSpot 207 ${e.category}: ${e.message}`, category: e.category });
  }
  for (const input of batch)
    if (!out.has(input.id))
      out.set(input.id, { error: 'HubSpot answered without this course record', category: 'MISSING' });
}
