import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../src/redis/local-server.ts';
import { redisUrl } from './support/env.ts';

const bin = join(import.meta.dirname, '..', 'bin', 'course-sync.js');
const run = (args: string[], env: Record<string, string | undefined>) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, REDIS_URL: undefined, ...env } as NodeJS.ProcessEnv, timeout: 20_000 });

async function waitFor(url: string, ms = 15_000): Promise<Response> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fetch(url);
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('course-sync start', () => {
  it('prints help', () => {
    const res = run(['start', '--help'], {});
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/--role <role>/);
    expect(res.stdout).toMatch(/all \| receiver \| worker/);
  });

  it('refuses an unknown role with a usage error', () => {
    const res = run(['start', '--role', 'everything'], {});
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/expected one of all, receiver, worker/);
  });

  it('stops on a bad config value, naming the key', () => {
    const res = run(['start'], { PORT: 'eighty', REDIS_URL: redisUrl() });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/config PORT: expected a whole number, got "eighty"/);
  });

  it('refuses production without WEBHOOK_SECRET', () => {
    const res = run(['start'], { NODE_ENV: 'production', REDIS_URL: redisUrl() });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/config WEBHOOK_SECRET: is required in production/);
  });

  it('says how to get Redis when REDIS_URL is unset and redis-server is not on PATH', () => {
    const res = run(['start', '--role', 'receiver'], { PATH: '/nonexistent', REDIS_DATA_DIR: join(tmpdir(), 'cs-nobin') });
    expect(res.status).toBe(3);
    expect(res.stderr).toMatch(/no redis-server was found on PATH/);
    expect(res.stderr).toMatch(/apt-get install redis-server/);
    expect(res.stderr).toMatch(/brew install redis/);
    expect(res.stderr).toMatch(/docker compose up -d redis/);
  });

  it('starts a private Redis under REDIS_DATA_DIR when REDIS_URL is unset, serves, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-start-'));
    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'start', '--role', 'receiver'], {
      env: { ...process.env, REDIS_URL: undefined, REDIS_DATA_DIR: join(dir, 'redis'), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const ready = await waitFor(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(out).toMatch(/started a private redis-server/);
      const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      // The private Redis kept its append-only file under the data dir and stopped with the service.
      expect(spawnSync('ls', [join(dir, 'redis')], { encoding: 'utf8' }).stdout).toMatch(/appendonly/);
      expect(spawnSync('pgrep', ['-f', join(dir, 'redis')]).status).not.toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
