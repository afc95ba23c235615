import type { Client } from '@hubspot/api-client';
import type { Redis } from 'ioredis';
import { ConfigError } from '../config.ts';
import type { Logger } from '../log.ts';
import { recordKey } from '../redis/keys.ts';
import { RedisLock } from '../redis/lock.ts';
import type { HubSpotCall } from './call.ts';
import { COURSE_OBJECT } from './course-records.ts';
import { HubSpotCallError } from './errors.ts';
import { requestJson } from './raw-request.ts';

/** HUBSPOT_COURSES_OBJECT. */
export type CoursesMode = 'auto' | 'on' | 'off';

/** Whether the portal has the Courses object active (HubSpot's object library enablement endpoint). */
export const ENABLEMENT_PATH = `/crm/v3/object-library/enablement/${COURSE_OBJECT}`;

/** How long one check holds for every process: the Courses object is checked at start and this often after. */
export const COURSES_CHECK_SECONDS = 300;

/** After a check that got no answer, ask again this soon. */
const RETRY_CHECK_MS = 60_000;

/** What the last check found, as kept in Redis (`<prefix>:cs:hubspot:courses-object`; no personal data). */
export interface CoursesObjectState {
  /** The enablement endpoint said `true`. */
  active: boolean;
  /** Course records are written (active, and HubSpot did not refuse a courses call since). */
  usable: boolean;
  /** Why not, in a few words (for the log, the trace and doctor). */
  reason?: string;
  /** When it was checked (ms, on the switch's clock). */
  checkedAt: number;
  /** How long it holds (ms). */
  holdsMs: number;
}

export interface CoursesObjectOptions {
  mode: CoursesMode;
  client: Client;
  call: HubSpotCall;
  redis: Redis;
  prefix: string;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** The clock of "every few minutes" (tests pass their own). */
  now?: () => number;
  checkSeconds?: number;
}

/** Reads the enablement endpoint: `{"enablement": true|false}`. */
export async function readCoursesEnablement(client: Client, call: HubSpotCall): Promise<boolean> {
  const res = await call('object-library.enablement', () =>
    requestJson<{ enablement?: unknown }>(client, 'GET', ENABLEMENT_PATH),
  );
  return res.body?.enablement === true;
}

/**
 * Whether course-sync writes course records now. `off`: never (and never asks HubSpot). `on`:
 * always (start-up stops when HubSpot says the object is not active). `auto`: when the last check
 * of the enablement endpoint said active and no courses call was refused since. One check holds
 * `checkSeconds` for every process (a Redis record, checked under a Redis lock, so the processes
 * of a deployment ask HubSpot once per period together).
 */
export class CoursesObject {
  private memo?: CoursesObjectState;
  private readonly key: string;
  private readonly lockKey: string;
  private readonly locks: RedisLock;
  private readonly now: () => number;

  constructor(private readonly opts: CoursesObjectOptions) {
    this.key = recordKey(opts.prefix, 'hubspot', 'courses-object');
    this.lockKey = recordKey(opts.prefix, 'hubspot', 'courses-object-check');
    this.locks = new RedisLock(opts.redis);
    this.now = opts.now ?? Date.now;
  }

  get mode(): CoursesMode {
    return this.opts.mode;
  }

  /**
   * The check at start (a check another process or worker made less than a period ago counts):
   * under `on`, HubSpot saying the object is not active stops start-up with a ConfigError naming
   * HUBSPOT_COURSES_OBJECT (no answer lets it start: writes will tell).
   */
  async start(): Promise<CoursesObjectState | undefined> {
    if (this.opts.mode === 'off') return undefined;
    const state = await this.state();
    if (this.opts.mode === 'on' && !state.active && state.reason === 'not active in the portal') {
      throw new ConfigError(
        'HUBSPOT_COURSES_OBJECT',
        `is "on" but HubSpot says the Courses object (${COURSE_OBJECT}) is not active in this portal: a super admin activates it in HubSpot (Settings → Objects → Courses), or set HUBSPOT_COURSES_OBJECT=auto to write contacts without course records until then`,
      );
    }
    return state;
  }

  /** True when course records are written now (see the class). */
  async active(): Promise<boolean> {
    return (await this.whyNot()) === undefined;
  }

  /** Why course records are not written now, in a few words; undefined when they are. */
  async whyNot(): Promise<string | undefined> {
    if (this.opts.mode === 'off') return 'HUBSPOT_COURSES_OBJECT=off';
    if (this.opts.mode === 'on') return undefined;
    const s = await this.state();
    return s.usable ? undefined : (s.reason ?? 'not usable');
  }

  /** The current state (checked again when the last check is older than its period). */
  async state(fresh = false): Promise<CoursesObjectState> {
    const now = this.now();
    if (!fresh && this.memo && now - this.memo.checkedAt < this.memo.holdsMs) return this.memo;
    const kept = fresh ? undefined : await this.read(now);
    if (kept) return (this.memo = kept);
    return (this.memo = await this.locks.withLock(
      this.lockKey,
      10_000,
      15_000,
      async () => (!fresh && (await this.read(this.now()))) || this.check(),
    ));
  }

  /**
   * Under `auto`, a courses call HubSpot refused as if the object were not there (403, or 400
   * "Unable to infer object type"): checks the enablement again now, and if it still says active
   * (the token lacks the courses scopes), stops writing course records for a period. True when the
   * refusal is taken that way (the caller skips the course records); false under `on`, where it is
   * an error like any other.
   */
  async refused(err: unknown): Promise<boolean> {
    if (this.opts.mode !== 'auto' || !isObjectRefusal(err)) return false;
    const state = await this.state(true);
    if (state.active) {
      const reason = `HubSpot refused a courses call: ${(err as HubSpotCallError).failure.message}`;
      await this.write({ ...state, usable: false, reason });
      this.opts.log?.warn(
        { reason },
        'Courses object: course records are NOT written for now (the private app needs the scopes crm.objects.courses.read and crm.objects.courses.write); contacts go on as without it',
      );
    }
    return true;
  }

  private async read(now: number): Promise<CoursesObjectState | undefined> {
    const raw = await this.opts.redis.get(this.key);
    const state = raw ? (JSON.parse(raw) as CoursesObjectState) : undefined;
    return state && now - state.checkedAt < state.holdsMs && now >= state.checkedAt ? state : undefined;
  }

  private async write(state: CoursesObjectState): Promise<CoursesObjectState> {
    this.memo = state;
    await this.opts.redis.set(this.key, JSON.stringify(state), 'PX', Math.max(1000, state.holdsMs));
    return state;
  }

  private async check(): Promise<CoursesObjectState> {
    const checkedAt = this.now();
    const holdsMs = (this.opts.checkSeconds ?? COURSES_CHECK_SECONDS) * 1000;
    try {
      const active = await readCoursesEnablement(this.opts.client, this.opts.call);
      const was = this.memo?.active;
      if (was !== active)
        this.opts.log?.info(
          { objectTypeId: COURSE_OBJECT, active, mode: this.opts.mode },
          active
            ? 'Courses object active: course records are written and students associated with them'
            : 'Courses object not active in the portal: contacts are written without course records',
        );
      return await this.write({
        active,
        usable: active,
        reason: active ? undefined : 'not active in the portal',
        checkedAt,
        holdsMs,
      });
    } catch (err) {
      if (!(err instanceof HubSpotCallError)) throw err;
      this.opts.log?.warn(
        { err: err.message },
        'Courses object: could not ask HubSpot whether it is active; asking again in a minute',
      );
      return this.write({
        active: false,
        usable: false,
        reason: `not checked: ${err.failure.message}`,
        checkedAt,
        holdsMs: Math.min(holdsMs, RETRY_CHECK_MS),
      });
    }
  }
}

/** A refusal that says the Courses object is not usable with this token: 403, or 400 "Unable to infer object type". */
export function isObjectRefusal(err: unknown): boolean {
  if (!(err instanceof HubSpotCallError)) return false;
  const f = err.failure;
  return f.status === 403 || (f.status === 400 && /unable to infer object type/i.test(f.message));
}
