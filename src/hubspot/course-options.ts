import type { Client } from '@hubspot/api-client';
import type { Option, OptionInput } from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import type { Redis } from 'ioredis';
import { recordKey } from '../redis/keys.ts';
import { RedisLock } from '../redis/lock.ts';
import type { HubSpotCall } from './call.ts';
import { ENROLLED_COURSES } from './properties.ts';

/** How long the option lock lives, and how long a writer waits for it at most. */
const LOCK_MS = 15_000;
const LOCK_WAIT_MS = LOCK_MS * 2;

/** What happened to a course's option. */
export type OptionChange = 'added' | 'renamed' | 'unchanged';

interface OptionLike {
  label: string;
  value: string;
  description?: string;
  displayOrder?: number;
  hidden?: boolean;
}

/** The option label for a course: its name, made unique (HubSpot refuses two options with one label). */
export function optionLabel(courseId: string, name: string | undefined, takenLabels: Set<string>): string {
  const base = name?.trim() || courseId;
  return takenLabels.has(base) ? `${base} (${courseId})` : base;
}

/** The options as HubSpot takes them back in a PATCH (every field set). */
function asInputs(options: OptionLike[]): OptionInput[] {
  return options.map((o, i) => ({
    label: o.label,
    value: o.value,
    description: o.description ?? '',
    displayOrder: o.displayOrder ?? i,
    hidden: !!o.hidden,
  }));
}

/**
 * The option list after giving course `courseId` the label `name` (unique among the other
 * labels, see optionLabel): added at the end when missing, relabelled when the name changed.
 */
export function withCourseOption(
  options: OptionLike[],
  courseId: string,
  name: string,
): { change: OptionChange; options: OptionInput[] } {
  const others = new Set(options.filter((o) => o.value !== courseId).map((o) => o.label));
  const label = optionLabel(courseId, name, others);
  const next = asInputs(options);
  const mine = next.find((o) => o.value === courseId);
  if (!mine) {
    next.push({ label, value: courseId, description: '', displayOrder: next.length, hidden: false });
    return { change: 'added', options: next };
  }
  if (mine.label === label) return { change: 'unchanged', options: next };
  mine.label = label;
  return { change: 'renamed', options: next };
}

/**
 * The options of the contacts' `loopwise_enrolled_courses` checkbox (value = course id, label =
 * course name). A value can only be written once its option exists, and changing options means
 * PATCHing the whole list, so every change — the contacts worker adding courses it meets, the
 * products worker labelling a course by its name — happens under one Redis lock and starts from a
 * fresh read of the property.
 */
export class CourseOptions {
  private known: Set<string> | undefined;
  private loading: Promise<void> | undefined;
  private readonly lockKey: string;
  private readonly locks: RedisLock;

  constructor(
    private readonly client: Client,
    private readonly call: HubSpotCall,
    redis: Redis,
    prefix: string,
  ) {
    this.lockKey = recordKey(prefix, 'hubspot', 'lock', ENROLLED_COURSES);
    this.locks = new RedisLock(redis);
  }

  /** True when `value` is a known option (as of the last read). */
  has(value: string): boolean {
    return !!this.known?.has(value);
  }

  /**
   * Makes sure every course in `courses` (id → name) has an option; `refresh` re-reads HubSpot first.
   * The first read of a process (or after `refresh`) is taken under the lock, so that the options
   * it finds missing are added from that same read: one GET, not one outside the lock and one in it.
   */
  async ensure(courses: Map<string, string | undefined>, refresh = false): Promise<void> {
    if (refresh) this.known = undefined;
    const missing = () => [...courses.keys()].filter((id) => !this.known!.has(id));
    // Concurrent batches share one first read.
    if (!this.known)
      await (this.loading ??= this.locks
        .withLock(this.lockKey, LOCK_MS, LOCK_WAIT_MS, async () => this.add(await this.load(), courses))
        .finally(() => (this.loading = undefined)));
    if (!missing().length) return;
    await this.locks.withLock(this.lockKey, LOCK_MS, LOCK_WAIT_MS, async () => {
      if (!missing().length) return; // added meanwhile by another batch of this process
      await this.add(await this.load(), courses);
    });
  }

  /** Adds the options of `courses` that `options` (just read, under the lock) lacks. */
  private async add(options: Option[], courses: Map<string, string | undefined>): Promise<void> {
    const add = [...courses.keys()].filter((id) => !options.some((o) => o.value === id));
    if (!add.length) return;
    const labels = new Set(options.map((o) => o.label));
    const next = asInputs(options);
    for (const id of add) {
      const label = optionLabel(id, courses.get(id), labels);
      labels.add(label);
      next.push({ label, value: id, description: '', displayOrder: next.length, hidden: false });
    }
    await this.write(next);
  }

  /**
   * Gives `course` an option labelled with its name: added when missing, relabelled when renamed
   * (one GET when nothing changes, GET + PATCH otherwise). `call` overrides the HubSpot call (the
   * products job sends under its course lease).
   */
  async label(course: { id: string; name: string }, call: HubSpotCall = this.call): Promise<OptionChange> {
    return this.locks.withLock(this.lockKey, LOCK_MS, LOCK_WAIT_MS, async () => {
      const { change, options } = withCourseOption(await this.load(call), course.id, course.name);
      if (change !== 'unchanged') await this.write(options, call);
      return change;
    });
  }

  private async load(call: HubSpotCall = this.call): Promise<Option[]> {
    const p = await call('properties.get', () =>
      this.client.crm.properties.coreApi.getByName('contacts', ENROLLED_COURSES),
    );
    this.known = new Set(p.options.map((o) => o.value));
    return p.options;
  }

  private async write(options: OptionInput[], call: HubSpotCall = this.call): Promise<void> {
    const updated = await call('properties.update', () =>
      this.client.crm.properties.coreApi.update('contacts', ENROLLED_COURSES, { options }),
    );
    this.known = new Set(updated.options.map((o) => o.value));
  }
}
