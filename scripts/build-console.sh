#!/usr/bin/env bash
# Installs the web console's npm packages exactly as web/package-lock.json lists them and builds
# the console into web/dist/ (served by `openkonnect serve --console-dir web/dist`).
# Needs Node.js and npm (scripts/setup.sh installs them from Debian's packages).
set -euo pipefail
cd "$(dirname "$0")/../web"
# npm ci starts from an empty node_modules every time; skip it while the lockfile is unchanged
# since the last install (npm writes node_modules/.package-lock.json).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # A reset connection to the registry fails the whole install (npm's own retries did not cover
  # one in CI): try again, up to three times. What was fetched stays in npm's cache, so a retry
  # only fetches what is missing.
  for attempt in 1 2 3; do
    if npm ci --no-audit --no-fund --loglevel=error; then
      break
    fi
    if [ "$attempt" = 3 ]; then
      echo "build-console.sh: npm ci failed three times" >&2
      exit 1
    fi
    echo "build-console.sh: npm ci failed (attempt $attempt of 3); trying again in $((attempt * 10)) s" >&2
    sleep $((attempt * 10))
  done
fi
npx --no-install vite build --logLevel warn
