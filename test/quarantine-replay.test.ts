import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayQuarantined } from '../src/receiver/quarantine-replay.ts';
import { EventIntake } from '../src/queues/intake.ts';
import { QUEUES } from '../src/queues/names.ts';
import { Quarantine } from '../src/quarantine/store.ts';
import { runCli } from './support/cli.ts';
import { fixture } from './support/env.ts';
import { startTestService } from './support/receiver.ts';
import { TraceWriter } from '../src/trace/writer.ts';

const PASSWORD = 'quarantine-test';
let t: Awaited<ReturnType<typeof startTestService>>;
let quarantine: Quarantine;
let intake: EventIntake;

const auth = { authorization: 'Basic ' + Buffer.from(`admin:${PASSWORD}`).toString('base64') };
const get = async (path: string) => {
  const res = await fetch(`${t.base}/admin/api${path}`, { headers: auth });
  return { status: res.status, json: await res.json() };
};
const replay = async (id: string) => {
  const res = await fetch(`${t.base}/admin/api/quarantine/${id}/replay`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
  });
  return { status: res.status, json: await res.json() };
};
const cli = (...args: string[]) => runCli(args, { REDIS_URL: t.service.redisUrl, QUEUE_PREFIX: t.config.redis.prefix });

async function jobIds(name: string): Promise<string[]> {
  const q = new Queue(name, { connection: t.redis, prefix: t.config.redis.prefix });
  const jobs = await q.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
  await q.close();
  return jobs.map((j) => j.id!).sort();
}

/**
 * Keeps `body` as a 422 the way the receiver does; used for a payload an earlier (stricter) schema
 * refused but the current one accepts — the "mapping was fixed" case.
 */
async function quarantined(
  body: unknown,
  reason = 'Payload does not match the schema of course.student_enroll: data.user.phone_number: too long',
): Promise<string> {
  return quarantine.add({
    status: 422,
    reason,
    eventType: 'course.student_enroll',
    body: JSON.stringify(body),
    replayable: true,
  });
}

/** Posts an invalid enrollment through the receiver and returns its quarantine id. */
async function rejected(enrollmentId: string): Promise<string> {
  const body = fixture('course.student_enroll');
  body.data.id = enrollmentId;
  body.data.user.email = 'not-an-email';
  delete body.data.course.id;
  expect((await t.post(body)).status).toBe(422);
  return (await quarantine.list(1))[0]!.id;
}

beforeAll(async () => {
  t = await startTestService({ DASHBOARD_PASSWORD: PASSWORD });
  quarantine = new Quarantine(t.redis, t.config.redis.prefix, 1000);
  intake = new EventIntake(t.redis, t.config, new TraceWriter(t.redis, t.config));
});
afterAll(async () => {
  await t.stop();
});

describe('replayQuarantined', () => {
  it('enqueues a now-valid payload exactly as the receiver would and removes it from quarantine', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_fixed_1';
    const id = await quarantined(body);
    const result = await replayQuarantined({ quarantine, intake }, id);
    expect(result).toMatchObject({ status: 'replayed', key: 'enroll-enroll_fixed_1', outcome: 'accepted' });
    expect(await jobIds(QUEUES.contacts)).toContain('enroll-enroll_fixed_1');
    expect(await jobIds(QUEUES.email)).toContain('enroll-enroll_fixed_1');
    expect(await quarantine.get(id)).toBeUndefined();
  });

  it('keeps a still-invalid payload and returns its field errors', async () => {
    const id = await rejected('enroll_still_bad');
    const result = await replayQuarantined({ quarantine, intake }, id);
    expect(result.status).toBe('invalid');
    expect(result.status === 'invalid' && result.errors.map((e) => e.field).sort()).toEqual([
      'data.course.id',
      'data.user.email',
    ]);
    expect(await quarantine.get(id)).toBeDefined();
  });

  it('reports an event delivered meanwhile as a duplicate and enqueues nothing more', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_redelivered';
    const id = await quarantined(body);
    expect((await t.post(body)).status).toBe(202);
    const result = await replayQuarantined({ quarantine, intake }, id);
    expect(result).toMatchObject({ status: 'replayed', outcome: 'duplicate' });
    expect((await jobIds(QUEUES.email)).filter((j) => j === 'enroll-enroll_redelivered')).toHaveLength(1);
    expect(await quarantine.get(id)).toBeUndefined();
  });

  it('refuses unsigned or oversized deliveries and unknown ids', async () => {
    const unsigned = await quarantine.add({
      status: 401,
      reason: 'Missing signature header',
      eventType: 'unknown',
      body: '{}',
      replayable: false,
    });
    expect(await replayQuarantined({ quarantine, intake }, unsigned)).toMatchObject({ status: 'not-replayable' });
    expect(await replayQuarantined({ quarantine, intake }, '1-1')).toEqual({ status: 'not-found', id: '1-1' });
    expect(await replayQuarantined({ quarantine, intake }, 'not-an-id')).toEqual({
      status: 'not-found',
      id: 'not-an-id',
    });
  });
});

describe('admin API', () => {
  it('lists entries without bodies and shows one with its body', async () => {
    const id = await rejected('enroll_listed');
    const list = await get('/quarantine');
    expect(list.status).toBe(200);
    const entry = list.json.entries.find((e: any) => e.id === id);
    expect(entry).toMatchObject({ status: 422, eventType: 'course.student_enroll', replayable: true });
    expect(entry.body).toBeUndefined();
    const one = await get(`/quarantine/${id}`);
    expect(JSON.parse(one.json.body).data.id).toBe('enroll_listed');
    expect((await get('/quarantine/9-9')).status).toBe(404);
    expect((await get('/quarantine/nope')).status).toBe(404);
  });

  it('replays: 200 when valid, 422 with the field errors when still invalid, 404 when gone, 409 when not replayable', async () => {
    const body = fixture('course.updated');
    body.data.id = 'course-fixed';
    const good = await quarantine.add({
      status: 422,
      reason: 'old schema',
      eventType: 'course.updated',
      body: JSON.stringify(body),
      replayable: true,
    });
    const ok = await replay(good);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: 'replayed', outcome: 'accepted' });
    expect(await jobIds(QUEUES.products)).toContain(ok.json.key);
    expect((await replay(good)).status).toBe(404);

    const bad = await rejected('enroll_api_bad');
    const refused = await replay(bad);
    expect(refused.status).toBe(422);
    expect(refused.json.errors.map((e: any) => e.field)).toContain('data.user.email');

    const unsigned = await quarantine.add({
      status: 401,
      reason: 'No matching signature found',
      eventType: 'unknown',
      body: '{}',
      replayable: false,
    });
    expect((await replay(unsigned)).status).toBe(409);
  });

  it('needs credentials', async () => {
    expect((await fetch(`${t.base}/admin/api/quarantine`)).status).toBe(401);
    expect((await fetch(`${t.base}/admin/api/quarantine/1-1/replay`, { method: 'POST' })).status).toBe(401);
  });
});

describe('course-sync quarantine', () => {
  it('list prints one line per entry, newest first', async () => {
    const id = await rejected('enroll_cli_listed');
    const res = await cli('quarantine', 'list');
    expect(res.code).toBe(0);
    const first = res.stdout.split('\n')[0]!.split('\t');
    expect(first.slice(0, 5)).toEqual([id, expect.any(String), '422', 'course.student_enroll', 'replayable']);
    expect(first[5]).toMatch(/data.user.email: user.email must be a valid e-mail address/);
  });

  it('show prints the reason and the body', async () => {
    const id = await rejected('enroll_cli_show');
    const res = await cli('quarantine', 'show', id);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^status: 422$/m);
    // The field errors as JSON (they printed as "[object Object]" before the linter found it).
    expect(res.stdout).not.toContain('[object Object]');
    expect(res.stdout).toMatch(
      /^errors: \[\{"field":"data.course.id",.*"field":"data.user.email","message":"user.email must be a valid e-mail address"\}\]$/m,
    );
    expect(res.stdout).toContain('"id": "enroll_cli_show"');
    expect((await cli('quarantine', 'show', '1-1')).code).toBe(1);
  });

  it('replay exits 0 and enqueues a valid payload; exits 1 listing the errors of an invalid one', async () => {
    const body = fixture('course.student_enroll');
    body.data.id = 'enroll_cli_fixed';
    const good = await quarantined(body);
    const ok = await cli('quarantine', 'replay', good);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`replayed\t${good}\tenroll-enroll_cli_fixed\taccepted\n`);
    expect(await jobIds(QUEUES.contacts)).toContain('enroll-enroll_cli_fixed');

    const bad = await rejected('enroll_cli_bad');
    const refused = await cli('quarantine', 'replay', bad);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/still does not match the schema/);
    expect(refused.stderr).toMatch(/data.course.id: /);
    expect(await quarantine.get(bad)).toBeDefined();
  });

  it('--help describes each subcommand', async () => {
    const subs = ['list', 'show', 'replay'];
    const results = await Promise.all(subs.map((sub) => runCli(['quarantine', sub, '--help'])));
    for (const [i, sub] of subs.entries()) {
      const res = results[i]!;
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`Usage: course-sync quarantine ${sub}`));
      expect(res.stdout).toMatch(/REDIS_URL/);
    }
  });
});
