import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';

/** The machine a run was made on, as printed under the table and kept in the JSON. */
export function machine(): Record<string, string | number> {
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    redis: /v=([\d.]+)/.exec(redis)?.[1] ?? 'unknown',
  };
}
