import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

/** The machine a run was made on, as printed under the table and kept in the JSON. */
export function machine(): { nproc: number; cpu: string; memoryGiB: number; node: string; redis: string } {
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    redis: /v=([\d.]+)/.exec(redis)?.[1] ?? 'unknown',
  };
}

/** The 1-minute load average; above ~0.5 on an idle machine something else competes for the CPUs. */
export function load1(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
