#!/usr/bin/env bash
# Sets up, builds (Release) and runs the server on its embedded default: 127.0.0.1:8080 with
# SQLite under ./var/, and the web console at http://127.0.0.1:8080/ (docs/CONSOLE.md).
# Extra arguments go to `openkonnect serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build -DOPENKONNECT_TESTS=OFF
bash scripts/build-console.sh
mkdir -p var
exec build/openkonnect serve --listen "${OPENKONNECT_LISTEN:-127.0.0.1:8080}" \
  --database "${OPENKONNECT_DATABASE:-sqlite:./var/openkonnect.db}" --console-dir web/dist "$@"
