import type { HubSpotCall } from './call.ts';
import type { CourseAssociations, PairResult } from './course-associations.ts';
import type { CourseRecordIds } from './course-record-ids.ts';
import {
  courseRecordInput,
  upsertCourseRecords,
  type CourseFacts,
  type CourseRecordDeps,
  type CourseRecordResult,
} from './course-records.ts';
import type { CourseVersions } from './course-versions.ts';
import type { CoursesObject } from './courses-object.ts';

/** What the course records need; all injected, so the same code runs against the emulator. */
export interface CourseRecordsDeps extends CourseRecordDeps {
  object: Pick<CoursesObject, 'whyNot' | 'refused'>;
  ids: CourseRecordIds;
  associations: Pick<CourseAssociations, 'associate'>;
  /** The course versions the products worker applied: a course record made from an enrollment takes the applied name. */
  versions?: Pick<CourseVersions, 'get'>;
}

/** A course record written by this call: what was sent and what HubSpot answered. */
export interface CourseRecordWrite {
  recordId: string;
  created: boolean;
  properties: Record<string, string>;
}

/** One enrollment to associate: the key the caller knows it by, its student's contact and its course. */
export interface CourseLink {
  key: string;
  contactId: string;
  course: CourseFacts;
}

/** What became of one link. */
export type LinkOutcome =
  | { status: 'associated'; courseRecordId: string; written?: CourseRecordWrite }
  | { status: 'skipped'; reason: string }
  /** Not settled this time: try again later. */
  | { status: 'retry'; message: string; courseRecordId?: string }
  /** HubSpot refused the course record as sent: retrying cannot help. */
  | { status: 'rejected'; message: string };

/** What became of a course event's course record. */
export type CourseRecordOutcome =
  | ({ status: 'written' } & CourseRecordWrite)
  | { status: 'skipped'; reason: string }
  | { status: 'refused'; message: string; category: string };

type Got = { recordId: string; written?: CourseRecordWrite } | { error: string; category: string };

/**
 * The Courses object side of course-sync: a course record per course (from the course events, and
 * from an enrollment's course when its event never came) and each enrollment's student associated
 * with it. Course record ids come from Redis (course-record-ids.ts); a course seen for the first
 * time costs one upsert for every such course of a batch (shared by the batches in flight in this
 * process); the associations of a batch, one request per 100. A record deleted by hand is
 * recreated and the association sent again, once per batch.
 */
export class CourseRecords {
  private readonly inFlight = new Map<string, Promise<Got>>();

  constructor(private readonly deps: CourseRecordsDeps) {}

  /** Why course records are not written now, or undefined when they are. */
  private async off(): Promise<string | undefined> {
    const why = await this.deps.object.whyNot();
    return why && `Courses object not used: ${why}`;
  }

  /** Writes a course event's course record (under the products job's lease: `call`). */
  async write(course: CourseFacts, call: HubSpotCall = this.deps.call): Promise<CourseRecordOutcome> {
    const off = await this.off();
    if (off) return { status: 'skipped', reason: off };
    const input = courseRecordInput(course);
    try {
      const r = (await upsertCourseRecords({ ...this.deps, call }, [input])).get(course.id)!;
      if ('error' in r) return { status: 'refused', message: r.error, category: r.category };
      await this.deps.ids.set(new Map([[course.id, r.recordId]]));
      return { status: 'written', recordId: r.recordId, created: r.created, properties: input.properties };
    } catch (err) {
      if (await this.deps.object.refused(err))
        return { status: 'skipped', reason: 'Courses object refused by HubSpot (see the log)' };
      throw err;
    }
  }

  /**
   * Associates each link's contact with its course's record, writing the records it does not know.
   * Whole-call failures are thrown as HubSpotCallError (the batch is retried), except HubSpot
   * refusing the Courses object under `auto`, which skips the course records as if unused.
   */
  async link(links: CourseLink[]): Promise<Map<string, LinkOutcome>> {
    const out = new Map<string, LinkOutcome>();
    if (!links.length) return out;
    const off = await this.off();
    if (off) return new Map(links.map((l) => [l.key, { status: 'skipped', reason: off }]));
    try {
      const got = await this.recordIds(links.map((l) => l.course));
      const missing = await this.associate(links, got, out);
      if (missing.length) {
        const again = await this.recordIds(
          missing.map((l) => l.course),
          true,
        );
        for (const l of await this.associate(missing, again, out))
          out.set(l.key, {
            status: 'retry',
            message: `HubSpot says course record ${idOf(again.get(l.course.id))} of course ${l.course.id} does not exist right after it was written`,
            courseRecordId: idOf(again.get(l.course.id)),
          });
      }
      return out;
    } catch (err) {
      if (await this.deps.object.refused(err))
        return new Map(
          links.map((l) => [l.key, { status: 'skipped', reason: 'Courses object refused by HubSpot (see the log)' }]),
        );
      throw err;
    }
  }

  /** Associates the links whose course has a record; returns the links whose course record HubSpot says is gone (forgotten in Redis). */
  private async associate(
    links: CourseLink[],
    got: Map<string, Got>,
    out: Map<string, LinkOutcome>,
  ): Promise<CourseLink[]> {
    const ready: { link: CourseLink; recordId: string; written?: CourseRecordWrite }[] = [];
    for (const link of links) {
      const g = got.get(link.course.id)!;
      if ('error' in g)
        out.set(
          link.key,
          g.category === 'VALIDATION_ERROR'
            ? { status: 'rejected', message: g.error }
            : { status: 'retry', message: g.error },
        );
      else ready.push({ link, recordId: g.recordId, written: g.written });
    }
    const pairKey = (contactId: string, recordId: string) => `${contactId}>${recordId}`;
    const pairs = [
      ...new Map(
        ready.map((r) => [
          pairKey(r.link.contactId, r.recordId),
          { contactId: r.link.contactId, recordId: r.recordId },
        ]),
      ).values(),
    ];
    const results = new Map<string, PairResult>();
    (await this.deps.associations.associate(pairs)).forEach((r, i) =>
      results.set(pairKey(pairs[i]!.contactId, pairs[i]!.recordId), r),
    );
    const gone: CourseLink[] = [];
    for (const r of ready) {
      const res = results.get(pairKey(r.link.contactId, r.recordId))!;
      if ('ok' in res)
        out.set(r.link.key, {
          status: 'associated',
          courseRecordId: r.recordId,
          ...(r.written ? { written: r.written } : {}),
        });
      else if ('error' in res) out.set(r.link.key, { status: 'retry', message: res.error, courseRecordId: r.recordId });
      else if (res.missing === 'contact')
        out.set(r.link.key, {
          status: 'retry',
          message: `HubSpot says contact ${r.link.contactId} does not exist (deleted while it was written); the next attempt writes it again`,
          courseRecordId: r.recordId,
        });
      else gone.push(r.link);
    }
    await this.deps.ids.forget([...new Set(gone.map((l) => l.course.id))]);
    return gone;
  }

  /**
   * The record id of each course: remembered in Redis, else upserted (one request for the batch's
   * unknown courses; a course already being upserted by another batch of this process waits for
   * that). `fresh`: upsert every one (its record was deleted by hand).
   */
  private async recordIds(courses: CourseFacts[], fresh = false): Promise<Map<string, Got>> {
    const unique = [...new Map(courses.map((c) => [c.id, c])).values()];
    const waiting = new Map(
      fresh ? [] : unique.flatMap((c) => (this.inFlight.has(c.id) ? [[c.id, this.inFlight.get(c.id)!] as const] : [])),
    );
    const todo = unique.filter((c) => !waiting.has(c.id));
    const done = this.fetch(todo, fresh);
    for (const c of todo) {
      const one = done.then((m) => m.get(c.id)!);
      this.inFlight.set(c.id, one);
      void one.catch(() => undefined).finally(() => this.inFlight.get(c.id) === one && this.inFlight.delete(c.id));
    }
    const out = new Map<string, Got>();
    const mine = await done;
    for (const c of unique) out.set(c.id, waiting.has(c.id) ? await waiting.get(c.id)! : mine.get(c.id)!);
    return out;
  }

  private async fetch(courses: CourseFacts[], fresh: boolean): Promise<Map<string, Got>> {
    const out = new Map<string, Got>();
    if (!courses.length) return out;
    const known = fresh ? new Map<string, string>() : await this.deps.ids.get(courses.map((c) => c.id));
    for (const [id, recordId] of known) out.set(id, { recordId });
    const unknown = courses.filter((c) => !known.has(c.id));
    if (!unknown.length) return out;
    const inputs = await Promise.all(
      unknown.map(async (c) => {
        const applied = await this.deps.versions?.get(c.id);
        return courseRecordInput({
          id: c.id,
          name: applied?.name || c.name,
          slug: c.slug,
          description: c.description,
          state: c.state,
        });
      }),
    );
    const written = await upsertCourseRecords(this.deps, inputs);
    const ids = new Map<string, string>();
    for (const input of inputs) {
      const r: CourseRecordResult = written.get(input.id)!;
      if ('error' in r) out.set(input.id, r);
      else {
        ids.set(input.id, r.recordId);
        out.set(input.id, {
          recordId: r.recordId,
          written: { recordId: r.recordId, created: r.created, properties: input.properties },
        });
      }
    }
    await this.deps.ids.set(ids);
    return out;
  }
}

const idOf = (g: Got | undefined) => (g && 'recordId' in g ? g.recordId : '?');
