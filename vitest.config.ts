import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'runtime/**/*.test.ts', 'http/**/*.test.ts', 'actors/**/*.test.ts', 'workers/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // uWebSockets.js is a native addon: one process per test file keeps its event loop and listen sockets isolated.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
