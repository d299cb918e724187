import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['services/*/test/**/*.test.ts', 'shared/*/test/**/*.test.ts', 'loadtests/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/globalSetup.ts'],
    // uWebSockets.js is a native addon: one process per test file, never worker threads.
    pool: 'forks',
    // The header-section limit bin/turnpike.mjs gives uWebSockets.js, for edges started in-process.
    env: { UWS_HTTP_MAX_HEADERS_SIZE: '16384' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
