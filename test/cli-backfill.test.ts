import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderProgress } from '../src/cli/progress.ts';
import { QUEUES } from '../src/queues/names.ts';
import { freePort } from '../src/redis/local-server.ts';
import { runCli } from './support/cli.ts';
import { fixture, redisUrl, SECRET } from './support/env.ts';
import { startTestService } from './support/receiver.ts';

let t: Awaited<ReturnType<typeof startTestService>>;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'cs-backfill-'));

function enrollment(id: string) {
  const e = fixture('course.student_enroll');
  e.data.id = id;
  e.data.user.email = `${id}@example.com`;
  return e;
}

function course(id: string, updatedAt: string) {
  const c = fixture('course.updated');
  c.data.id = id;
  c.data.updated_at = updatedAt;
  return c;
}

function jsonl(name: string, lines: (object | string)[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
}

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

describe('course-sync backfill through the receiver', () => {
  const clean = () =>
    jsonl('clean.jsonl', [
      enrollment('bf_a'),
      enrollment('bf_b'),
      '',
      course('bf_course', '2024-01-02T03:04:05+08:00'),
    ]);

  it('prints help', async () => {
    const res = await runCli(['backfill', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Usage: course-sync backfill \[options\] <file>/);
    expect(res.stdout).toMatch(/--direct/);
  });

  it('posts every line signed, enqueues each event once and prints a summary', async () => {
    const res = await runCli(['backfill', clean(), '--url', url], { WEBHOOK_SECRET: SECRET });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/: 3 events\n {2}accepted {3}3\n {2}duplicate {2}0\n/);
    expect(res.stderr).toBe(''); // not a TTY: no progress bar
    expect(await jobIds(QUEUES.contacts)).toEqual(['enroll-bf_a', 'enroll-bf_b']);
    expect(await jobIds(QUEUES.email)).toEqual(['enroll-bf_a', 'enroll-bf_b']);
    expect(await jobIds(QUEUES.products)).toEqual([`course.updated-bf_course-${Date.parse('2024-01-01T19:04:05Z')}`]);
  });

  it('is idempotent: a second run reports every event duplicate and enqueues nothing', async () => {
    const before = [await jobIds(QUEUES.contacts), await jobIds(QUEUES.email), await jobIds(QUEUES.products)];
    const res = await runCli(['backfill', clean(), '--url', url], { WEBHOOK_SECRET: SECRET });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/accepted {3}0\n {2}duplicate {2}3\n/);
    expect([await jobIds(QUEUES.contacts), await jobIds(QUEUES.email), await jobIds(QUEUES.products)]).toEqual(before);
  });

  it('counts invalid lines with their numbers, ignores unknown types, and exits 1', async () => {
    const bad = enrollment('bf_bad');
    bad.data.user.email = 'not-an-email';
    const file = jsonl('mixed.jsonl', [
      enrollment('bf_c'),
      '{"type": "course.student_enroll", "data": ',
      bad,
      { type: 'course.deleted', data: { id: 'x' } },
      enrollment('bf_c'),
    ]);
    const res = await runCli(['backfill', file, '--url', url], { WEBHOOK_SECRET: SECRET });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/: 5 events/);
    expect(res.stdout).toMatch(
      /accepted {3}1\n {2}duplicate {2}1\n {2}ignored {4}1 .*\n {2}invalid {4}2 {2}\(lines 2, 3\)\n {2}failed {5}0/,
    );
    expect(res.stdout).toMatch(/line 2 invalid: HTTP 400 Body is not valid JSON/);
    expect(res.stdout).toMatch(/line 3 invalid: HTTP 422 .*data\.user\.email/);
    expect(res.stdout).not.toContain('not-an-email@'); // no student data echoed beyond field names
    expect(await jobIds(QUEUES.contacts)).toContain('enroll-bf_c');
    expect(await jobIds(QUEUES.contacts)).not.toContain('enroll-bf_bad');
  });

  it('reads standard input with "-"', async () => {
    const res = await runCli(
      ['backfill', '-', '--url', url],
      { WEBHOOK_SECRET: SECRET },
      { input: JSON.stringify(enrollment('bf_stdin')) + '\n' },
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/backfill standard input .*: 1 events\n {2}accepted {3}1/);
    expect(await jobIds(QUEUES.email)).toContain('enroll-bf_stdin');
  });

  it('stops with exit 1 when the receiver refuses the signature', async () => {
    const res = await runCli(
      [
        'backfill',
        jsonl('sig.jsonl', [enrollment('bf_sig1'), enrollment('bf_sig2')]),
        '--url',
        url,
        '--secret',
        'wrong',
        '--concurrency',
        '1',
      ],
      {},
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /stopped after 0 of 1 events read: the receiver refused the delivery \(HTTP 401 No matching signature found\)/,
    );
    expect(await jobIds(QUEUES.contacts)).not.toContain('enroll-bf_sig1');
  });

  it('exits 3 when no receiver answers', async () => {
    const port = await freePort();
    const res = await runCli(['backfill', clean(), '--url', `http://127.0.0.1:${port}/webhooks/loopwise`], {
      WEBHOOK_SECRET: SECRET,
    });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/no receiver answered at .* \(ECONNREFUSED\)/);
  });

  it('exits 2 for a missing file', async () => {
    const res = await runCli(['backfill', join(dir, 'nope.jsonl'), '--url', url]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/no such file/);
  });
});

describe('course-sync backfill --direct', () => {
  const env = () => ({ REDIS_URL: redisUrl(), QUEUE_PREFIX: t.config.redis.prefix });
  const file = () => jsonl('direct.jsonl', [enrollment('bf_d1'), enrollment('bf_d2'), enrollment('bf_a'), '[1, 2]']);

  it("enqueues through EventIntake with the receiver's checks and dedupe, twice without change", async () => {
    const first = await runCli(['backfill', file(), '--direct'], env());
    expect(first.code).toBe(1); // line 4 is not an envelope
    expect(first.stdout).toMatch(
      /→ Redis \(queue prefix t[0-9a-f]+\): 4 events\n {2}accepted {3}2\n {2}duplicate {2}1\n/,
    );
    expect(first.stdout).toMatch(/line 4 invalid: not an object/);
    const after = await jobIds(QUEUES.email);
    expect(after).toEqual(expect.arrayContaining(['enroll-bf_d1', 'enroll-bf_d2']));
    expect((await jobIds(QUEUES.contacts)).filter((id) => id === 'enroll-bf_d1')).toHaveLength(1);

    const second = await runCli(['backfill', file(), '--direct'], env());
    expect(second.stdout).toMatch(/accepted {3}0\n {2}duplicate {2}3\n/);
    expect(await jobIds(QUEUES.email)).toEqual(after);
  });

  it('needs REDIS_URL or a running service', async () => {
    const res = await runCli(['backfill', file(), '--direct'], {});
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(
      /--direct needs the Redis the workers use: REDIS_URL is not set and no course-sync service is running/,
    );
  });

  it('exits 3 when Redis is unreachable', async () => {
    const port = await freePort();
    const res = await runCli(['backfill', file(), '--direct'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/Redis at REDIS_URL is unreachable/);
  });
});

describe('course-sync backfill on a terminal', () => {
  it('draws a progress bar on stderr when it is a TTY, the summary on stdout', async () => {
    const file = jsonl('tty.jsonl', [enrollment('bf_tty1'), enrollment('bf_tty2')]);
    const res = await runCli(['backfill', file, '--url', url], { WEBHOOK_SECRET: SECRET }, { ttyColumns: 160 });
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/\r\[#{24}\] 100% 2 lines · 2 accepted · 0 duplicate · 0 invalid · 0 failed {2,}\n$/);
    expect(res.stdout).toMatch(/accepted {3}2/);
  });
});

describe('progress line', () => {
  const tally = { lines: 10, accepted: 7, duplicate: 1, ignored: 0, invalid: 1, failed: 1 };
  it.each([
    [50, 100, /^\[#{12}-{12}\] {2}50% 10 lines · 7 accepted · 1 duplicate · 1 invalid · 1 failed$/],
    [100, 100, /^\[#{24}\] 100% /],
    [0, undefined, /^10 lines · 7 accepted/],
  ])('renders %s of %s bytes', (done, total, expected) => {
    expect(renderProgress(tally, done, total)).toMatch(expected);
  });
});
