import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import { globSafe, scanKeys } from '../../src/redis/keys.ts';

export const SECRET = 'test-signing-secret';

/**
 * `vi.waitFor` options for work done in the background (workers, streams, a service starting):
 * long enough for a busy machine, short steps so a fast one does not wait.
 */
export const SETTLE = { timeout: 15_000, interval: 25 };

/** The settings that point a service at running HubSpot and SendGrid emulators. */
export function emulatorEnv(
  hubspot: { url: string; token: string },
  sendgrid: { url: string; apiKey: string },
): Record<string, string> {
  return {
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    SENDGRID_BASE_URL: sendgrid.url,
    SENDGRID_API_KEY: sendgrid.apiKey,
  };
}

/** The test Redis (started by the global setup, or REDIS_URL). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A config for one test: its own queue prefix so tests never see each other's keys. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: redisUrl(),
    PORT: '0',
    HOST: '127.0.0.1',
    QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
    WEBHOOK_SECRET: SECRET,
    ...env,
  });
}

/** Deletes every key under the test's prefix. */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  const keys = await scanKeys(redis, `${globSafe(prefix)}:*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
}

const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'loopwise');

/** A seed payload from the sender's documentation, as parsed JSON (a fresh copy each call). */
export function fixture(type: 'course.created' | 'course.updated' | 'course.student_enroll'): any {
  return JSON.parse(readFileSync(join(fixturesDir, `${type}.json`), 'utf8'));
}
