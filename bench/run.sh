#!/usr/bin/env bash
# The openkonnect benchmark suite, in one command:
#
#   bash bench/run.sh
#
# 1. installs wrk, nginx and Python's requests from Debian's packages if missing (and, unless a
#    binary is given, the build dependencies through scripts/setup.sh);
# 2. builds Release into build/ (scripts/build.sh build -DOPENKONNECT_TESTS=OFF);
# 3. runs bench/suite.py under /usr/bin/python3, bounded to 10 minutes: baselines, scenarios,
#    memory and start-up; prints a markdown report and writes it to bench/results/latest.md;
# 4. runs bench/config_suite.py the same way, bounded to 10 minutes: the gateway configuration
#    (100 000 core entities PUT, dumped and paged, against baselines measured in the same run);
#    report in bench/results/config-latest.md;
# 5. runs bench/dataplane_suite.py the same way, bounded to 10 minutes (about 5): a 10 000-entity
#    configuration rendered and pushed to 1 000 emulated Kong data planes (tests/e2e/dataplane.py)
#    over the cluster listener: render time, connect, memory per idle data plane, propagation of
#    a change to all of them; report in bench/results/dataplane-latest.md;
# 6. runs bench/postgres_suite.py the same way, bounded to 10 minutes (about 3): a throwaway
#    PostgreSQL cluster (scripts/postgres.sh); durable creates and authenticated reads on
#    PostgreSQL against libpq baselines (pgbench) and against SQLite, 1 -> 3 nodes behind nginx,
#    and how fast a revocation on one node is refused by the others; report in
#    bench/results/postgres-latest.md.
# 7. runs bench/redis_suite.py the same way (about 1 minute): authenticated reads with the
#    rate-limit budgets in memory against the same with --redis-url (a throwaway Redis,
#    scripts/redis.sh); report in bench/results/redis-latest.md.
# 8. runs bench/audit_suite.py the same way (about 3 minutes): authenticated reads and durable
#    creates with the audit log on against --no-audit (and delivered to a local webhook), in
#    alternating rounds; report in bench/results/audit-latest.md.
#
# BENCH_ONLY=base runs only step 3, BENCH_ONLY=config only step 4, BENCH_ONLY=dataplane only
# step 5, BENCH_ONLY=postgres only step 6, BENCH_ONLY=redis only step 7, BENCH_ONLY=audit only
# step 8 (all six: unset).
# OPENKONNECT_BENCH_BIN=path/to/openkonnect skips steps 2 and the build dependencies and measures
# that binary. Other knobs (BENCH_DURATION, BENCH_WARMUP, BENCH_SCALE, BENCH_KEEP, BENCH_OUTPUT;
# BENCH_CONFIG_OUTPUT, BENCH_CONFIG_BUDGET for step 4; BENCH_DP_COUNT, BENCH_DP_DEBOUNCE_MS,
# BENCH_DP_OUTPUT, BENCH_DP_BUDGET for step 5; BENCH_PG_DURATION, BENCH_PG_ROUNDS, BENCH_PG_OUTPUT,
# BENCH_PG_BUDGET for step 6) are described in bench/suite.py, bench/config_suite.py,
# bench/dataplane_suite.py, bench/postgres_suite.py and docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_ONLY=${BENCH_ONLY:-}
case "$BENCH_ONLY" in
  "" | base | config | dataplane | postgres | redis | audit) ;;
  *) echo "bench: BENCH_ONLY must be empty, 'base', 'config', 'dataplane', 'postgres', 'redis' or 'audit'" >&2; exit 2 ;;
esac
t0=$(date +%s.%N)

packages=(wrk nginx python3 python3-requests python3-websockets python3-cryptography sqlite3 postgresql redis-server procps
  coreutils)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -z "${OPENKONNECT_BENCH_BIN:-}" ]; then
  bash scripts/setup.sh
  echo "bench: building Release into build/" >&2
  bash scripts/build.sh build -DOPENKONNECT_TESTS=OFF
  export OPENKONNECT_BENCH_BIN="$PWD/build/openkonnect"
fi
BENCH_BUILD_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
export BENCH_BUILD_SECONDS

# Each measurement is bounded: SIGTERM after 10 minutes (the suite then stops every process it
# started), SIGKILL 20 seconds later. Each suite runs even if an earlier one failed; the exit
# status is the first failure's.
status=0
run_suite() {
  local suite_status=0
  timeout -k 20 600 /usr/bin/python3 "$PWD/bench/$1" || suite_status=$?
  if [ "$status" -eq 0 ]; then status=$suite_status; fi
}
if [ -z "$BENCH_ONLY" ] || [ "$BENCH_ONLY" = base ]; then run_suite suite.py; fi
if [ -z "$BENCH_ONLY" ] || [ "$BENCH_ONLY" = config ]; then run_suite config_suite.py; fi
if [ -z "$BENCH_ONLY" ] || [ "$BENCH_ONLY" = dataplane ]; then run_suite dataplane_suite.py; fi
if [ -z "$BENCH_ONLY" ] || [ "$BENCH_ONLY" = postgres ]; then run_suite postgres_suite.py; fi
if [ -z "$BENCH_ONLY" ] || [ "$BENCH_ONLY" = redis ]; then run_suite redis_suite.py; fi
if [ -z "$BENCH_ONLY" ] || [ "$BENCH_ONLY" = audit ]; then run_suite audit_suite.py; fi
exit "$status"
