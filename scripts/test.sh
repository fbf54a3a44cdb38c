#!/usr/bin/env bash
# Sets up, builds and runs every test:
#   1. Release build (warnings are errors): GoogleTest unit tests (ctest) and the pytest
#      end-to-end suite against build/openkonnect; the web console (web/, built by
#      scripts/build-console.sh) in headless Chromium against that binary (web/tests/).
#   2. ASan+UBSan build: the same unit tests, and the end-to-end suite against the instrumented
#      binary on PostgreSQL (a throwaway cluster, scripts/postgres.sh): so the whole suite runs
#      on both databases, the store's shared SQL under the sanitizers.
#   3. Fuzz regression replay: every fuzz target runs once over its seed corpus and saved
#      reproducers, built into the ASan+UBSan build without libFuzzer (fuzz/run.sh replay-build;
#      with OPENKONNECT_SKIP_SANITIZE=1, the libFuzzer build: fuzz/run.sh replay).
# Set OPENKONNECT_SKIP_SANITIZE=1 to skip step 2, OPENKONNECT_SKIP_FUZZ=1 to skip step 3,
# while iterating locally.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Each stage's header says when it began: seconds since the start of the run.
stage() { echo "== $* [${SECONDS} s]"; }

# Servers the tests need, started by hand (apt starts no services here) and stopped on exit.
SERVICES=$(mktemp -d /tmp/openkonnect-test-services.XXXXXX)
chmod 755 "$SERVICES"  # PostgreSQL runs as its own user, which must reach its directory
stop_services() {
  kill $(jobs -p) 2>/dev/null || true  # background builds, when a stage failed before their end
  bash scripts/postgres.sh stop "$SERVICES/postgres" >/dev/null 2>&1 || true
  bash scripts/redis.sh stop "$SERVICES/redis" >/dev/null 2>&1 || true
  rm -rf "$SERVICES"
}
trap stop_services EXIT
export OPENKONNECT_TEST_POSTGRES_URL OPENKONNECT_TEST_REDIS_URL
OPENKONNECT_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$SERVICES/postgres")
# For the RedisLimiter unit tests (tests/e2e/test_redis_limits.py starts Redis of its own).
OPENKONNECT_TEST_REDIS_URL=$(bash scripts/redis.sh start "$SERVICES/redis")

# run_suites DIR DATABASE: the unit tests, then the end-to-end suite with every server on
# DATABASE ("sqlite", or "postgres": a database of its own in the test cluster).
# The end-to-end modules run on one pytest worker per core (pytest-xdist), each module whole on
# one worker: most of a test's time is spent waiting for its server, and every test starts
# servers of its own on free ports, so two at once take about 60 % of the time.
run_suites() {
  local dir=$1 database=$2
  # The audit log's minute-long outage waits a minute: it runs beside the soak instead (below).
  local pytest=(/usr/bin/python3 -m pytest -q tests/e2e -p no:cacheprovider -n "$(nproc)" --dist loadfile
    --deselect tests/e2e/test_audit_outage.py::test_a_receiver_down_for_a_minute_then_up_gets_everything_in_order)
  stage "unit tests ($dir)"
  # Each test binary in 4 GoogleTest shards (-DOPENKONNECT_TEST_SHARDS=4), two at a time per
  # core: many tests wait on PostgreSQL, Redis or a timer rather than compute, and one process
  # per test cost the sanitized build about a second each.
  ctest --test-dir "$dir" --output-on-failure --timeout 120 -j "$(($(nproc) * 2))"
  stage "end-to-end tests ($dir, $database)"
  if [ "$database" = postgres ]; then
    OPENKONNECT_BIN="$PWD/$dir/openkonnect" "${pytest[@]}"
  else
    OPENKONNECT_TEST_POSTGRES_URL= OPENKONNECT_BIN="$PWD/$dir/openkonnect" "${pytest[@]}"
  fi
}

# The web console's npm install and build, beside the Release build (the install mostly waits
# on the registry and the disk).
nice -n 19 bash scripts/build-console.sh >"$SERVICES/console-build.log" 2>&1 &
console_build=$!

if [ "${OPENKONNECT_SKIP_SANITIZE:-0}" != "1" ]; then
  # The instrumented build runs at the lowest priority from the start, beside the Release build
  # (whose links and last files leave a core idle) and its tests (which mostly wait on their
  # servers): it takes the CPU they leave, and gives it back at once when they need it (nice 19
  # against 0 is about 1.5 % of a contended core).
  # -Werror stays on the Release build: GCC 12 reports false maybe-uninitialized warnings
  # inside libstdc++ when sanitizers instrument optimized code.
  # -O0 and line tables only: the instrumented build compiles in 60 % of the CPU time of -O1
  # (Beast's and Asio's templates dominate; 621 s against 1084 s on 2 cores), and the suites it
  # runs, mostly waiting on servers and PostgreSQL, take about 40 s longer.
  nice -n 19 bash scripts/build.sh build-asan -DOPENKONNECT_TESTS=ON -DOPENKONNECT_SANITIZE=ON \
    -DOPENKONNECT_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1" \
    -DOPENKONNECT_FUZZ_REPLAY=ON -DOPENKONNECT_TEST_SHARDS=4 >"$SERVICES/asan-build.log" 2>&1 &
  asan_build=$!
fi

stage "build (Release)"
bash scripts/build.sh build -DOPENKONNECT_TESTS=ON -DOPENKONNECT_TEST_SHARDS=4

run_suites build sqlite

stage "web console in headless Chromium (screenshots in web/test-artifacts/)"
if ! wait "$console_build"; then
  cat "$SERVICES/console-build.log"
  exit 1
fi
(cd web && OPENKONNECT_BIN="$PWD/../build/openkonnect" node --test tests/)

stage "soak (60 s at 256 connections; the 10-minute run is documented in docs/RELIABILITY.md)"
echo "   and meanwhile the audit log's webhook down for a minute (tests/e2e/test_audit_outage.py)"
# That test mostly waits (a request a second, retries with backoff): beside the soak it costs
# the run no time, and the soak's load does not change what it checks.
OPENKONNECT_TEST_POSTGRES_URL= OPENKONNECT_BIN="$PWD/build/openkonnect" /usr/bin/python3 -m pytest -q \
  tests/e2e/test_audit_outage.py -p no:cacheprovider >"$SERVICES/outage.log" 2>&1 &
outage=$!
# The soak's server is on this run's PostgreSQL cluster (OPENKONNECT_TEST_POSTGRES_URL, read by
# the e2e harness it starts the server with); docs/RELIABILITY.md's 10-minute figures are SQLite's.
/usr/bin/python3 tests/reliability/soak.py --seconds 60 --window 10 --warmup 30
if ! wait "$outage"; then
  cat "$SERVICES/outage.log"
  exit 1
fi
tail -n 1 "$SERVICES/outage.log"

if [ "${OPENKONNECT_SKIP_SANITIZE:-0}" != "1" ]; then
  stage "build (ASan+UBSan): waiting for the background build"
  if ! wait "$asan_build"; then
    tail -n 60 "$SERVICES/asan-build.log"
    exit 1
  fi
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suites build-asan postgres
fi

if [ "${OPENKONNECT_SKIP_FUZZ:-0}" != "1" ]; then
  if [ "${OPENKONNECT_SKIP_SANITIZE:-0}" != "1" ]; then
    # The ASan+UBSan build replays the fuzz targets' corpora and reproducers itself; the
    # libFuzzer build (clang, `fuzz/run.sh replay`) is for fuzzing.
    stage "fuzz corpora replay (ASan+UBSan build)"
    bash fuzz/run.sh replay-build build-asan
  else
    echo "== fuzz corpora replay (libFuzzer, ASan+UBSan)"
    bash fuzz/run.sh replay
  fi
fi
stage "all tests passed"
