import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['services/*/test/**/*.test.ts', 'shared/*/test/**/*.test.ts', 'loadtests/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/globalSetup.ts'],
    // uWebSockets.js is a native addon: one process per test file, never worker threads.
    pool: 'forks',
    // One test file at a time: each file starts its own edges, workers, Redis servers and load, which
    // already keep both cores of this machine busy; two files at once only made timing assertions race
    // each other (measured: the same wall time, ~7 min, either way).
    maxWorkers: 1,
    // The header-section limit bin/turnpike.mjs gives uWebSockets.js, for edges started in-process.
    env: { UWS_HTTP_MAX_HEADERS_SIZE: '16384' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
