import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalRedis, type LocalRedis } from '../../src/redis/local-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let local: LocalRedis | undefined;
let dir: string | undefined;

/** Uses REDIS_URL when set; otherwise starts a private redis-server for the run, as the service does. */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.REDIS_URL;
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'course-sync-test-redis-'));
    local = await startLocalRedis({ dataDir: dir });
    url = local.url;
  }
  project.provide('redisUrl', url);
}

export async function teardown(): Promise<void> {
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
