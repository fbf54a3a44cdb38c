#!/usr/bin/env bash
# Installs every build and test dependency of openkonnect from Debian's packages.
# Idempotent: packages already present are left alone, and apt's index is refreshed
# only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev sqlite3 libpq-dev postgresql libssl-dev libpcre2-dev zlib1g-dev libhiredis-dev
  libyaml-cpp-dev libyaml-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
  python3 python3-pytest python3-pytest-xdist python3-requests python3-jsonschema python3-yaml python3-cryptography
  python3-websockets
  redis-server
  curl procps wrk
  nodejs chromium fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all dependencies present" >&2
fi

# npm: Debian's package, unless the installed nodejs brings its own (some nodejs builds bundle
# npm, and then conflict with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing npm" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
