import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@hubspot/api-client';
import type { Option } from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import type { Redis } from 'ioredis';
import type { HubSpotCall } from './call.ts';
import { ENROLLED_COURSES } from './properties.ts';
import { recordKey } from '../redis/keys.ts';

const LOCK_MS = 15_000;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** The option label for a course: its name, made unique (HubSpot refuses two options with one label). */
export function optionLabel(courseId: string, name: string | undefined, takenLabels: Set<string>): string {
  const base = name?.trim() || courseId;
  return takenLabels.has(base) ? `${base} (${courseId})` : base;
}

/**
 * The options of the contacts' `loopwise_enrolled_courses` checkbox (value = course id, label =
 * course name). A value can only be written once its option exists, and adding options means
 * PATCHing the whole list, so additions are serialised across processes with a Redis lock and
 * always start from a fresh read of the property.
 */
export class CourseOptions {
  private known: Set<string> | undefined;
  private loading: Promise<Option[]> | undefined;
  private readonly lockKey: string;

  constructor(
    private readonly client: Client,
    private readonly call: HubSpotCall,
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.lockKey = recordKey(prefix, 'hubspot', 'lock', ENROLLED_COURSES);
  }

  /** True when `value` is a known option (as of the last read). */
  has(value: string): boolean {
    return !!this.known?.has(value);
  }

  /** Makes sure every course in `courses` (id → name) has an option; `refresh` re-reads HubSpot first. */
  async ensure(courses: Map<string, string | undefined>, refresh = false): Promise<void> {
    if (refresh) this.known = undefined;
    // Concurrent batches share one read of the property.
    if (!this.known) await (this.loading ??= this.load().finally(() => (this.loading = undefined)));
    const missing = () => [...courses.keys()].filter((id) => !this.known!.has(id));
    if (!missing().length) return;
    await this.withLock(async () => {
      if (!missing().length) return; // added meanwhile by another batch of this process
      const options = await this.load();
      const add = missing();
      if (!add.length) return;
      const labels = new Set(options.map((o) => o.label));
      const next = options.map((o) => ({ label: o.label, value: o.value, description: o.description, displayOrder: o.displayOrder, hidden: o.hidden }));
      for (const id of add) {
        const label = optionLabel(id, courses.get(id), labels);
        labels.add(label);
        next.push({ label, value: id, description: '', displayOrder: next.length, hidden: false });
      }
      const updated = await this.call('properties.update', () => this.client.crm.properties.coreApi.update('contacts', ENROLLED_COURSES, { options: next }));
      this.known = new Set(updated.options.map((o) => o.value));
    });
  }

  private async load(): Promise<Option[]> {
    const p = await this.call('properties.get', () => this.client.crm.properties.coreApi.getByName('contacts', ENROLLED_COURSES));
    this.known = new Set(p.options.map((o) => o.value));
    return p.options;
  }

  private async withLock(fn: () => Promise<void>): Promise<void> {
    const token = randomBytes(8).toString('hex');
    const deadline = Date.now() + LOCK_MS * 2;
    while ((await this.redis.set(this.lockKey, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new Error(`could not lock the ${ENROLLED_COURSES} options within ${LOCK_MS * 2} ms`);
      await sleep(25 + Math.floor(Math.random() * 25));
    }
    try {
      await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, this.lockKey, token);
    }
  }
}
