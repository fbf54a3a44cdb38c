#!/usr/bin/env python3
"""Soak: mixed load at many connections for a long time; nothing may fail or grow.

Usage: /usr/bin/python3 tests/reliability/soak.py [--seconds 600] [--connections 256] [--window 10]

Starts openkonnect (rate limits off) on a fresh database with 200 control planes, warms it up
(--warmup seconds, unmeasured), then runs wrk with tests/reliability/soak.lua in consecutive windows. After each window it records
requests/s, p99 and the server's RSS. It fails when the server answered any 5xx (read from
/metrics), crashed, its RSS (less the audit journal's mapped file, which fills and rotates by
design) grew more than 10 % between the end of the first minute (or the
first window, for runs of a minute or less) and the end, the last window's p99 is more
than 3 x the median window's p99, or the table grew (the mix deletes what it creates, so a
growing table means the load itself has changed). Prints a table and a one-line verdict.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from conftest import Server  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def memory_kib(pid):
    """VmRSS and its parts (RssAnon: the heap and stacks; RssFile: mapped files; RssShmem:
    shared memory such as SQLite's WAL index), in KiB; and "journal": the resident pages of the
    audit journal's mapped files (part of RssFile), from /proc/PID/smaps."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0])
    out["journal"] = 0
    in_journal = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            first = line.split(None, 1)[0]
            if not first.endswith(":"):  # a mapping's header: address range, perms, ..., path
                path = line.split()[5:]
                in_journal = bool(path) and path[0].endswith(".journal")
            elif first == "Rss:" and in_journal:
                out["journal"] += int(line.split()[1])
    return out


def parse_latency(text, label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), text, re.M)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000.0 if unit == "us" else value * 1000.0 if unit == "s" else value


def server_memory_mib(srv):
    """The server's own account of its memory, from /metrics: SQLite's (store), the allocator's
    bytes in use and free (heap, free) and the read caches' (caches), to tell which one grows."""
    text = srv.request("GET", "/metrics").text

    def total(pattern):
        values = [int(v) for v in re.findall(pattern, text, re.M)]
        return sum(values) / 1048576.0 if values else float("nan")
    return {"store": total(r"^openkonnect_store_memory_bytes (\d+)$"),
            "heap": total(r"^openkonnect_heap_in_use_bytes (\d+)$"),
            "free": total(r"^openkonnect_heap_free_bytes (\d+)$"),
            "caches": total(r"^openkonnect_cache_bytes\{[^}]*\} (\d+)$")}


def database_mib(path):
    """The database file and its write-ahead log, which SQLite reuses rather than truncates:
    either one growing all through the run would be a finding of its own."""
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)) / 1048576.0


def five_xx(srv):
    text = srv.request("GET", "/metrics").text
    total = 0
    for line in text.splitlines():
        m = re.match(r'openkonnect_http_requests_total\{route="[^"]*",status="(5\d\d|5xx_other)"\} (\d+)', line)
        if m:
            total += int(m.group(2))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--connections", type=int, default=256)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=30,
                    help="seconds of unmeasured load first (caches and the database's working set fill up)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (scripts/setup.sh installs it)")
        return 2

    srv = Server(["--rate-limit-token", "0", "--rate-limit-org", "0", "--rate-limit-auth-failures", "0",
                  "--max-connections", str(args.connections * 4)]).start()
    try:
        org = srv.create_org("soak")
        ids = []
        for i in range(200):
            r = srv.request("POST", "/v2/control-planes", token=org["token"], json={"name": "seed-%d" % i})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        ids_file = os.path.join(srv.dir, "ids.txt")
        with open(ids_file, "w") as f:
            f.write("\n".join(ids) + "\n")
        env = dict(os.environ, TOKEN=org["token"], IDS_FILE=ids_file, THREADS="2",
                   LEFTOVER_FILE=os.path.join(srv.dir, "leftover.txt"))

        def run_wrk(length):
            return subprocess.run(["wrk", "-t2", "-c%d" % args.connections, "-d%ds" % length, "--latency",
                                   "--timeout", "5s", "-s", os.path.join(HERE, "soak.lua"), srv.base],
                                  capture_output=True, text=True, env=env, timeout=length + 30)

        def control_plane_count():
            r = srv.request("GET", "/v2/control-planes?page[size]=1", token=org["token"])
            return r.json()["meta"]["page"]["total"]

        def hand_back_orphans():
            """Creates cut off by the end of a window were committed but their ids never reached
            wrk: add them to the ids the next window deletes, so the table keeps its size."""
            known = set(open(env["LEFTOVER_FILE"]).read().split()) if os.path.exists(env["LEFTOVER_FILE"]) else set()
            orphans, page = [], 1
            while True:
                r = srv.request("GET", "/v2/control-planes?filter[name][contains]=soak-&page[size]=100&page[number]=%d"
                                % page, token=org["token"])
                rows = r.json()["data"]
                orphans += [row["id"] for row in rows if row["name"].startswith("soak-") and row["id"] not in known]
                if len(rows) < 100:
                    break
                page += 1
            with open(env["LEFTOVER_FILE"], "a") as f:
                f.write("".join(i + "\n" for i in orphans))

        # Warm-up (connections, caches, the database's first pages): not measured.
        run_wrk(args.warmup)
        hand_back_orphans()
        rows_after_warmup = control_plane_count()
        windows = []
        started = time.time()
        baseline_rss = None
        for _ in range(max(1, args.seconds // args.window)):
            length = args.window
            out = run_wrk(length)
            if srv.proc.poll() is not None:
                print("FAIL: the server exited with %s during window %d" % (srv.proc.returncode, len(windows) + 1))
                return 1
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1))
            errors = re.search(r"Socket errors: (.*)", out.stdout)
            memory = memory_kib(srv.proc.pid)
            # The audit journal is a file the server maps and writes each request's record into
            # (src/audit/journal.hpp): its pages are resident from 0 to 16 MiB as a file fills,
            # and leave with it when it rotates. That is the page cache doing its work, not
            # memory the server keeps, so the growth check leaves it out (and prints it).
            rss = memory["VmRSS"] - memory["journal"]
            elapsed = time.time() - started
            windows.append({"t": elapsed, "rps": rps, "p50": parse_latency(out.stdout, "50%"),
                            "p99": parse_latency(out.stdout, "99%"), "rss": rss,
                            "anon": memory.get("RssAnon", 0), "file": memory.get("RssFile", 0),
                            "shmem": memory.get("RssShmem", 0), "journal": memory["journal"],
                            **server_memory_mib(srv),
                            "disk": database_mib(srv.database.split(":", 1)[1]),
                            "socket_errors": errors.group(1) if errors else ""})
            hand_back_orphans()
            # The reference is the end of the first minute (the first window for short runs).
            if baseline_rss is None and (elapsed >= 60 or args.seconds <= 60):
                baseline_rss = rss
        failures = five_xx(srv)
        rows_at_end = control_plane_count()

        # Memory columns in MiB: the resident set less the audit journal (the one judged), its
        # anonymous, file and shared parts, the journal's mapped pages (within "file"); then the
        # server's own account: SQLite, the allocator's bytes in use and free, the caches; last,
        # the database and its WAL on disk.
        print("%6s %8s %7s %7s %6s %6s %6s %6s %7s %6s %6s %6s %6s %7s  %s"
              % ("t (s)", "req/s", "p50 ms", "p99 ms", "RSS-j", "anon", "file", "shmem", "journal", "SQLite", "heap",
                 "free", "caches", "db+wal", "socket errors"))
        for w in windows:
            print("%6.0f %8.0f %7.2f %7.2f %6.1f %6.1f %6.1f %6.1f %7.1f %6.1f %6.1f %6.1f %6.2f %7.1f  %s"
                  % (w["t"], w["rps"], w["p50"], w["p99"], w["rss"] / 1024.0, w["anon"] / 1024.0, w["file"] / 1024.0,
                     w["shmem"] / 1024.0, w["journal"] / 1024.0, w["store"], w["heap"], w["free"], w["caches"],
                     w["disk"], w["socket_errors"]))
        final_rss = windows[-1]["rss"]
        growth = (final_rss - baseline_rss) / float(baseline_rss) if baseline_rss else 0.0
        p99s = sorted(w["p99"] for w in windows)
        median_p99 = p99s[len(p99s) // 2]
        verdicts = []
        if failures:
            verdicts.append("%d responses were 5xx" % failures)
        if growth > 0.10:
            verdicts.append("RSS (less the audit journal) grew %.1f %% (limit 10 %%)" % (growth * 100))
        # Each window's cut-off creates are handed back to the next, so only the last window's
        # (at most one a connection) may remain; more means the mix stopped deleting what it
        # creates, as it once did, and the memory and p99 trends would measure a growing table.
        if rows_at_end > rows_after_warmup + args.connections:
            verdicts.append("the table grew from %d to %d control planes" % (rows_after_warmup, rows_at_end))
        if windows[-1]["p99"] > 3 * median_p99:
            verdicts.append("last p99 %.1f ms > 3 x median %.1f ms" % (windows[-1]["p99"], median_p99))
        # The mix deletes what it creates, so the table should keep its size: a growing table
        # would slow the lists down and make the p99 trend meaningless.
        print("control planes: %d after the warm-up, %d at the end" % (rows_after_warmup, rows_at_end))
        print("5xx: %d; RSS less the audit journal %0.1f -> %0.1f MiB (%+.1f %%); p99 median %.2f ms, last %.2f ms"
              % (failures, baseline_rss / 1024.0, final_rss / 1024.0, growth * 100, median_p99, windows[-1]["p99"]))
        if verdicts:
            print("FAIL: " + "; ".join(verdicts))
            return 1
        print("PASS: %d s at %d connections, zero 5xx, no crash, RSS and p99 stable" % (args.seconds, args.connections))
        return 0
    finally:
        code = srv.stop()
        if code not in (0, None):
            print("the server exited with %s at shutdown" % code)


if __name__ == "__main__":
    sys.exit(main())
