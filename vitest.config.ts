import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const sdkSrc = fileURLToPath(new URL('./sdk/src/', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the SDK from source, as tsc and tsx see it (tsconfig `paths`); the built package is
    // exercised separately by the tarball test.
    alias: [
      { find: /^@ecg\/sdk$/, replacement: `${sdkSrc}index.ts` },
      { find: /^@ecg\/sdk\/(.*)$/, replacement: `${sdkSrc}$1.ts` },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // One fresh migrated database per run (DATABASE_URL's server, or an embedded Postgres).
    globalSetup: ['test/support/global-setup.ts'],
    // Prints which documented responses the run exercised and fails the run on a spec violation
    // or an uncovered response (test/contract/coverage.ts).
    // The JSON report gives scripts/test.sh the totals for its closing line.
    reporters: ['default', './test/contract/coverage.ts', ['json', { outputFile: '.tmp/vitest-results.json' }]],
    // Vitest's default is one worker fewer than the cores: a single worker on a 2-core machine. Most
    // test files wait on child processes, sockets and timers rather than compute, so one worker per
    // core (at least two) keeps both cores busy and halves the suite's time there.
    maxWorkers: Math.max(2, availableParallelism()),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Type tests (`*.test-d.ts`, expectTypeOf / @ts-expect-error) are checked by tsc, not run.
    // Their tsconfig includes only test/sdk and examples/clients, so work in progress elsewhere
    // cannot fail them.
    typecheck: {
      enabled: true,
      include: ['test/sdk/**/*.test-d.ts'],
      tsconfig: './test/sdk/tsconfig.json',
    },
  },
});
