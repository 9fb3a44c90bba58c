#!/usr/bin/env bash
# Installs the system tools the test suite drives, on Debian (apt), when they are missing:
#   chromium          test/browser (playwright-core drives /usr/bin/chromium)
#   wrk               HTTP load generation
#   python3-fastapi, python3-uvicorn, python3-asyncpg
#                     test/python (the Python callback client and example ML server, run with /usr/bin/python3)
# Installs only what is missing, runs `apt-get update` only when it has something to install, and
# says what it did. Without root or apt it prints what is missing and how to install it, and exits 0:
# the tests that need a missing tool then fail under CI=true and skip with a message otherwise
# (test/support/tools.ts).
set -uo pipefail

# package | how to tell it is there
checks=(
  'chromium|command -v chromium'
  'wrk|command -v wrk'
  'python3-fastapi|dpkg -s python3-fastapi'
  'python3-uvicorn|dpkg -s python3-uvicorn'
  'python3-asyncpg|dpkg -s python3-asyncpg'
)

missing=()
for entry in "${checks[@]}"; do
  pkg="${entry%%|*}"
  check="${entry#*|}"
  if ! eval "$check" >/dev/null 2>&1; then missing+=("$pkg"); fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "provision: nothing to install (chromium, wrk, python3-fastapi, python3-uvicorn, python3-asyncpg present)"
  exit 0
fi

echo "provision: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "provision: not installing (needs root and apt-get). Install them with:"
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  echo "provision: the tests that need them fail under CI=true and are skipped otherwise."
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "provision: apt-get update"
if ! apt-get update -qq; then
  echo "provision: apt-get update failed; the tests that need ${missing[*]} fail under CI=true and are skipped otherwise." >&2
  exit 0
fi
echo "provision: apt-get install ${missing[*]}"
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "provision: apt-get install failed; the tests that need ${missing[*]} fail under CI=true and are skipped otherwise." >&2
  exit 0
fi
echo "provision: installed ${missing[*]}"
