import { defineConfig } from 'vitest/config';

/** `npm run test:faults`: the reliability and security suite (breaks things on purpose; bounded in time). */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/support/global-redis.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
