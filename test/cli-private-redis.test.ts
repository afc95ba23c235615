import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RECORD_FILE } from '../src/redis/local-record.ts';
import { Redis } from 'ioredis';
import { freePort, startLocalRedis } from '../src/redis/local-server.ts';
import { runCli, startCli } from './support/cli.ts';
import { SETTLE } from './support/env.ts';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-private-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const OPS: string[][] = [
  ['trace', 'enroll_123456'],
  ['dlq', 'list'],
  ['quarantine', 'list'],
];
const NO_SERVICE =
  /REDIS_URL is not set and .*Start the service in this folder with `npm start` \(or `course-sync start`\), or set REDIS_URL/;

/** A pid that no process has any more: a child that has already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

describe('commands find the private Redis of `npm start` by themselves', () => {
  it("trace, dlq list and quarantine list use the running service's private Redis without REDIS_URL; stopped, they exit 3 saying how to start one", async () => {
    const dir = freshDir();
    // As `npm start` does: no REDIS_URL, no credentials (sandbox mode), role all.
    const service = startCli(['start'], { REDIS_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1' });
    try {
      await vi.waitFor(() => expect(service.stderr()).toMatch(/course-sync is running in sandbox mode\. Next:/), {
        timeout: 30_000,
        interval: 50,
      });
      const banner = service.stderr();
      const record = JSON.parse(readFileSync(join(dir, RECORD_FILE), 'utf8')) as {
        url: string;
        pid: number;
        startedAt: string;
      };
      expect(record).toMatchObject({ url: expect.stringMatching(/^redis:\/\/127\.0\.0\.1:\d+$/), pid: process.pid });
      expect(Date.now() - Date.parse(record.startedAt)).toBeLessThan(60_000);

      // The three next steps, once: admin URL and user, the seed events, the sandbox page.
      const webhook = /emit course\.student_enroll --url (http:\/\/localhost:\d+\/webhooks\/loopwise)/.exec(
        banner,
      )![1]!;
      const base = webhook.replace('/webhooks/loopwise', '').replace('localhost', '127.0.0.1'); // HOST=127.0.0.1
      expect(banner).toContain(`admin    ${base}/admin  (user "admin", the password printed above)`);
      expect(banner).toContain(`sandbox  ${base}/admin/sandbox`);
      expect(banner.match(/Next:/g)).toHaveLength(1);
      expect(banner).toMatch(/Log in with user "admin"[\s\S]*Next:/);

      // One enrollment, and one webhook that fails its schema (quarantined).
      expect((await runCli(['emit', 'course.student_enroll', '--url', webhook])).stdout).toMatch(/HTTP 202/);
      const invalid = join(dir, 'invalid.json');
      writeFileSync(invalid, JSON.stringify({ type: 'course.student_enroll', data: { id: 'enroll_broken' } }));
      expect((await runCli(['emit', invalid, '--url', webhook])).stdout).toMatch(/HTTP 422/);

      const using = `using the private Redis of the course-sync started at ${record.startedAt} (pid ${process.pid}): ${record.url}\n`;
      const trace = await runCli(['trace', 'enroll_123456'], { REDIS_DATA_DIR: dir });
      expect(trace.stderr).toBe(using);
      expect(trace.code).toBe(0);
      expect(trace.stdout).toMatch(/enroll_123456/);
      const quarantine = await runCli(['quarantine', 'list'], { REDIS_DATA_DIR: dir });
      expect([quarantine.code, quarantine.stderr]).toEqual([0, using]);
      expect(quarantine.stdout).toMatch(/422/);
      const dlq = await runCli(['dlq', 'list'], { REDIS_DATA_DIR: dir });
      expect(dlq.code).toBe(0);
      expect(dlq.stderr).toBe(`${using}no dead letters\n`);

      // A second service on the same data folder would share its append-only file: refused.
      const second = await runCli(['start'], { REDIS_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1' });
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(
        `config REDIS_DATA_DIR: the course-sync started at ${record.startedAt} (pid ${process.pid}) already runs its private Redis (${record.url})`,
      );
      expect(existsSync(join(dir, RECORD_FILE))).toBe(true);
    } finally {
      expect((await service.stop()).code).toBe(0);
    }

    // A clean stop removes the record; the commands then say there is no service.
    expect(existsSync(join(dir, RECORD_FILE))).toBe(false);
    for (const args of OPS) {
      const res = await runCli(args, { REDIS_DATA_DIR: dir });
      expect(res.code, args.join(' ')).toBe(3);
      expect(res.stderr, args.join(' ')).toMatch(
        new RegExp(`^course-sync ${args.slice(0, args[0] === 'trace' ? 1 : 2).join(' ')}: `),
      );
      expect(res.stderr, args.join(' ')).toContain(
        `no course-sync service is running with a private Redis in ${dir} (REDIS_DATA_DIR)`,
      );
      expect(res.stderr, args.join(' ')).toMatch(NO_SERVICE);
      expect(res.stdout).toBe('');
    }
  });

  it('reports a record whose process is gone as no service (a killed service leaves its record behind)', async () => {
    const dir = freshDir();
    const port = await freePort();
    const pid = deadPid();
    writeFileSync(
      join(dir, RECORD_FILE),
      JSON.stringify({ url: `redis://127.0.0.1:${port}`, pid, startedAt: '2026-01-02T03:04:05.000Z' }),
    );
    for (const args of OPS) {
      const res = await runCli(args, { REDIS_DATA_DIR: dir });
      expect(res.code, args.join(' ')).toBe(3);
      expect(res.stderr).toContain(
        `the course-sync recorded in ${join(dir, RECORD_FILE)} (pid ${pid}, started at 2026-01-02T03:04:05.000Z) is not running any more: its process ${pid} is gone`,
      );
      expect(res.stderr).toMatch(NO_SERVICE);
    }
  });

  it('a service started over a killed one first stops the Redis it left running (its data kept), rather than run a second on the same folder', async () => {
    const dir = freshDir();
    const orphan = await startLocalRedis({ dataDir: dir });
    const before = new Redis(orphan.url);
    await before.set('left-over', 'kept');
    await before.quit();
    writeFileSync(
      join(dir, RECORD_FILE),
      JSON.stringify({
        url: orphan.url,
        pid: deadPid(),
        redisPid: orphan.process.pid,
        startedAt: '2026-01-02T03:04:05.000Z',
      }),
    );
    const service = startCli(['start'], { REDIS_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1' });
    try {
      await vi.waitFor(() => expect(service.stderr()).toMatch(/course-sync is running in sandbox mode\. Next:/), {
        timeout: 30_000,
        interval: 50,
      });
      await vi.waitFor(() => expect(orphan.process.exitCode ?? orphan.process.signalCode).not.toBeNull(), SETTLE);
      const record = JSON.parse(readFileSync(join(dir, RECORD_FILE), 'utf8')) as { url: string };
      expect(record.url).not.toBe(orphan.url);
      const after = new Redis(record.url);
      expect(await after.get('left-over')).toBe('kept');
      await after.quit();
    } finally {
      expect((await service.stop()).code).toBe(0);
      await orphan.stop();
    }
  });

  it('reports a record whose Redis does not answer as no service, and an unreadable one too', async () => {
    const dir = freshDir();
    const port = await freePort();
    writeFileSync(
      join(dir, RECORD_FILE),
      JSON.stringify({ url: `redis://127.0.0.1:${port}`, pid: process.pid, startedAt: '2026-01-02T03:04:05.000Z' }),
    );
    const silent = await runCli(['dlq', 'list'], { REDIS_DATA_DIR: dir });
    expect(silent.code).toBe(3);
    expect(silent.stderr).toContain(`is not running any more: nothing answers at redis://127.0.0.1:${port}`);

    writeFileSync(join(dir, RECORD_FILE), '{"url": "redis://');
    const unreadable = await runCli(['dlq', 'list'], { REDIS_DATA_DIR: dir });
    expect(unreadable.code).toBe(3);
    expect(unreadable.stderr).toContain('is not running any more: the file cannot be read');
  });

  it('backfill --direct uses the same private Redis lookup', async () => {
    const dir = join(freshDir(), 'never-started');
    mkdirSync(dir);
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, '{}\n');
    const res = await runCli(['backfill', file, '--direct'], { REDIS_DATA_DIR: dir });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(
      /^course-sync backfill: --direct needs the Redis the workers use: REDIS_URL is not set and no course-sync service is running/,
    );
  });
});
