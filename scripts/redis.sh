#!/usr/bin/env bash
# A throwaway Redis for the tests (Debian's redis-server; apt here installs it but starts no
# service):
#
#   scripts/redis.sh start DIR   # prints redis://127.0.0.1:PORT and writes it to DIR/url
#   scripts/redis.sh stop DIR
#
# It listens on 127.0.0.1 only, keeps nothing on disk (no RDB snapshots, no AOF), and keeps
# its pid file and log in DIR. `start` is idempotent: a Redis already running from DIR is left
# alone and its URL printed again. A DIR that held a Redis before gets the same port again, so
# that servers given its URL find it back after a stop and start; otherwise the port is a free
# one. `stop` on a DIR with no running Redis does nothing.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
command=$1
dir=$2
[ -n "$dir" ] || usage

# The pid in DIR/redis.pid if that process is a live redis-server: a stale pid file may name a
# process that has nothing to do with us, and an exited Redis stays a zombie until reaped.
running_pid() {
  local pid state
  pid=$(cat "$dir/redis.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  state=$(ps -o comm=,stat= -p "$pid" 2>/dev/null) || return 1
  [[ "$state" =~ ^redis-server\ +[^Z] ]] && echo "$pid"
}

port_of_url() { sed -n 's|^redis://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$dir/url" 2>/dev/null || true; }

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "redis.sh: redis-server or redis-cli missing (bash scripts/setup.sh installs them)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if running_pid >/dev/null && [ -n "$(port_of_url)" ]; then
    cat "$dir/url"
    return
  fi
  local port reuse=0
  port=$(port_of_url)
  if [ -n "$port" ]; then reuse=1; else port=$(free_port); fi
  # A free port can be taken by someone else before Redis binds it: then another one is tried
  # (not when reusing DIR's port, which clients already know).
  for attempt in 1 2 3; do
    rm -f "$dir/redis.pid"
    local log_size
    log_size=$(stat -c %s "$dir/redis.log" 2>/dev/null || echo 0)
    redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save '' --appendonly no \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --protected-mode yes ||
      { echo "redis.sh: redis-server refused to start; see $dir/redis.log" >&2; exit 1; }
    local deadline=$((SECONDS + 10))
    while [ "$SECONDS" -lt "$deadline" ]; do
      if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && running_pid >/dev/null; then
        echo "redis://127.0.0.1:$port" >"$dir/url"
        cat "$dir/url"
        return
      fi
      # A daemonized Redis that cannot listen (the port was taken) says so in its log and exits.
      if tail -c +$((log_size + 1)) "$dir/redis.log" 2>/dev/null | grep -q aborting; then break; fi
      sleep 0.1
    done
    if pid=$(running_pid); then kill "$pid" 2>/dev/null || true; fi
    if [ "$reuse" = 1 ]; then
      echo "redis.sh: Redis did not start on port $port, DIR's port from before (taken?); see $dir/redis.log" >&2
      exit 1
    fi
    echo "redis.sh: Redis did not start on port $port (attempt $attempt); trying another port" >&2
    port=$(free_port)
  done
  echo "redis.sh: Redis did not start; see $dir/redis.log" >&2
  exit 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    return
  fi
  # SIGTERM is Redis's orderly shutdown, and needs no password (a test may have set one); with
  # persistence off there is nothing to save.
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$deadline" ]; do
    running_pid >/dev/null || { rm -f "$dir/redis.pid"; return; }
    sleep 0.1
  done
  echo "redis.sh: Redis (pid $pid) still running 10 s after SIGTERM; killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/redis.pid"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
