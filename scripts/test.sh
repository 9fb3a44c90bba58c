#!/usr/bin/env bash
# The whole test suite: `npm test`. Fails on stale generated files, Spectral errors, type errors,
# lint findings or a failing test.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$1"; }

step 'system tools the tests drive (Chromium, wrk, FastAPI for /usr/bin/python3)'
bash scripts/provision.sh

step 'generated files are up to date'
npm run --silent gen:check

step 'Spectral: zero errors on every spec'
npm run --silent lint:spec

step 'typecheck (server, tests, examples, SDK)'
npm run --silent typecheck

step 'ESLint: zero warnings'
npm run --silent lint

step 'build the SDK'
npm run --silent build -w @ecg/sdk

step 'tests (embedded PostgreSQL unless DATABASE_URL is set)'
npx vitest run
# Closing lines "<database>: N passed, N failed, N skipped", from vitest's JSON report.
totals() { node -e 'const r = require("./.tmp/vitest-results.json"); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)'; }
summary="$([ -n "${DATABASE_URL:-}" ] && echo external || echo embedded): $(totals)"

# CI also runs the database-facing suites against the machine's own PostgreSQL, when it has one,
# so both the embedded and the external path are exercised in every CI run.
if [ "${CI:-}" = "true" ] && [ -z "${DATABASE_URL:-}" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  step 'database suites again, against PostgreSQL on 127.0.0.1:5432'
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres" npx vitest run test/db test/backend
  summary="$summary
external: $(totals)"
fi

echo
echo "$summary"
