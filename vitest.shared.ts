import { defineConfig } from 'vitest/config';

// One config for every package: each package's vitest.config.ts re-exports this, so the
// reporters (and the JSON counts that .ci/run sums) are the same everywhere.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    passWithNoTests: true,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
});
