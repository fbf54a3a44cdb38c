#!/usr/bin/python3
"""What sharing the rate limits through Redis costs (issue 14): authenticated reads with the
budgets kept in memory against the same reads with `--redis-url`, in one run.

Run it through bench/run.sh (`BENCH_ONLY=redis bash bench/run.sh`), or directly:
`OPENKONNECT_BENCH_BIN=build/openkonnect /usr/bin/python3 bench/redis_suite.py`.

In one run, on loopback: a throwaway Redis (`scripts/redis.sh`), and one `openkonnect serve` at a
time on a fresh SQLite file with the token and organization budgets on but too large to refuse
anything (so that every request is checked and spent, never refused), loaded with `wrk -t2 -c64
-d8s` after a 2 s warm-up on `GET /v3/users/me` with the organization admin's PAT (answered from
the server's caches: what is left is the request itself and its rate-limit check). The runs, in
this order: budgets in memory; Redis (with the default I/O threads, four per core with
--redis-url); Redis with one I/O thread per core; budgets in memory again (the baseline is the
mean of the two in-memory runs). Per run: the server's CPU, Redis's and wrk's.

Writes a markdown report to bench/results/redis-latest.md (BENCH_REDIS_OUTPUT to change)."""

import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_common import (_started, _terminate, cpu_s, fmt_duration, fmt_ms, fmt_num, free_port, http_status,  # noqa: E402
                          log, machine_info, parse_wrk, stop_process)

ROOT = BENCH.parent
LUA = BENCH / "lua"
BIN = os.environ.get("OPENKONNECT_BENCH_BIN") or str(ROOT / "build" / "openkonnect")
OUTPUT = os.environ.get("BENCH_REDIS_OUTPUT") or str(BENCH / "results" / "redis-latest.md")
DURATION = int(os.environ.get("BENCH_REDIS_DURATION", "8"))
WARMUP = 2
THREADS, CONNECTIONS = 2, 64
# Budgets that are checked and spent on every request but never refuse one in a run.
LIMITS = ["--rate-limit-token", "100000000/60", "--rate-limit-org", "100000000/60"]
CORES = os.cpu_count() or 1
RUNS = (("memory", "budgets in memory", []),
        ("redis", "budgets in Redis (--redis-url; I/O threads: 4 per core, the default with it)", ["redis"]),
        ("redis_one_per_core", "budgets in Redis, --threads %d (one per core)" % CORES,
         ["redis", "--threads", str(CORES)]),
        ("memory_again", "budgets in memory, again", []))


def redis(command, directory):
    out = subprocess.run(["bash", str(ROOT / "scripts" / "redis.sh"), command, directory], capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("scripts/redis.sh %s failed: %s" % (command, out.stderr.strip()[-1000:]))
    return out.stdout.strip()


def serve(workdir, key, extra):
    db = "sqlite:" + os.path.join(workdir, key + ".db")
    org = json.loads(subprocess.run([BIN, "org", "create", "--database", db, "--name", "bench-" + key,
                                     "--admin-email", "admin@%s.bench.example" % key.replace("_", "-")],
                                    capture_output=True, text=True, timeout=60, check=True).stdout)
    port = free_port()
    args = [BIN, "serve", "--listen", "127.0.0.1:%d" % port, "--database", db, "--cluster-listen", "off"]
    args += LIMITS + extra
    stderr = open(os.path.join(workdir, key + ".stderr.log"), "ab")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)
    _started.append(proc)
    deadline = time.time() + 30
    while http_status(port) != 200:
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("the server did not start: %s" % " ".join(args))
        time.sleep(0.02)
    return proc, port, org["token"]


def run(workdir, key, label, extra, redis_url, redis_pid):
    extra = [redis_url if a == "redis" else a for a in extra]
    if redis_url in extra:
        extra = ["--redis-url"] + extra
    proc, port, token = serve(workdir, key, extra)
    try:
        tokens = os.path.join(workdir, key + ".tokens")
        with open(tokens, "w") as f:
            f.write(token + "\n")
        env = dict(os.environ, BENCH_PATH="/v3/users/me", BENCH_TOKENS_FILE=tokens)
        url = "http://127.0.0.1:%d" % port
        subprocess.run(["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % WARMUP, "-s", str(LUA / "get.lua"),
                        url], env=env, capture_output=True, timeout=WARMUP + 30)
        cmd = ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % DURATION, "--timeout", "10s", "--latency",
               "-s", str(LUA / "get.lua"), url]
        server0, redis0, t0 = cpu_s(proc.pid), cpu_s(redis_pid), time.perf_counter()
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=DURATION + 60)
        wall = time.perf_counter() - t0
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = parse_wrk(done.stdout + done.stderr)
        r.update(key=key, label=label, cmd=" ".join(cmd), server_cores=(cpu_s(proc.pid) - server0) / wall,
                 redis_cores=(cpu_s(redis_pid) - redis0) / wall,
                 wrk_cores=((kids1.ru_utime - kids0.ru_utime) + (kids1.ru_stime - kids0.ru_stime)) / wall)
        with open(os.path.join(workdir, key + ".stderr.log"), errors="replace") as f:
            log_text = f.read()
        r["shared"] = "rate limits shared through" in log_text
        r["fallback"] = "rate limits are local to this node" in log_text
        if done.returncode != 0 or not r["rps"] or r["non2xx"] or r["socket_errors"]:
            raise RuntimeError("%s: wrk exited %d, non-2xx %s: %s" % (label, done.returncode, r["non2xx"],
                                                                    (done.stdout + done.stderr)[-500:]))
        log("%s: %s req/s, p99 %s" % (label, fmt_num(r["rps"]), fmt_ms(r["p99_ms"])))
        return r
    finally:
        stop_process(proc)


def main():
    signal.signal(signal.SIGTERM, _terminate)
    started = time.time()
    workdir = tempfile.mkdtemp(prefix="ok-bench-redis-")
    redis_dir = os.path.join(workdir, "redis")
    results = []
    try:
        url = redis("start", redis_dir)
        with open(os.path.join(redis_dir, "redis.pid")) as f:
            redis_pid = int(f.read().strip())
        load0 = os.getloadavg()[0]
        for key, label, extra in RUNS:
            results.append(run(workdir, key, label, extra, url, redis_pid))
        load1 = os.getloadavg()[0]
    finally:
        for proc in list(_started):
            stop_process(proc)
        try:
            redis("stop", redis_dir)
        except RuntimeError as e:
            log(str(e))
    report(results, load0, load1, time.time() - started)


def report(results, load0, load1, wall):
    by = {r["key"]: r for r in results}
    base = (by["memory"]["rps"] + by["memory_again"]["rps"]) / 2
    info = machine_info(BIN, ROOT)
    lines = ["# openkonnect: rate limits in Redis against in memory", "",
             "Generated by `bench/redis_suite.py` on %s (UTC). Suite wall time: **%s**." % (
                 time.strftime("%Y-%m-%d %H:%M", time.gmtime()), fmt_duration(wall)), "",
             "Machine: %d CPUs (%s), %s RAM; %s; %s." % (info["nproc"], info["cpu"], info["mem"], info["openkonnect"],
                                                       info["wrk"]),
             "Measured: %s. Load average (1 min) at the start: %.1f; at the end: %.1f. The server, Redis and wrk share "
             "the machine's cores: read each run against the in-memory baseline of this run." % (
                 info["source"], load0, load1), "",
             "Command: `BENCH_ONLY=redis bash bench/run.sh`; each run `%s` (`BENCH_PATH=/v3/users/me`, the admin's "
             "PAT), after a %d s warm-up; the server `openkonnect serve --database sqlite:… --cluster-listen off %s` "
             "plus the run's flags." % (by["memory"]["cmd"].replace(by["memory"]["cmd"].split()[-1], "URL"), WARMUP,
                                        " ".join(LIMITS)), "",
             "| run | req/s | against in memory | p50 | p99 | server cores | Redis cores | wrk cores | shared through "
             "Redis |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append("| %s | %s | %.2f× | %s | %s | %.2f | %.2f | %.2f | %s |" % (
            r["label"], fmt_num(r["rps"]), r["rps"] / base, fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
            r["server_cores"], r["redis_cores"], r["wrk_cores"],
            "yes" if r["shared"] and not r["fallback"] else ("fell back" if r["fallback"] else "—")))
    lines += ["", "In-memory baseline: the mean of the two in-memory runs, %s req/s." % fmt_num(base), ""]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w") as f:
        f.write(text)
    print(text)
    for r in results:
        if r["key"].startswith("redis") and (not r["shared"] or r["fallback"]):
            raise SystemExit("%s: the server did not share its limits through Redis for the whole run" % r["label"])


if __name__ == "__main__":
    main()
