import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    exclude: ['test/faults/**', 'node_modules/**'],
    globalSetup: ['test/support/global-redis.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two test files at a time on any machine: vitest's default (cores - 1) runs one at a time on
    // two cores, where most tests wait on Redis, HTTP and timers rather than the CPU (242 s → 118 s).
    maxWorkers: 2,
  },
});
