#!/usr/bin/env bash
# The release: `npm run release` (into ./release) or `bash scripts/release.sh <dir>`.
#
# A self-contained folder an operator copies to a server or into an image and starts with
# `node dist/server/main.js` (or `npm start`): the compiled server, the migrations it applies at
# start, and production dependencies only. No TypeScript, no transpiler, no dev dependencies.
#
# The workspaces (@ecg/sdk, @ecg/example-ml-server) stay workspaces inside the release, each as its
# package.json and built dist/, so the repository's own package-lock.json installs the release
# unchanged: the release runs exactly the dependency versions the tests ran. See docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."

out="$(realpath -m "${1:-release}")"
case "$out" in
  "$PWD" | / | "$HOME") echo "refusing to write the release into $out" >&2; exit 1 ;;
esac

# SKIP_BUILD=1 reuses dist/ from a build just made (the Docker build and the release test build once).
[ "${SKIP_BUILD:-}" = "1" ] || npm run --silent build

rm -rf "$out"
mkdir -p "$out"
cp -R dist "$out/dist"
for ws in sdk examples/ml-server; do
  mkdir -p "$out/$ws"
  cp "$ws/package.json" "$out/$ws/package.json"
  cp -R "$ws/dist" "$out/$ws/dist"
done
cp package-lock.json "$out/package-lock.json"

# The root manifest with the scripts an operator needs and none of the build's: npm ci in the
# release must not try to build again.
node -e '
  const root = JSON.parse(require("fs").readFileSync("package.json", "utf8"));
  const { devDependencies, scripts, ...rest } = root;
  const release = { ...rest, scripts: { start: "node dist/server/main.js" }, devDependencies };
  process.stdout.write(JSON.stringify(release, null, 2) + "\n");
' > "$out/package.json"

# From the local cache when it has everything (CI, a developer machine); the registry otherwise.
(cd "$out" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error)

echo "release ready in $out: cd $out && node dist/server/main.js"
