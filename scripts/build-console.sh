#!/usr/bin/env bash
# Installs the web console's npm packages exactly as web/package-lock.json lists them and builds
# the console into web/dist/ (served by `openkonnect serve --console-dir web/dist`).
# Needs Node.js and npm (scripts/setup.sh installs them from Debian's packages).
set -euo pipefail
cd "$(dirname "$0")/../web"
# npm ci starts from an empty node_modules every time; skip it while the lockfile is unchanged
# since the last install (npm writes node_modules/.package-lock.json).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx --no-install vite build --logLevel warn
