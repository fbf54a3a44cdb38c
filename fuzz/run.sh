#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan+UBSan, in ./build-fuzz) and runs them.
#
#   fuzz/run.sh replay                  runs every target once over its seed corpus
#                                       (fuzz/corpus/TARGET) and saved reproducers
#                                       (fuzz/regressions/TARGET); non-zero on any crash.
#                                       scripts/test.sh runs this.
#   fuzz/run.sh fuzz TARGET MINUTES [--keep-going] [libFuzzer flags...]
#                                       fuzzes one target for MINUTES minutes, starting from
#                                       its seeds; new inputs go to a scratch corpus
#                                       ($OPENKONNECT_FUZZ_WORK/TARGET/corpus, default
#                                       /tmp/openkonnect-fuzz), never into the repository;
#                                       failing inputs to $OPENKONNECT_FUZZ_WORK/TARGET/.
#                                       Prints executions and coverage (cov:/ft:) at the
#                                       end. Stops at the first crash unless --keep-going
#                                       (libFuzzer's -fork=1 -ignore_crashes=1: one child
#                                       process, restarted after each crash). One process
#                                       at a time: no -jobs/-workers on a shared machine.
#   fuzz/run.sh build                   only builds.
#   fuzz/run.sh replay-build DIR        the replay without libFuzzer: runs DIR/TARGET_fuzzer_replay
#                                       (fuzz/replay_main.cpp, built when DIR was configured
#                                       with -DOPENKONNECT_FUZZ_REPLAY=ON) over the same files.
#                                       scripts/test.sh runs this in its ASan+UBSan build, which
#                                       spares CI a second, clang-built copy of the core.
#
# TARGET is one of: request, json_validator, query, token, entity (fuzz/TARGET_fuzzer.cpp).
# The build directory can be changed with OPENKONNECT_FUZZ_BUILD (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${OPENKONNECT_FUZZ_BUILD:-build-fuzz}
targets=(request json_validator query token entity)

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

build_fuzzers() {
  if [ ! -f "$build/CMakeCache.txt" ]; then
    # -O1 keeps the instrumented build quick; assertions stay on (no NDEBUG). Warnings are
    # not errors here: the Release build (GCC) is the one that enforces them.
    CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DOPENKONNECT_FUZZ=ON -DOPENKONNECT_TESTS=OFF \
      -DOPENKONNECT_WERROR=OFF >/dev/null
  fi
  local log
  log=$(mktemp)
  if ! cmake --build "$build" --target fuzzers --parallel "$(nproc)" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "fuzz: the build failed" >&2
    exit 1
  fi
  rm -f "$log"
}

# The fuzzers' databases live on tmpfs when there is one (fsync is free there), in one
# directory per run.sh invocation that is removed at exit, crash or not.
scratch_base=/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch_base=/dev/shm; fi
export OPENKONNECT_FUZZ_TMPDIR
OPENKONNECT_FUZZ_TMPDIR=$(mktemp -d "$scratch_base/openkonnect-fuzz-db.XXXXXX")
trap 'rm -rf "$OPENKONNECT_FUZZ_TMPDIR"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

replay() {
  local failed=0 t dirs started elapsed
  started=$(date +%s)
  for t in "${targets[@]}"; do
    dirs=("fuzz/corpus/$t")
    if [ -d "fuzz/regressions/$t" ]; then dirs+=("fuzz/regressions/$t"); fi
    local log
    log=$(mktemp)
    # A failing input is already a file in the corpus: libFuzzer's copy goes to scratch.
    if "$build/${t}_fuzzer" -runs=0 -artifact_prefix="$OPENKONNECT_FUZZ_TMPDIR/" "${dirs[@]}" >"$log" 2>&1; then
      echo "fuzz replay: $t ok ($(grep -a -m1 -o 'INITED.*' "$log" | sed 's/ exec\/s.*//'))"
    else
      echo "fuzz replay: $t FAILED; libFuzzer's output:" >&2
      cat "$log" >&2
      failed=1
    fi
    rm -f "$log"
  done
  elapsed=$(($(date +%s) - started))
  echo "fuzz replay: ${#targets[@]} targets in ${elapsed}s"
  return $failed
}

fuzz() {
  local t=$1 minutes=$2
  shift 2
  if [ ! -x "$build/${t}_fuzzer" ]; then
    echo "unknown target [$t]; one of: ${targets[*]}" >&2
    exit 2
  fi
  case $minutes in '' | *[!0-9]*) echo "MINUTES must be a whole number" >&2; exit 2 ;; esac
  local extra=()
  if [ "${1:-}" = "--keep-going" ]; then
    # One child process at a time that is restarted after each crash; every crash is saved.
    extra+=(-fork=1 -ignore_crashes=1)
    shift
  fi
  if [ -f "fuzz/dict/$t.dict" ]; then extra+=("-dict=fuzz/dict/$t.dict"); fi
  local work=${OPENKONNECT_FUZZ_WORK:-/tmp/openkonnect-fuzz}/$t
  mkdir -p "$work/corpus"
  # Seeds only: the reproducers in fuzz/regressions are for replay (an unfixed one would stop
  # the run at once).
  local dirs=("$work/corpus" "fuzz/corpus/$t")
  local log=$work/last-run.log
  echo "fuzzing $t for $minutes minute(s); scratch corpus $work/corpus, log $log"
  local rc=0
  "$build/${t}_fuzzer" -max_total_time=$((minutes * 60)) -print_final_stats=1 -artifact_prefix="$work/" \
    "${extra[@]}" "$@" "${dirs[@]}" >"$log" 2>&1 || rc=$?

  # Executions: the final stats, or in --keep-going mode the last status line ("#N: cov: ...").
  local last execs
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(grep -m1 -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  if [ -z "$execs" ]; then execs=$(echo "$last" | grep -oE '^#[0-9]+' | tr -d '#' || true); fi
  echo "last status line: ${last:-none}"
  echo "executions: ${execs:-unknown} in $minutes minute(s)"
  # Coverage of what the run kept (scratch corpus and seeds), measured the
  # same way whatever the mode: one pass over them.
  local cov
  cov=$("$build/${t}_fuzzer" -runs=0 "${dirs[@]}" 2>&1 | grep -m1 -oE 'INITED cov: [0-9]+ ft: [0-9]+ corp: [^ ]+' || true)
  echo "corpus after the run: ${cov:-unknown}"

  local artifacts
  artifacts=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  if [ -n "$artifacts" ]; then
    echo "fuzz: $t: $(echo "$artifacts" | wc -l) failing input(s) in $work/; distinct causes:" >&2
    local a
    for a in $artifacts; do
      "$build/${t}_fuzzer" "$a" 2>&1 | grep -m1 -E 'INVARIANT VIOLATED|SUMMARY' | sed -E 's/^==[0-9]+==//' || true
    done | sort | uniq -c >&2
    return 1
  fi
  return $rc
}

replay_build() {
  local dir=$1 failed=0 t dirs log
  for t in "${targets[@]}"; do
    dirs=("fuzz/corpus/$t")
    if [ -d "fuzz/regressions/$t" ]; then dirs+=("fuzz/regressions/$t"); fi
    log=$(mktemp)
    if "$dir/${t}_fuzzer_replay" "${dirs[@]}" >"$log" 2>&1; then
      echo "fuzz replay: $t ok ($(tail -1 "$log"))"
    else
      echo "fuzz replay: $t FAILED:" >&2
      cat "$log" >&2
      failed=1
    fi
    rm -f "$log"
  done
  return $failed
}

case ${1:-} in
  build) build_fuzzers ;;
  replay-build)
    [ -n "${2:-}" ] || usage
    cmake --build "$2" --target fuzz_replays --parallel "$(nproc)" >/dev/null
    replay_build "$2"
    ;;
  replay)
    build_fuzzers
    replay
    ;;
  fuzz)
    [ $# -ge 3 ] || usage
    build_fuzzers
    shift
    fuzz "$@"
    ;;
  *) usage ;;
esac
