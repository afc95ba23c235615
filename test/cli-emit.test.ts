import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../src/queues/names.ts';
import { freePort } from '../src/redis/local-server.ts';
import { runCli } from './support/cli.ts';
import { fixture, SECRET } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

let t: Awaited<ReturnType<typeof startTestService>>;
let url: string;
const env = () => ({ WEBHOOK_SECRET: SECRET });

async function jobIds(name: string): Promise<string[]> {
  const q = new Queue(name, { connection: t.redis, prefix: t.config.redis.prefix });
  const jobs = await q.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
  await q.close();
  return jobs.map((j) => j.id!).sort();
}

beforeAll(async () => {
  t = await startTestService();
  url = `${t.base}/webhooks/loopwise`;
});
afterAll(async () => t.stop());

describe('course-sync emit', () => {
  it('prints help', async () => {
    const res = await runCli(['emit', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Usage: course-sync emit \[options\] <type\|file>/);
    expect(res.stdout).toMatch(/--url <url>/);
    expect(res.stdout).toMatch(/--id <id>/);
  });

  it('sends the signed seed enrollment: 202, one job on each enrollment queue', async () => {
    const res = await runCli(['emit', 'course.student_enroll', '--url', url], env());
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/HTTP 202 Accepted/);
    expect(res.stdout).toMatch(/"key": "enroll-enroll_123456"/);
    expect(await jobIds(QUEUES.contacts)).toEqual(['enroll-enroll_123456']);
    expect(await jobIds(QUEUES.email)).toEqual(['enroll-enroll_123456']);
  });

  it('answers a second send of the same sample 200 duplicate, still exit 0, nothing new enqueued', async () => {
    const res = await runCli(['emit', 'course.student_enroll', '--url', url], env());
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/HTTP 200 OK/);
    expect(res.stdout).toMatch(/"duplicate": true/);
    expect(await jobIds(QUEUES.contacts)).toEqual(['enroll-enroll_123456']);
  });

  it('--id makes a new enrollment', async () => {
    const res = await runCli(['emit', 'course.student_enroll', '--url', url, '--id', 'enroll_cli_2'], env());
    expect(res.code).toBe(0);
    expect(await jobIds(QUEUES.email)).toEqual(['enroll-enroll_123456', 'enroll-enroll_cli_2']);
  });

  it('defaults to http://localhost:$PORT/webhooks/loopwise and the first WEBHOOK_SECRET', async () => {
    const res = await runCli(['emit', 'course.created'], {
      PORT: String(t.service.port),
      WEBHOOK_SECRET: `${SECRET},older-secret`,
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`POST http://localhost:${t.service.port}/webhooks/loopwise`);
    expect(await jobIds(QUEUES.products)).toHaveLength(1);
  });

  it('sends a JSON file, signed as written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-emit-'));
    const file = join(dir, 'update.json');
    const body = fixture('course.updated');
    body.data.id = 'course-from-file';
    writeFileSync(file, JSON.stringify(body, null, 4));
    const res = await runCli(['emit', file, '--url', url], env());
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/"key": "course.updated-course-from-file-/);
  });

  it('exits 1 on a non-2xx answer and prints it (wrong secret → 401)', async () => {
    const res = await runCli(
      ['emit', 'course.student_enroll', '--url', url, '--id', 'enroll_bad_sig', '--secret', 'wrong'],
      env(),
    );
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/HTTP 401 Unauthorized/);
    expect(res.stdout).toMatch(/No matching signature found/);
    expect(await jobIds(QUEUES.contacts)).not.toContain('enroll-enroll_bad_sig');
  });

  it('exits 3 with a clear message when no receiver listens', async () => {
    const port = await freePort();
    const res = await runCli(
      ['emit', 'course.student_enroll', '--url', `http://127.0.0.1:${port}/webhooks/loopwise`],
      env(),
    );
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/no receiver answered at http:\/\/127.0.0.1:\d+\/webhooks\/loopwise \(ECONNREFUSED\)/);
    expect(res.stderr).toMatch(/Is `course-sync start` running/);
  });

  it('exits 2 for something that is neither an event type nor a file', async () => {
    const res = await runCli(['emit', 'course.deleted', '--url', url], env());
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /neither an event type \(course.created, course.updated, course.student_enroll\) nor a file/,
    );
  });
});

describe('course-sync emit sendgrid-keys / sendgrid-events', () => {
  let sg: Awaited<ReturnType<typeof startTestService>>;
  let keyFile: string;
  let dir: string;

  beforeAll(async () => {
    const keys = await runCli(['emit', 'sendgrid-keys']);
    expect(keys.code).toBe(0);
    const publicKey = /^SENDGRID_WEBHOOK_PUBLIC_KEY=(\S+)$/m.exec(keys.stdout)![1]!;
    dir = mkdtempSync(join(tmpdir(), 'cs-emit-sg-'));
    keyFile = join(dir, 'private.pem');
    writeFileSync(keyFile, keys.stdout.slice(keys.stdout.indexOf('-----BEGIN')));
    sg = await startTestService({ SENDGRID_WEBHOOK_PUBLIC_KEY: publicKey });
  });
  afterAll(async () => {
    await sg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs a file of events with the generated key; the receiver takes it as one batch', async () => {
    const file = join(dir, 'events.json');
    writeFileSync(
      file,
      JSON.stringify([
        {
          email: 'a@example.com',
          timestamp: 1_700_000_000,
          event: 'delivered',
          sg_event_id: 'e1',
          sg_message_id: 'm1.x',
          enrollment_id: 'enroll_sg_1',
        },
      ]),
    );
    const res = await runCli([
      'emit',
      'sendgrid-events',
      file,
      '--key',
      keyFile,
      '--url',
      `${sg.base}/webhooks/sendgrid`,
    ]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^HTTP 200 OK$/m);
    const sample = await runCli(['emit', 'sendgrid-events', '--id', 'enroll_sg_2', '--key', keyFile], {
      PORT: String(sg.service.port),
    });
    expect(sample.code).toBe(0);
    const q = new Queue(QUEUES.emailEvents, { connection: sg.redis, prefix: sg.config.redis.prefix });
    const batches = await q.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
    await q.close();
    expect(batches.map((b) => b.data.events.map((e: any) => [e.enrollmentId, e.event])).sort()).toEqual([
      [['enroll_sg_1', 'delivered']],
      [
        ['enroll_sg_2', 'processed'],
        ['enroll_sg_2', 'delivered'],
      ],
    ]);
  });

  it('exits 1 when the receiver refuses the signature, 2 without a key or events', async () => {
    const other = join(dir, 'other.pem');
    writeFileSync(
      other,
      (await runCli(['emit', 'sendgrid-keys'])).stdout.replace(/^SENDGRID_WEBHOOK_PUBLIC_KEY=.*\n/, ''),
    );
    const refused = await runCli([
      'emit',
      'sendgrid-events',
      '--id',
      'enroll_sg_3',
      '--key',
      other,
      '--url',
      `${sg.base}/webhooks/sendgrid`,
    ]);
    expect(refused).toMatchObject({ code: 1, stdout: expect.stringMatching(/^HTTP 401/m) });
    expect(await runCli(['emit', 'sendgrid-events', '--id', 'x'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--key <file> is required'),
    });
    expect(await runCli(['emit', 'sendgrid-events', '--key', keyFile])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--id <enrollment id>'),
    });
  });
});
