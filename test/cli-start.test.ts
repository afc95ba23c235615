import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runCli } from './support/cli.ts';
import { fixture, redisUrl } from './support/env.ts';
import { spawnService } from './support/processes.ts';

describe('course-sync start', () => {
  it('prints help', async () => {
    const res = await runCli(['start', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/--role <role>/);
    expect(res.stdout).toMatch(/all \| receiver \| worker/);
  });

  it('refuses an unknown role with a usage error', async () => {
    const res = await runCli(['start', '--role', 'everything']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/expected one of all, receiver, worker/);
  });

  it('stops on a bad config value, naming the key', async () => {
    const res = await runCli(['start'], { PORT: 'eighty', REDIS_URL: redisUrl() });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/config PORT: expected a whole number, got "eighty"/);
  });

  it('refuses production without WEBHOOK_SECRET', async () => {
    const res = await runCli(['start'], { NODE_ENV: 'production', REDIS_URL: redisUrl() });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/config WEBHOOK_SECRET: is required in production/);
  });

  it('says how to get Redis when REDIS_URL is unset and redis-server is not on PATH', async () => {
    vi.stubEnv('PATH', '/nonexistent');
    try {
      const res = await runCli(['start', '--role', 'receiver'], { REDIS_DATA_DIR: join(tmpdir(), 'cs-nobin') });
      expect(res.code).toBe(3);
      expect(res.stderr).toMatch(/no redis-server was found on PATH/);
      expect(res.stderr).toMatch(/apt-get install redis-server/);
      expect(res.stderr).toMatch(/brew install redis/);
      expect(res.stderr).toMatch(/docker compose up -d redis/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

/** Runs the real binary once, in a child process, with only `env` plus PATH and HOME. */
function runBinary(
  args: string[],
  env: Record<string, string>,
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = join(import.meta.dirname, '..', 'bin', 'course-sync.js');
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'silent', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input);
  return new Promise((ok, fail) => {
    child.once('error', fail);
    child.once('close', (code) => ok({ code, stdout, stderr }));
  });
}

// The one test that runs bin/course-sync.js as a process (every other CLI test runs main() in-process):
// the entry point, the process's own streams, signals and exit codes.
describe('the course-sync binary', () => {
  it('starts with a private Redis under REDIS_DATA_DIR, serves, answers another command on that Redis, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-start-'));
    const service = spawnService('start', 'receiver', {
      REDIS_DATA_DIR: join(dir, 'redis'),
      PORT: '0',
      HOST: '127.0.0.1',
    });
    try {
      const port = await service.port();
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const started = service
        .output()
        .split('\n')
        .find((l) => l.includes('started a private redis-server'));
      const redisPort = (JSON.parse(started!) as { port: number }).port;

      // Standard input in, summary out, exit code 1 (one line is not an event), through the private Redis.
      const backfill = await runBinary(
        ['backfill', '-', '--direct'],
        { REDIS_URL: `redis://127.0.0.1:${redisPort}` },
        `${JSON.stringify(fixture('course.student_enroll'))}\n[1, 2]\n`,
      );
      expect(backfill.stderr).toBe('');
      expect(backfill.code).toBe(1);
      expect(backfill.stdout).toMatch(
        /^backfill standard input → Redis \(queue prefix course-sync\): 2 events\n {2}accepted {3}1\n/,
      );
      expect(backfill.stdout).toMatch(/line 2 invalid: not an object/);

      await service.stop();
      expect(service.proc.exitCode).toBe(0);
      // The private Redis kept its append-only file under the data dir and stopped with the service.
      expect(readdirSync(join(dir, 'redis')).join(' ')).toMatch(/appendonly/);
      expect(spawnSync('pgrep', ['-f', join(dir, 'redis')]).status).not.toBe(0);
    } finally {
      await service.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
