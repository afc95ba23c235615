import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';

/**
 * How long a course's HubSpot course record id is remembered after it was last written or used:
 * 30 days. Past that, the next enrollment of the course upserts the record again (one request for
 * up to 100 courses), which answers the id.
 */
export const COURSE_RECORD_ID_TTL_SECONDS = 30 * 86_400;

/**
 * Each Loopwise course's HubSpot course record id (`<prefix>:cs:course-record:<course id>` → the
 * record id; no personal data), so an enrollment is associated with its course record without a
 * read per batch. Written when a course record is upserted, renewed when used, forgotten when
 * HubSpot says the record is gone (deleted by hand), and lapsing after COURSE_RECORD_ID_TTL_SECONDS.
 */
export class CourseRecordIds {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds = COURSE_RECORD_ID_TTL_SECONDS,
  ) {}

  private key(courseId: string): string {
    return recordKey(this.prefix, 'course-record', courseId);
  }

  /** The known record ids of these courses (renewing each one found). */
  async get(courseIds: string[]): Promise<Map<string, string>> {
    if (!courseIds.length) return new Map();
    const pipe = this.redis.pipeline();
    for (const id of courseIds) pipe.getex(this.key(id), 'EX', this.ttlSeconds);
    const found = (await pipe.exec())!.map(([err, v]) => {
      if (err) throw err;
      return v as string | null;
    });
    return new Map(courseIds.flatMap((id, i) => (found[i] ? [[id, found[i]] as [string, string]] : [])));
  }

  /** Remembers record ids by course id. */
  async set(ids: Map<string, string>): Promise<void> {
    if (!ids.size) return;
    const pipe = this.redis.pipeline();
    for (const [courseId, recordId] of ids) pipe.set(this.key(courseId), recordId, 'EX', this.ttlSeconds);
    await pipe.exec();
  }

  /** Forgets these courses' record ids (HubSpot says the records are gone). */
  async forget(courseIds: string[]): Promise<void> {
    if (courseIds.length) await this.redis.del(...courseIds.map((id) => this.key(id)));
  }
}
