import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@hubspot/api-client';
import type { OptionInput } from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import type { Redis } from 'ioredis';
import type { HubSpotCall } from './call.ts';
import { optionLabel } from './course-options.ts';
import { ENROLLED_COURSES } from './properties.ts';
import { recordKey } from '../redis/keys.ts';

/** What happened to a course's option. */
export type OptionChange = 'added' | 'renamed' | 'unchanged';

interface OptionLike {
  label: string;
  value: string;
  description?: string;
  displayOrder?: number;
  hidden?: boolean;
}

const LOCK_MS = 15_000;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * The option list after giving course `courseId` the label `name` (unique among the other
 * labels, see optionLabel): added at the end when missing, relabelled when the name changed.
 */
export function withCourseOption(options: OptionLike[], courseId: string, name: string): { change: OptionChange; options: OptionInput[] } {
  const others = new Set(options.filter((o) => o.value !== courseId).map((o) => o.label));
  const label = optionLabel(courseId, name, others);
  const next: OptionInput[] = options.map((o, i) => ({ label: o.label, value: o.value, description: o.description ?? '', displayOrder: o.displayOrder ?? i, hidden: !!o.hidden }));
  const mine = next.find((o) => o.value === courseId);
  if (!mine) {
    next.push({ label, value: courseId, description: '', displayOrder: next.length, hidden: false });
    return { change: 'added', options: next };
  }
  if (mine.label === label) return { change: 'unchanged', options: next };
  mine.label = label;
  return { change: 'renamed', options: next };
}

/** What `labelCourseOption` needs; the lock key is the one CourseOptions (course-options.ts) uses. */
export interface CourseOptionDeps {
  client: Client;
  call: HubSpotCall;
  redis: Redis;
  prefix: string;
}

async function readOptions({ client, call }: CourseOptionDeps): Promise<OptionLike[]> {
  return (await call('properties.get', () => client.crm.properties.coreApi.getByName('contacts', ENROLLED_COURSES))).options;
}

/**
 * Makes the contact property `loopwise_enrolled_courses` have an option for the course whose
 * label is the course's name. A PATCH replaces the whole option list, so the read and the change
 * happen under the same Redis lock the contacts worker takes to add options (one GET when nothing
 * changes, GET + PATCH otherwise).
 */
export async function labelCourseOption(deps: CourseOptionDeps, course: { id: string; name: string }): Promise<OptionChange> {
  const key = recordKey(deps.prefix, 'hubspot', 'lock', ENROLLED_COURSES);
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + LOCK_MS * 2;
  while ((await deps.redis.set(key, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`could not lock the ${ENROLLED_COURSES} options within ${LOCK_MS * 2} ms`);
    await sleep(25 + Math.floor(Math.random() * 25));
  }
  try {
    const { change, options } = withCourseOption(await readOptions(deps), course.id, course.name);
    if (change !== 'unchanged') {
      await deps.call('properties.update', () => deps.client.crm.properties.coreApi.update('contacts', ENROLLED_COURSES, { options }));
    }
    return change;
  } finally {
    await deps.redis.eval(RELEASE, 1, key, token);
  }
}
