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
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
