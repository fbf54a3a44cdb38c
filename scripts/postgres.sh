#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and local runs.
#   scripts/postgres.sh start DIR   creates the cluster in DIR (once) and starts it on a free
#                                   127.0.0.1 port (the one it had, when started again); prints postgres://postgres@127.0.0.1:PORT/postgres
#                                   and writes it to DIR/url
#   scripts/postgres.sh stop DIR    stops it (fast mode); removes nothing
# Both are idempotent. Layout: DIR/data (the cluster), DIR/run (its unix sockets and log).
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` OS user
# (created by Debian's package). Needs only the `postgresql-15` package: no service is used.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

usage() { die "usage: $0 start|stop DIR"; }

(($# == 2)) || usage
command=$1
[ "$command" = start ] || [ "$command" = stop ] || usage
[ -x "$PG_BIN/pg_ctl" ] || die "$PG_BIN/pg_ctl not found: install Debian's postgresql-15 (scripts/setup.sh does)"

if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "no 'postgres' OS user to run the cluster as (it comes with the postgresql package)"
  as_owner() { runuser -u postgres -- "$@"; }
else
  as_owner() { "$@"; }
fi

if [ "$command" = stop ] && [ ! -e "$2" ]; then
  echo "postgres.sh: no cluster in $2" >&2
  exit 0
fi
mkdir -p "$2"
dir=$(cd "$2" && pwd)
data=$dir/data
run=$dir/run

running() { [ -f "$data/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" status -D "$data" >/dev/null 2>&1; }

# A port nothing on 127.0.0.1 answers on. Another process may still take it before the server
# binds it: start() then tries another.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found on 127.0.0.1"
}

start() {
  if running; then
    [ -f "$dir/url" ] || die "a cluster runs in $data but $dir/url is missing"
    cat "$dir/url"
    return 0
  fi
  mkdir -p "$run" "$data"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$run" "$data"; fi
  chmod 700 "$data"
  as_owner test -w "$run" || die "the postgres user cannot write to $run (is a parent directory closed to it?)"
  if [ ! -f "$data/PG_VERSION" ]; then
    # C.UTF-8: text sorts by code point as in SQLite, and lower() folds every script.
    as_owner "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --locale=C.UTF-8 --encoding=UTF8 \
      >"$run/initdb.log" 2>&1 || die "initdb failed: see $run/initdb.log"
    # Durability is part of the contract: these are the defaults, pinned so that nobody's
    # speed-up in a shared config silently changes what the tests measure.
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$run'
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
  fi
  local port previous=""
  # A cluster started again keeps its port when it can: clients hold its URL.
  [ -f "$dir/url" ] && previous=$(sed -n 's|.*@127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$dir/url")
  for attempt in 1 2 3; do
    if [ -n "$previous" ] && [ "$attempt" = 1 ]; then port=$previous; else port=$(free_port); fi || exit 1
    if as_owner "$PG_BIN/pg_ctl" start -D "$data" -l "$run/postgres.log" -w -t 30 -o "-p $port" >/dev/null; then
      echo "postgres://postgres@127.0.0.1:$port/postgres" | tee "$dir/url"
      return 0
    fi
    echo "postgres.sh: start on port $port failed (attempt $attempt); last log lines:" >&2
    tail -n 5 "$run/postgres.log" >&2 || true
  done
  die "could not start the cluster in $data: see $run/postgres.log"
}

stop() {
  if ! running; then
    echo "postgres.sh: no cluster runs in $data" >&2
    return 0
  fi
  as_owner "$PG_BIN/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null || die "pg_ctl stop failed: see $run/postgres.log"
}

"$command"
