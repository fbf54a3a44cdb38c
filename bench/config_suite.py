#!/usr/bin/python3
"""The gateway-configuration benchmark (core entities under /v2/control-planes/{id}/core-entities).

Run it through bench/run.sh (after the main suite; `BENCH_ONLY=config bash bench/run.sh` runs only
this one), or directly: `OPENKONNECT_BENCH_BIN=build/openkonnect /usr/bin/python3 bench/config_suite.py`.

In one run, on this machine:

- Baseline (a), durable inserts: the rows the server writes for the same 100 000 entities
  (config_entities, config_unique, config_references, config_tags, byte for byte but for the
  timestamps) inserted with Python's sqlite3 into a database that `openkonnect migrate` created;
  WAL, synchronous=FULL, wal_autocheckpoint=8000 (the server writer's setting), 100 entities per
  transaction, one connection, in the load's order. Entities per second.
- The load: `openkonnect serve` on a fresh database; 25 000 services, 25 000 routes (route i ->
  service i), 20 000 consumers, 20 000 key-auth credentials (one per consumer), 10 000
  rate-limiting plugins (plugin i -> service i) = 100 000 entities PUT as decK does (client-side
  ids, full bodies; bench/lua/config_put.lua), kind after kind, each with wrk -t2 -c10.
- Baseline (b), raw read: the same bodies read back from (a)'s database in id order, 1 000 rows
  per SELECT (keyset, the server's own query shape), 10 Python threads, one connection each.
- The dump: 10 reader threads walking /services, /routes, /consumers, /key-auths and /plugins at
  size=1000, following `offset` (decK's loop): one sequential walk per kind, the 5 walks started
  together on the pool of 10 readers, so 5 readers are busy; (b) uses the same split. Checked:
  every id expected, none repeated. Also, informational, the dump split into 10 segments of
  10 000 rows (each segment starts from the cursor of the row before it, base64url of its id),
  so all 10 readers are busy; again (b) the same way.
- `openkonnect config` (issue 15): the loaded control plane dumped to a decK file (YAML, and
  JSON), that file synced into an empty control plane (all 100 000 created, PUT by id at
  --parallelism 10), then synced again (nothing to change), from YAML and from JSON; against the
  wrk load of the same entities and the dump's own time.
- Page depth: a second control plane with 1 000 services; 75 000 more services PUT into the
  first control plane so that it holds 100 000; then wrk -t2 -c10 -d5s on
  `GET …/services?size=100&offset=<cursor of the middle row>` of each list (1 000 rows, 100 000
  rows, 1 000 rows again; the ratio uses the mean of both 1 000-row runs).
- Memory: the server's VmHWM and VmRSS at the end (peak sampled every 50 ms too); its idle RSS
  after start is the reference.

Prints a markdown report and writes it to bench/results/config-latest.md (BENCH_CONFIG_OUTPUT).
Environment: OPENKONNECT_BENCH_BIN (binary, default build/openkonnect), BENCH_SCALE (shrinks every
count for a quick try; default 1), BENCH_KEEP=1 (keep the temporary directory),
BENCH_CONFIG_OUTPUT (report path). Bounded: every wrk run has -d and a driver timeout, the whole
suite a time budget (BENCH_CONFIG_BUDGET, default 540 s) after which remaining phases are
skipped; every process it started is stopped at the end, also on failure or SIGTERM.
"""

import base64
import datetime
import http.client
import json
import os
import queue
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (_started, _terminate, fmt_duration, fmt_ms, fmt_num, free_port, http_status,  # noqa: E402
                          loadavg, log, machine_info, parse_wrk, proc_status_kib, stop_process, verdict)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA = BENCH / "lua"
BIN = os.environ.get("OPENKONNECT_BENCH_BIN") or str(ROOT / "build" / "openkonnect")
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
OUTPUT = Path(os.environ.get("BENCH_CONFIG_OUTPUT") or (BENCH / "results" / "config-latest.md"))
BUDGET_S = float(os.environ.get("BENCH_CONFIG_BUDGET", "540"))

THREADS, CONNECTIONS = 2, 10  # wrk -t2 -c10: concurrency 10
READERS = 10                  # dump readers
PAGE = 1000                   # dump page size (decK's)
BATCH = 100                   # baseline (a): entities per transaction
DEPTH_SECONDS, DEPTH_WARMUP = 5, 1
TAG = "openkonnect-bench"

# Targets (the issue's).
TARGET_LOAD_S = 20.0       # 100 000 entities
TARGET_SYNC_S = 30.0       # `config sync` of 100 000 entities into an empty control plane
TARGET_NOCHANGE_S = 5.0    # and a second sync of the same file
TARGET_DUMP_S = 3.0
TARGET_DEPTH_RATIO = 1.5   # page over 100 000 rows within 1.5x of the page over 1 000
TARGET_RSS_MIB = 256.0


def scaled(n, floor=10):
    return n if SCALE >= 1 else max(floor, int(round(n * SCALE)))


# kind -> list path, the store's type name, id prefix, count. The load runs in this order.
N_SERVICES, N_CONSUMERS, N_PLUGINS = scaled(25000), scaled(20000), scaled(10000)
KINDS = [
    ("services", "services", "10000000", N_SERVICES),
    ("routes", "routes", "20000000", N_SERVICES),
    ("consumers", "consumers", "30000000", N_CONSUMERS),
    ("key-auths", "keyauth_credentials", "40000000", N_CONSUMERS),
    ("plugins", "plugins", "50000000", min(N_PLUGINS, N_SERVICES)),
]
PREFIX = {k: p for k, _, p, _ in KINDS}
TOTAL = sum(n for *_, n in KINDS)
DEPTH_SMALL = 1000
DEPTH_BIG = max(N_SERVICES, scaled(100000, floor=2000))


def eid(kind, i):
    return "%s-0000-4000-8000-%012d" % (PREFIX[kind], i)


# --- the rows the server stores (src/store/sqlite/entity_store.cpp), for baseline (a) ----------
#
# The bodies are the server's rendering of what bench/lua/config_put.lua sends (field order,
# defaults filled in); the suite checks one of each kind against the API after the load.

RL_CONFIG = ('{"second":null,"minute":100,"hour":null,"day":null,"month":null,"year":null,"limit_by":"consumer",'
             '"header_name":null,"path":null,"policy":"local","fault_tolerant":true,"redis":{"host":null,"port":6379,'
             '"timeout":2000,"username":null,"password":null,"database":0,"ssl":false,"ssl_verify":false,'
             '"server_name":null},"hide_client_headers":false,"error_code":429,"error_message":"API rate limit '
             'exceeded","sync_rate":-1}')
TAGS_JSON = '["%s"]' % TAG


def stored_body(kind, i, ts):
    if kind == "services":
        return ('{"id":"%s","created_at":%d,"updated_at":%d,"name":"svc-%06d","retries":5,"protocol":"http",'
                '"host":"svc-%06d.bench.internal","port":80,"path":"/","connect_timeout":60000,"write_timeout":60000,'
                '"read_timeout":60000,"tags":%s,"enabled":true}' % (eid(kind, i), ts, ts, i, i, TAGS_JSON))
    if kind == "routes":
        return ('{"id":"%s","created_at":%d,"updated_at":%d,"name":"route-%06d","protocols":["http","https"],'
                '"https_redirect_status_code":426,"regex_priority":0,"strip_path":true,"path_handling":"v0",'
                '"preserve_host":false,"request_buffering":true,"response_buffering":true,"tags":%s,'
                '"service":{"id":"%s"},"paths":["/svc-%06d"]}' % (eid(kind, i), ts, ts, i, TAGS_JSON,
                                                                 eid("services", i), i))
    if kind == "consumers":
        return ('{"id":"%s","created_at":%d,"updated_at":%d,"username":"consumer-%06d","custom_id":"cid-%06d",'
                '"tags":%s}' % (eid(kind, i), ts, ts, i, i, TAGS_JSON))
    if kind == "key-auths":
        return ('{"id":"%s","created_at":%d,"consumer":{"id":"%s"},"key":"bench-key-%06d-k8Jq2vXz","tags":%s}' % (
            eid(kind, i), ts, eid("consumers", i), i, TAGS_JSON))
    if kind == "plugins":
        return ('{"id":"%s","name":"rate-limiting","created_at":%d,"updated_at":%d,"service":{"id":"%s"},'
                '"config":%s,"protocols":["grpc","grpcs","http","https"],"enabled":true,"tags":%s}' % (
                    eid(kind, i), ts, ts, eid("services", i), RL_CONFIG, TAGS_JSON))
    raise ValueError(kind)


def stored_rows(kind, i, ts):
    """(body, unique keys, references as (parent_type, parent_id, field, on_delete))."""
    if kind == "services":
        keys, refs = [("name", "svc-%06d" % i)], []
    elif kind == "routes":
        keys, refs = [("name", "route-%06d" % i)], [("services", eid("services", i), "service", 2)]
    elif kind == "consumers":
        keys, refs = [("username", "consumer-%06d" % i), ("custom_id", "cid-%06d" % i)], []
    elif kind == "key-auths":
        keys, refs = [("key", "bench-key-%06d-k8Jq2vXz" % i)], [("consumers", eid("consumers", i), "consumer", 1)]
    else:
        keys = [("name,route,service,consumer,consumer_group", "rate-limiting\x1f\x1f%s\x1f\x1f" % eid("services", i))]
        refs = [("services", eid("services", i), "service", 1)]
    return stored_body(kind, i, ts), keys, refs


def sqlite_connect(path):
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA wal_autocheckpoint = 8000")  # the server writer's (store/sqlite/sqlite_store.cpp)
    return con


def baseline_inserts(path, cp):
    """Baseline (a): {kind: seconds}, total seconds, rows per table."""
    subprocess.run([BIN, "migrate", "--database", "sqlite:" + path], check=True, capture_output=True, timeout=60)
    con = sqlite_connect(path)
    ins_entity = ("INSERT INTO config_entities (control_plane_id, type, id, body, unique_keys, tags) "
                  "VALUES (?, ?, ?, ?, ?, ?)")
    ins_key = "INSERT INTO config_unique (control_plane_id, type, key, value, id) VALUES (?, ?, ?, ?, ?)"
    ins_ref = ("INSERT INTO config_references (control_plane_id, parent_type, parent_id, child_type, child_id, field, "
               "on_delete) VALUES (?, ?, ?, ?, ?, ?, ?)")
    ins_tag = "INSERT INTO config_tags (control_plane_id, type, tag, id) VALUES (?, ?, ?, ?)"
    tags_json = json.dumps([TAG], separators=(",", ":"))
    per_kind = {}
    t_all = time.perf_counter()
    for kind, stype, _, count in KINDS:
        t0 = time.perf_counter()
        for start in range(0, count, BATCH):
            ts = int(time.time())
            ents, keys, refs, tags = [], [], [], []
            for i in range(start, min(count, start + BATCH)):
                body, k, r = stored_rows(kind, i, ts)
                id_ = eid(kind, i)
                ents.append((cp, stype, id_, body, json.dumps(k, separators=(",", ":")), tags_json))
                keys.extend((cp, stype, kk, vv, id_) for kk, vv in k)
                refs.extend((cp, pt, pid, stype, id_, f, od) for pt, pid, f, od in r)
                tags.append((cp, stype, TAG, id_))
            con.execute("BEGIN IMMEDIATE")
            con.executemany(ins_entity, ents)
            con.executemany(ins_key, keys)
            con.executemany(ins_ref, refs)
            con.executemany(ins_tag, tags)
            con.execute("COMMIT")
        per_kind[kind] = time.perf_counter() - t0
    total = time.perf_counter() - t_all
    con.close()
    return {"per_kind": per_kind, "total_s": total}


# --- dumps: the same work split for the server and for baseline (b) ----------------------------

def dump_walks(mode):
    """[(kind, first index, rows or None = to the end)], longest first. 'kinds': one walk per kind;
    'segments': each kind cut into segments of about TOTAL / READERS rows."""
    walks = []
    for kind, _, _, count in KINDS:
        if mode == "kinds":
            walks.append((kind, 0, None, count))
        else:
            seg = max(1, -(-TOTAL // READERS))
            for a in range(0, count, seg):
                walks.append((kind, a, min(seg, count - a), min(seg, count - a)))
    walks.sort(key=lambda w: -w[3])
    return [w[:3] for w in walks]


def run_dump(walks, walk_fn, readers=READERS):
    """Runs the walks on a pool of `readers` threads. walk_fn(kind, first, rows, state) -> (ids, pages),
    state is per thread. Returns {seconds, rows, pages, per_kind: {kind: [ids]}, errors}."""
    work = queue.Queue()
    for w in walks:
        work.put(w)
    lock = threading.Lock()
    out = {"per_kind": {}, "pages": 0, "errors": []}

    def reader():
        state = {}
        try:
            while True:
                try:
                    kind, first, rows = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    ids, pages = walk_fn(kind, first, rows, state)
                except Exception as e:  # noqa: BLE001 - reported
                    with lock:
                        out["errors"].append("%s from %d: %s" % (kind, first, e))
                    continue
                with lock:
                    out["per_kind"].setdefault(kind, []).extend(ids)
                    out["pages"] += pages
        finally:
            if "close" in state:
                state["close"]()

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(readers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    out["seconds"] = time.perf_counter() - t0
    out["rows"] = sum(len(v) for v in out["per_kind"].values())
    return out


def check_dump(d, expected_counts=None):
    """Adds duplicates / missing / unexpected counts against the deterministic ids."""
    dup = missing = extra = 0
    for kind, _, _, count in KINDS:
        ids = d["per_kind"].get(kind, [])
        seen = set(ids)
        dup += len(ids) - len(seen)
        want = {eid(kind, i) for i in range((expected_counts or {}).get(kind, count))}
        missing += len(want - seen)
        extra += len(seen - want)
    d.update(duplicates=dup, missing=missing, unexpected=extra)
    d["ok"] = not d["errors"] and dup == 0 and missing == 0 and extra == 0 and d["rows"] == TOTAL
    return d


def sqlite_walk_fn(path, cp):
    stype = {k: t for k, t, _, _ in KINDS}
    q = ("SELECT id, body FROM config_entities WHERE control_plane_id = ? AND type = ? AND id > ? "
         "ORDER BY id LIMIT ?")

    def walk(kind, first, rows, state):
        if "con" not in state:
            state["con"] = sqlite3.connect(path, check_same_thread=False)
            state["close"] = state["con"].close
        con = state["con"]
        after = eid(kind, first - 1) if first > 0 else ""
        ids, pages = [], 0
        while True:
            want = PAGE if rows is None else min(PAGE, rows - len(ids))
            if want <= 0:
                break
            got = con.execute(q, (cp, stype[kind], after, want)).fetchall()
            pages += 1
            ids.extend(r[0] for r in got)
            if len(got) < want:
                break
            after = got[-1][0]
        return ids, pages
    return walk


def offset_of(id_):
    """The server's cursor after a row: base64url of its id (docs/API.md, Lists)."""
    return base64.urlsafe_b64encode(id_.encode()).decode().rstrip("=")


class Client:
    """One keep-alive HTTP/1.1 connection (http.client); every non-expected status raises."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, expect=(200, 201)):
        headers = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()  # reconnects on the next request
                if attempt:
                    raise
        if resp.status not in expect:
            raise RuntimeError("%s %s -> %d: %s" % (method, path, resp.status, raw[:300]))
        return json.loads(raw) if raw else None

    def close(self):
        self.conn.close()


def server_walk_fn(port, token, cp):
    base = "/v2/control-planes/%s/core-entities/" % cp

    def walk(kind, first, rows, state):
        if "client" not in state:
            state["client"] = Client(port, token)
            state["close"] = state["client"].close
        c = state["client"]
        offset = offset_of(eid(kind, first - 1)) if first > 0 else None
        ids, pages = [], 0
        while True:
            want = PAGE if rows is None else min(PAGE, rows - len(ids))
            if want <= 0:
                break
            doc = c.call("GET", base + kind + "?size=%d" % want + ("&offset=" + offset if offset else ""))
            pages += 1
            ids.extend(e["id"] for e in doc["data"])
            offset = doc.get("offset")
            if not offset:
                break
        return ids, pages
    return walk


# --- processes ----------------------------------------------------------------------------------


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def thread_cpu_s(pid):
    """{tid: CPU seconds} of every thread of a process."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[tid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            pass
    return out


def proc_write_bytes(pid):
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def machine_cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class Server:
    """openkonnect serve on a free loopback port, rate limits off, access log discarded; samples its RSS."""

    def __init__(self, db_path, workdir, extra_args=(), name="server"):
        self.db_path = db_path
        self.extra_args = list(extra_args)  # more `serve` flags (bench/dataplane_suite.py: the cluster listener)
        self.stderr_path = os.path.join(workdir, name + ".stderr.log")
        self.proc = None
        self.port = None
        self.peak_rss_mib = 0.0
        self._stop = threading.Event()

    def start(self, timeout=15):
        self.port = free_port()
        args = [BIN, "serve", "--listen", "127.0.0.1:%d" % self.port, "--database", "sqlite:" + self.db_path,
                "--rate-limit-token", "0", "--rate-limit-org", "0", "--rate-limit-auth-failures", "0",
                "--rate-limit-invites", "0", "--shutdown-grace-ms", "2000"] + self.extra_args
        with open(self.stderr_path, "ab") as stderr:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)
        _started.append(self.proc)
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if http_status(self.port) == 200:
                threading.Thread(target=self._sample, daemon=True).start()
                return time.perf_counter() - t0
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s: %s" % (self.proc.returncode, self.stderr_tail()))
            time.sleep(0.005)
        raise RuntimeError("server did not answer /healthz within %ss: %s" % (timeout, self.stderr_tail()))

    def _sample(self):
        while not self._stop.is_set():
            try:
                self.peak_rss_mib = max(self.peak_rss_mib, proc_status_kib(self.proc.pid, "VmRSS") / 1024)
            except (OSError, RuntimeError):
                return
            self._stop.wait(0.05)

    def rss_mib(self, field="VmRSS"):
        return proc_status_kib(self.proc.pid, field) / 1024

    def stderr_tail(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        self._stop.set()
        if self.proc is not None:
            stop_process(self.proc)


class Phase:
    """Wall time, the server's CPU and disk writes, and the machine's busy share over a phase."""

    def __init__(self, server):
        self.server = server

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.cpu0 = proc_cpu_s(self.server.proc.pid)
        self.threads0 = thread_cpu_s(self.server.proc.pid)
        self.wb0 = proc_write_bytes(self.server.proc.pid)
        self.m0 = machine_cpu()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.server_cores = (proc_cpu_s(self.server.proc.pid) - self.cpu0) / max(self.wall, 1e-9)
        threads1 = thread_cpu_s(self.server.proc.pid)
        self.busiest_thread = max([(v - self.threads0.get(k, 0.0)) / max(self.wall, 1e-9)
                                   for k, v in threads1.items()] or [0.0])
        wb1 = proc_write_bytes(self.server.proc.pid)
        self.write_bytes = None if wb1 is None or self.wb0 is None else wb1 - self.wb0
        m1 = machine_cpu()
        self.machine_busy = (m1[0] - self.m0[0]) / max(1, m1[1] - self.m0[1])
        self.load = loadavg()
        return False

    def info(self):
        return {"wall": self.wall, "server_cores": self.server_cores, "busiest_thread": self.busiest_thread,
                "machine_busy": self.machine_busy, "write_bytes": self.write_bytes, "load": self.load}


# --- wrk ------------------------------------------------------------------------------------------


def wrk_put(server, kind, count, cp, token, start, bound_s, workdir, label):
    """PUTs `count` entities of `kind` (indexes start …) with config_put.lua; stops wrk (SIGINT) once
    both threads have their share. Returns the parsed CONFIG_PUT line, wrk's numbers and the phase."""
    cmd = ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % int(bound_s), "--timeout", "10s", "--latency",
           "-s", str(LUA / "config_put.lua"), "http://127.0.0.1:%d" % server.port, "--",
           kind, str(count), cp, token, str(THREADS), str(start)]
    finished = threading.Event()
    err_lines = []
    out_path = os.path.join(workdir, "wrk-%s.stdout" % re.sub(r"[^a-z0-9]+", "-", label.lower()))
    with Phase(server) as ph, open(out_path, "w") as out_file:
        proc = subprocess.Popen(cmd, stdout=out_file, stderr=subprocess.PIPE, text=True)
        _started.append(proc)
        t_spawn = time.perf_counter()

        def read_stderr():
            n = 0
            for line in proc.stderr:
                err_lines.append(line)
                if line.startswith("config_put: thread") and "finished" in line:
                    n += 1
                    if n == THREADS:
                        finished.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        give_up_at = t_spawn + bound_s + 15
        while not finished.wait(0.05) and proc.poll() is None and time.perf_counter() < give_up_at:
            pass
        timed_out = not finished.is_set()
        t_done = time.perf_counter()
        wrk_cpu = None
        try:
            wrk_cpu = proc_cpu_s(proc.pid)
        except OSError:
            pass
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # wrk's main thread sleeps for -d: wake it
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc in _started:
            _started.remove(proc)
        reader.join(timeout=5)
    with open(out_path) as f:
        text = f.read() + "".join(err_lines)
    with open(os.path.join(workdir, "wrk-%s.txt" % re.sub(r"[^a-z0-9]+", "-", label.lower())), "w") as f:
        f.write(" ".join(cmd[:-3] + ["<token>"] + cmd[-2:]) + "\n" + text)
    r = parse_wrk(text)
    r["kind"], r["count"], r["label"] = kind, count, label
    r["wall_s"] = t_done - t_spawn
    r["timed_out"] = timed_out
    r["phase"] = ph.info()
    r["wrk_cores"] = None if wrk_cpu is None else wrk_cpu / max(r["wall_s"], 1e-9)
    m = re.search(r"^CONFIG_PUT ok=(\d+) non2xx=(\d+) statuses=(\S+) resent=(\d+) gave_up=(\d+) requests=(\d+) "
                  r"elapsed_s=(\S+)$", text, re.M)
    if m:
        r.update(ok=int(m.group(1)), put_non2xx=int(m.group(2)), statuses=m.group(3), resent=int(m.group(4)),
                 gave_up=int(m.group(5)), elapsed_s=float(m.group(7)) if m.group(7) != "nan" else None)
    else:
        r.update(ok=0, put_non2xx=None, statuses="?", resent=None, gave_up=None, elapsed_s=None)
    m = re.search(r"^CONFIG_PUT_ERROR (.*)$", text, re.M)
    r["first_error"] = m.group(1)[:300] if m else ""
    r["complete"] = r["ok"] == count and not timed_out and not r["gave_up"]
    if not r["complete"]:
        r["error"] = ("timed out after %.0fs; " % bound_s if timed_out else "") + "%d of %d answered 2xx; %s" % (
            r["ok"], count, r["first_error"] or text.strip()[-300:])
    log("  %-10s %6d in %6.2fs (first request -> last 2xx %ss): %s/s, p50 %s p99 %s, non-2xx %s%s, server %.2f "
        "cores, machine %.0f%% busy%s" % (
            kind, count, r["wall_s"], "%.2f" % r["elapsed_s"] if r["elapsed_s"] else "—",
            fmt_num(count / r["elapsed_s"]) if r["elapsed_s"] else "—", fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
            r["put_non2xx"], " (%s)" % r["statuses"] if r["statuses"] not in ("-", "?") else "",
            ph.server_cores, 100 * ph.machine_busy, ("  ERROR " + r["error"]) if r.get("error") else ""))
    return r


def config_cli(server, token, *args, timeout=300):
    """`openkonnect config …` against the server; returns (seconds, stdout)."""
    env = dict(os.environ, OPENKONNECT_TOKEN=token)
    t0 = time.perf_counter()
    out = subprocess.run([BIN, "config", *args, "--url", "http://127.0.0.1:%d" % server.port], capture_output=True,
                         text=True, env=env, timeout=timeout)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError("openkonnect config %s failed: %s" % (args[0], out.stderr.strip()[-500:]))
    return seconds, out.stdout


def run_config_sync(server, api, token, workdir):
    """The issue-15 figures: dump of the loaded control plane, a sync of that file into an empty control
    plane (every entity created), and a second sync (nothing to change), YAML and JSON."""
    r = {}
    yaml_file, json_file = os.path.join(workdir, "dump.yaml"), os.path.join(workdir, "dump.json")
    r["dump_yaml_s"], _ = config_cli(server, token, "dump", "--control-plane", "config-bench-100k", "-f", yaml_file)
    r["dump_json_s"], _ = config_cli(server, token, "dump", "--control-plane", "config-bench-100k", "-f", json_file)
    api.call("POST", "/v2/control-planes", {"name": "config-bench-sync"})
    r["sync_s"], out = config_cli(server, token, "sync", "--control-plane", "config-bench-sync", "-f", yaml_file)
    m = re.search(r"Synced: (\d+) created, (\d+) updated, (\d+) deleted, (\d+) unchanged", out)
    r["created"] = int(m.group(1)) if m else None
    r["nochange_yaml_s"], out = config_cli(server, token, "sync", "--control-plane", "config-bench-sync", "-f",
                                           yaml_file)
    m = re.search(r"Synced: (\d+) created, (\d+) updated, (\d+) deleted, (\d+) unchanged", out)
    r["nochange_changed"] = sum(int(m.group(i)) for i in (1, 2, 3)) if m else None
    r["unchanged"] = int(m.group(4)) if m else None
    r["nochange_json_s"], _ = config_cli(server, token, "sync", "--control-plane", "config-bench-sync", "-f",
                                         json_file)
    r["file_mib"] = os.path.getsize(yaml_file) / 2**20
    log("config: dump %.1fs (YAML) / %.1fs (JSON); sync into an empty control plane %.1fs (%s created); again "
        "%.1fs (YAML) / %.1fs (JSON), %s unchanged" % (r["dump_yaml_s"], r["dump_json_s"], r["sync_s"], r["created"],
                                                       r["nochange_yaml_s"], r["nochange_json_s"], r["unchanged"]))
    return r


def wrk_get(server, path, token_file, label, workdir, seconds=DEPTH_SECONDS, warmup=DEPTH_WARMUP):
    env = dict(os.environ, BENCH_PATH=path, BENCH_TOKENS_FILE=token_file)
    url = "http://127.0.0.1:%d/" % server.port
    if warmup > 0:
        subprocess.run(["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % warmup, "--timeout", "10s", "-s",
                        str(LUA / "get.lua"), url], env=env, capture_output=True, text=True, timeout=warmup + 30)
    cmd = ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % seconds, "--timeout", "10s", "--latency",
           "-s", str(LUA / "get.lua"), url]
    with Phase(server) as ph:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 30)
    out = done.stdout + done.stderr
    with open(os.path.join(workdir, "wrk-%s.txt" % re.sub(r"[^a-z0-9]+", "-", label.lower())), "w") as f:
        f.write(" ".join(cmd) + "\n" + path + "\n" + out)
    r = parse_wrk(out)
    r["phase"] = ph.info()
    if done.returncode != 0 or r["rps"] is None or r["non2xx"]:
        r["error"] = "wrk exited %d, non-2xx %s: %s" % (done.returncode, r["non2xx"], out.strip()[-300:])
    log("  %-44s %9s req/s  p50 %8s  p99 %8s  non-2xx %s  server %.2f cores" % (
        label, fmt_num(r["rps"]), fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]), r["non2xx"], ph.server_cores))
    return r


# --- formatting -------------------------------------------------------------------------------


def fmt_s(x):
    return "—" if x is None else ("%.2f s" % x if x < 100 else "%.0f s" % x)


def fmt_x(x):
    return "—" if x is None else ("%.2f×" % x if x >= 0.1 else "%.3f×" % x)


def n_(x):
    """100000 -> '100 000' (the docs' spelling)."""
    return "{:,}".format(x).replace(",", " ")


# --- the suite --------------------------------------------------------------------------------

def main():
    suite_t0 = time.time()
    deadline = suite_t0 + BUDGET_S
    if not os.access(BIN, os.X_OK):
        sys.exit("no openkonnect binary at %s (set OPENKONNECT_BENCH_BIN or run bench/run.sh)" % BIN)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (bench/run.sh installs it)")
    workdir = tempfile.mkdtemp(prefix="openkonnect-config-bench-")
    log("working directory %s, binary %s, scale %g: %s entities" % (workdir, BIN, SCALE, n_(TOTAL)))
    R = {"info": machine_info(BIN, ROOT), "load_start": loadavg(), "skipped": []}
    server = None

    def budget(want):
        """Seconds a bounded step may take: `want`, or less when the suite's budget runs out."""
        return max(0.0, min(want, deadline - time.time() - 45))

    try:
        # --- baseline (a): the same rows, inserted directly ---
        base_db = os.path.join(workdir, "baseline.db")
        base_cp = "00000000-0000-4000-8000-0000000000cb"
        log("baseline (a): the server's rows for %s entities, inserted with Python's sqlite3 (%d per transaction)" % (
            n_(TOTAL), BATCH))
        R["base_ins"] = baseline_inserts(base_db, base_cp)
        log("  %s s: %s entities/s (%s)" % (
            "%.2f" % R["base_ins"]["total_s"], fmt_num(TOTAL / R["base_ins"]["total_s"]),
            ", ".join("%s %.2fs" % (k, v) for k, v in R["base_ins"]["per_kind"].items())))

        # --- the server ---
        db = os.path.join(workdir, "server.db")
        org = json.loads(subprocess.run(
            [BIN, "org", "create", "--database", "sqlite:" + db, "--name", "Config Bench",
             "--admin-email", "admin@config.bench.example"], capture_output=True, text=True, timeout=60,
            check=True).stdout)
        token = org["token"]
        token_file = os.path.join(workdir, "token.txt")
        with open(token_file, "w") as f:
            f.write(token + "\n")
        server = Server(db, workdir)
        R["start_s"] = server.start()
        time.sleep(1.0)
        R["rss_idle"] = server.rss_mib()
        log("server up in %.0f ms, idle RSS %.1f MiB" % (R["start_s"] * 1000, R["rss_idle"]))
        api = Client(server.port, token)
        cp1 = api.call("POST", "/v2/control-planes", {"name": "config-bench-100k"})["id"]
        cp2 = api.call("POST", "/v2/control-planes", {"name": "config-bench-1k"})["id"]

        # --- the load ---
        log("load: %s entities PUT kind after kind, wrk -t%d -c%d (bench/lua/config_put.lua)" % (
            n_(TOTAL), THREADS, CONNECTIONS))
        R["load"] = []
        for kind, _, _, count in KINDS:
            bound = budget(30 + count / 500)
            if bound < 10:
                R["skipped"].append("PUT %s (suite time budget)" % kind)
                continue
            R["load"].append(wrk_put(server, kind, count, cp1, token, 0, bound, workdir, "put " + kind))
        R["rss_after_load"] = server.rss_mib()

        # Bodies as the baseline wrote them (but for timestamps)?
        mismatches = []
        for kind, _, _, count in KINDS:
            i = count // 2
            path = "/v2/control-planes/%s/core-entities/%s/%s" % (cp1, kind, eid(kind, i))
            try:
                got = api.call("GET", path)
            except RuntimeError as e:
                mismatches.append("%s: %s" % (kind, e))
                continue
            want = json.loads(stored_body(kind, i, 0))
            for k in ("created_at", "updated_at"):
                if k in want:
                    want[k] = got.get(k)
            if got != want:
                mismatches.append("%s %s: API %s != baseline %s" % (kind, eid(kind, i), json.dumps(got)[:300],
                                                                   json.dumps(want)[:300]))
        R["body_mismatches"] = mismatches
        if mismatches:
            log("  WARNING: baseline bodies differ from the server's: %s" % "; ".join(mismatches))

        # --- dumps: baseline (b) right before the server's, same split ---
        R["dumps"] = {}
        for mode in ("kinds", "segments"):
            walks = dump_walks(mode)
            b = check_dump(run_dump(walks, sqlite_walk_fn(base_db, base_cp)))
            with Phase(server) as ph:
                s = check_dump(run_dump(walks, server_walk_fn(server.port, token, cp1)))
            s["phase"] = ph.info()
            R["dumps"][mode] = {"base": b, "server": s, "walks": len(walks)}
            log("dump (%s, %d walks on %d readers): server %.2fs, %d rows, %d pages, duplicates %d, missing %d%s; "
                "raw SQLite %.2fs, %d rows (%s)" % (
                    mode, len(walks), READERS, s["seconds"], s["rows"], s["pages"], s["duplicates"], s["missing"],
                    ("; errors: " + "; ".join(s["errors"][:3])) if s["errors"] else "", b["seconds"], b["rows"],
                    "ok" if b["ok"] else "NOT ok"))
        R["rss_after_dump"] = server.rss_mib()

        # --- openkonnect config: the loaded control plane dumped to a decK file, synced into an
        # empty one, then synced again (no change), as YAML and as JSON ---
        R["sync"] = None
        if budget(120) >= 60:
            R["sync"] = run_config_sync(server, api, token, workdir)
        else:
            R["skipped"].append("config dump/sync (suite time budget)")

        # --- page depth ---
        R["depth"] = None
        bound = budget(30 + DEPTH_SMALL / 500)
        if bound >= 10:
            log("page depth: %s services in a second control plane; %s more in the first (%s in all)" % (
                n_(DEPTH_SMALL), n_(DEPTH_BIG - N_SERVICES), n_(DEPTH_BIG)))
            small = wrk_put(server, "services", DEPTH_SMALL, cp2, token, 0, bound, workdir, "put services cp2")
            more = None
            bound = budget(30 + (DEPTH_BIG - N_SERVICES) / 500)
            if DEPTH_BIG > N_SERVICES and bound >= 10:
                more = wrk_put(server, "services", DEPTH_BIG - N_SERVICES, cp1, token, N_SERVICES, bound, workdir,
                               "put services 100k")
            big_n = DEPTH_BIG if more is not None and more["complete"] else N_SERVICES
            if more is None:
                R["skipped"].append("the 100 000-service list (suite time budget): the depth runs use the %s-service "
                                    "list" % n_(N_SERVICES))

            def middle_cursor(cp, n):
                """The cursor after row n/2 - 1, got by walking (size ≤ 1000) as a client would."""
                mid, seen, offset = n // 2, 0, None
                base = "/v2/control-planes/%s/core-entities/services" % cp
                while seen < mid:
                    want = min(PAGE, mid - seen)
                    doc = api.call("GET", base + "?size=%d" % want + ("&offset=" + offset if offset else ""))
                    seen += len(doc["data"])
                    offset = doc["offset"]
                page = api.call("GET", base + "?size=100&offset=" + offset)
                assert page["data"][0]["id"] == eid("services", mid), (page["data"][0]["id"], mid)
                assert len(page["data"]) == 100
                return base + "?size=100&offset=" + offset

            path_small = middle_cursor(cp2, DEPTH_SMALL)
            path_big = middle_cursor(cp1, big_n)
            runs = {}
            if budget(60) >= 30:
                runs["small1"] = wrk_get(server, path_small, token_file, "page in the middle of %s" % n_(DEPTH_SMALL),
                                         workdir)
                runs["big"] = wrk_get(server, path_big, token_file, "page in the middle of %s" % n_(big_n), workdir)
                runs["small2"] = wrk_get(server, path_small, token_file,
                                         "page in the middle of %s, again" % n_(DEPTH_SMALL), workdir)
            else:
                R["skipped"].append("page-depth wrk runs (suite time budget)")
            R["depth"] = {"small_put": small, "more_put": more, "big_n": big_n, "runs": runs,
                          "path_small": path_small, "path_big": path_big}
        else:
            R["skipped"].append("page depth (suite time budget)")

        R["rss_end"] = server.rss_mib()
        R["hwm_end"] = server.rss_mib("VmHWM")
        R["rss_peak_sampled"] = server.peak_rss_mib
        R["db_mib"] = sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p)) / 2**20
        R["base_db_mib"] = sum(os.path.getsize(p) for p in (base_db, base_db + "-wal") if os.path.exists(p)) / 2**20
        api.close()
    finally:
        if server is not None:
            server.stop()
        for p in list(_started):
            stop_process(p, timeout=10)
        if os.environ.get("BENCH_KEEP") == "1":
            log("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    R["load_end"] = loadavg()
    R["suite_s"] = time.time() - suite_t0
    report = render(R)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(report)
    print(report, flush=True)
    log("report written to %s" % OUTPUT)


def load_note(load, load_wall, target_s, base):
    """Why the load missed its target, from what was measured (no guess beyond the evidence)."""
    phases = [x["phase"] for x in load]
    wall = max(1e-9, sum(p["wall"] for p in phases))

    def avg(key):
        return sum((p[key] or 0) * p["wall"] for p in phases) / wall

    cores, thread, mbusy = avg("server_cores"), max(p["busiest_thread"] for p in phases), avg("machine_busy")
    wrk = [x["wrk_cores"] for x in load if x.get("wrk_cores") is not None]
    wb = sum(p["write_bytes"] or 0 for p in phases)
    ncpu = os.cpu_count()
    text = ("**Load missed** by %s (%s the target). Storage is not the limit: the same rows inserted directly "
            "(baseline a, 100 per transaction) took %s, %s of the server's time. The server used %.2f of %d cores "
            "(busiest thread %.2f), wrk about %.2f, and the machine was %.0f%% busy; the server wrote %.1f KiB per "
            "entity (WAL and checkpoints). " % (
                fmt_s(load_wall - target_s), fmt_x(load_wall / target_s), fmt_s(base["total_s"]),
                fmt_x(base["total_s"] / load_wall), cores, ncpu, thread, statistics.mean(wrk) if wrk else float("nan"),
                100 * mbusy, wb / 1024 / TOTAL))
    if cores >= 0.8 * ncpu:
        text += "The server was CPU-bound: its per-request work (HTTP, JSON, validation, checks, rendering) is the cost."
    elif thread >= 0.85:
        text += ("One server thread was saturated (%.2f cores): that thread's work (for writes, the group-commit "
                 "writer's) is the limit." % thread)
    else:
        text += ("Neither the server nor any of its threads was CPU-bound, so requests waited: each PUT is answered "
                 "once its group commit is durable (fdatasync), and with 10 requests in flight a commit can only hold "
                 "those that arrived while the previous one ran; at concurrency 10 the rate is 10 / latency (p50 "
                 "%s to %s by kind)" % (fmt_ms(min(x["p50_ms"] or 0 for x in load)),
                                        fmt_ms(max(x["p50_ms"] or 0 for x in load))))
        text += (", and on a machine %.0f%% busy the server also waited for CPU time (other processes ran)." % (
            100 * mbusy) if mbusy > 0.9 else ".")
    return text


def render(R):
    info = R["info"]
    out = []
    w = out.append
    loads = [x["phase"]["load"] for x in R.get("load", [])]
    base = R["base_ins"]
    load = R.get("load", [])
    load_done = len(load) == len(KINDS) and all(x["complete"] for x in load)
    load_wall = sum(x["wall_s"] for x in load)
    load_elapsed = sum(x["elapsed_s"] or 0 for x in load)
    scale_note = "" if SCALE >= 1 else " **Scale %g** (BENCH_SCALE): counts shrunk, figures not comparable with " \
                                       "full runs; the targets are still stated for 100 000." % SCALE

    w("# openkonnect gateway-configuration benchmark")
    w("")
    w("Generated by `bench/config_suite.py` on %s (UTC). Suite wall time: **%s**.%s" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), fmt_duration(R["suite_s"]),
        scale_note))
    w("")
    w("Machine: %d CPUs (%s), %s RAM, Linux %s; %s, %s, SQLite %s (Python's), Python %s." % (
        info["nproc"], info["cpu"], info["mem"], info["kernel"], info["openkonnect"], info["wrk"], info["sqlite"],
        info["python"]))
    w("")
    w("Measured: %s." % info["source"])
    w("")
    w("Load average (1 min) at the start: %.1f; after each PUT run: %s; at the end: %.1f. The machine is shared and "
      "noisy: read every figure against its baseline, measured in this run." % (
          R["load_start"], "%.1f to %.1f" % (min(loads), max(loads)) if loads else "—", R["load_end"]))
    w("")

    # --- targets ---
    w("## Targets")
    w("")
    w("| target | measured | baseline, same run | ratio | met |")
    w("|---|---|---|---|---|")
    notes = []
    base_rate = TOTAL / base["total_s"]
    if load:
        rate = TOTAL / load_wall if load_done else None
        scaled_target = TARGET_LOAD_S * TOTAL / 100000
        ok = load_done and load_wall <= scaled_target
        dump = R.get("dumps", {}).get("kinds", {}).get("server")
        if dump is None:
            check = "not checked through the API"
        elif dump["ok"]:
            check = "all %s then listed through the API, once each" % n_(TOTAL)
        else:
            check = "**through the API: %s listed, %d missing, %d repeated**" % (
                n_(dump["rows"]), dump["missing"], dump["duplicates"])
        ok = ok and dump is not None and dump["ok"]
        w("| %s entities PUT (decK-style, concurrency 10) in ≤ %s s%s | %s (%s entities/s; first request → last 2xx: "
          "%s; %s) | SQLite batched inserts of the same rows: %s (%s entities/s) | server at %s the SQLite rate | %s |" % (
              n_(TOTAL), "%g" % scaled_target, "" if SCALE >= 1 else " (20 s × scale)",
              fmt_s(load_wall) if load_done else "incomplete", fmt_num(rate), fmt_s(load_elapsed), check,
              fmt_s(base["total_s"]), fmt_num(base_rate), fmt_x(rate / base_rate if rate else None), verdict(ok)))
        if load_done and load_wall > scaled_target:
            notes.append(load_note(load, load_wall, scaled_target, base))
        elif not load_done:
            notes.append("**Load incomplete**: %s." % ("; ".join(
                "%s: %s" % (x["kind"], x.get("error", "")) for x in load if not x["complete"]) or "kinds skipped"))

    d = R.get("dumps", {}).get("kinds")
    if d:
        s, b = d["server"], d["base"]
        ok = s["ok"] and s["seconds"] <= TARGET_DUMP_S
        w("| full dump at size=1000, 10 readers, in ≤ %g s | %s (%s rows, %d pages; %s) | raw SQLite read of the same "
          "bodies, same split: %s | %s the raw read's time | %s |" % (
              TARGET_DUMP_S, fmt_s(s["seconds"]), n_(s["rows"]), s["pages"],
              "every id once" if s["ok"] else "**%d duplicates, %d missing, %d unexpected, %d errors**" % (
                  s["duplicates"], s["missing"], s["unexpected"], len(s["errors"])),
              fmt_s(b["seconds"]), fmt_x(s["seconds"] / b["seconds"]), verdict(ok)))
        if not ok:
            p = s["phase"]
            notes.append(
                "**Dump missed** by %s (%s the target)%s. It took %s the raw SQLite read of the same rows with the same "
                "split; the server used %.2f cores, the machine was %.0f%% busy (the Python readers parse every page "
                "as JSON, on the same 2 cores)." % (
                    fmt_s(s["seconds"] - TARGET_DUMP_S), fmt_x(s["seconds"] / TARGET_DUMP_S),
                    "" if s["ok"] else ", and the dump was wrong", fmt_x(s["seconds"] / b["seconds"]),
                    p["server_cores"], 100 * p["machine_busy"]))

    dep = R.get("depth")
    if dep and dep["runs"]:
        runs = dep["runs"]
        small_rps = statistics.mean(x["rps"] for x in (runs["small1"], runs["small2"]) if x.get("rps"))
        small_p50 = statistics.mean(x["p50_ms"] for x in (runs["small1"], runs["small2"]) if x.get("p50_ms"))
        big = runs["big"]
        slow = small_rps / big["rps"] if big.get("rps") else None
        p50r = big["p50_ms"] / small_p50 if big.get("p50_ms") else None
        errs = [x for x in runs.values() if x.get("error")]
        ok = None if slow is None else (slow <= TARGET_DEPTH_RATIO and not errs)
        w("| a page (size=100) in the middle of %s services within %g× of the same page over %s | %s req/s, p50 %s | "
          "the page in the middle of %s services: %s req/s, p50 %s (mean of 2 runs) | %s the time per request "
          "(req/s ratio), p50 %s | %s |" % (
              n_(dep["big_n"]), TARGET_DEPTH_RATIO, n_(DEPTH_SMALL), fmt_num(big.get("rps")), fmt_ms(big.get("p50_ms")),
              n_(DEPTH_SMALL), fmt_num(small_rps), fmt_ms(small_p50), fmt_x(slow), fmt_x(p50r), verdict(ok)))
        if ok is False:
            notes.append("**Page depth missed**: a page over %s rows took %s the time of one over %s (target ≤ %g×)%s." % (
                n_(dep["big_n"]), fmt_x(slow), n_(DEPTH_SMALL), TARGET_DEPTH_RATIO,
                "; wrk errors: " + "; ".join(x["error"] for x in errs) if errs else ""))

    sync = R.get("sync")
    if sync:
        scaled_sync = TARGET_SYNC_S * TOTAL / 100000
        ok = sync["sync_s"] <= scaled_sync and sync["created"] == TOTAL
        w("| `config sync` of a %s-entity file into an empty control plane ≤ %g s | %.1f s (%s created; the file: "
          "`config dump` of the loaded control plane, %.1f MiB of YAML) | the same entities PUT by wrk at "
          "concurrency 10 (the load above): %.1f s | %s the wrk time | %s |" % (
              n_(TOTAL), scaled_sync, sync["sync_s"], n_(sync["created"]), sync["file_mib"], load_wall,
              fmt_x(sync["sync_s"] / load_wall) if load_wall else "—", verdict(ok)))
        scaled_nochange = TARGET_NOCHANGE_S * TOTAL / 100000
        ok = sync["nochange_yaml_s"] <= scaled_nochange and sync["nochange_changed"] == 0
        w("| a second `config sync` of it (no change) ≤ %g s | %.1f s from YAML, %.1f s from JSON (%s unchanged, %s "
          "changed) | `config dump` of the same entities: %.1f s (YAML), %.1f s (JSON) | %s the YAML dump | %s |" % (
              scaled_nochange, sync["nochange_yaml_s"], sync["nochange_json_s"], n_(sync["unchanged"]),
              sync["nochange_changed"], sync["dump_yaml_s"], sync["dump_json_s"],
              fmt_x(sync["nochange_yaml_s"] / sync["dump_yaml_s"]), verdict(ok)))

    if "hwm_end" in R:
        ok = R["hwm_end"] <= TARGET_RSS_MIB
        w("| RSS ≤ %g MiB | VmHWM %.1f MiB at the end (VmRSS %.1f MiB; peak of 50 ms samples %.1f MiB) | idle after "
          "start on the empty database: %.1f MiB | %s the idle RSS | %s |" % (
              TARGET_RSS_MIB, R["hwm_end"], R["rss_end"], R["rss_peak_sampled"], R["rss_idle"],
              fmt_x(R["hwm_end"] / R["rss_idle"]), verdict(ok)))
        if not ok:
            notes.append("**RSS missed** by %.1f MiB." % (R["hwm_end"] - TARGET_RSS_MIB))
    w("")
    if R["body_mismatches"]:
        notes.append("**Baseline rows differ from the server's** (the baseline may not write what the server writes): "
                     + "; ".join(R["body_mismatches"]))
    if R["skipped"]:
        notes.append("**Skipped**: " + "; ".join(R["skipped"]) + ".")
    for n in notes:
        w("- " + n)
        w("")

    # --- load per kind ---
    w("## Load, kind by kind")
    w("")
    w("`wrk -t%d -c%d --latency -s bench/lua/config_put.lua … -- KIND COUNT CP TOKEN`: `PUT …/core-entities/{kind}/"
      "{id}` (key-auths: `PUT …/consumers/{consumer id}/key-auth/{id}`) with client-side ids and full bodies, as "
      "decK does; each thread stops when its share is answered 2xx, and the suite then stops wrk. \"wall\" is from "
      "the start of wrk to the last thread finishing; \"elapsed\" from the first request to the last 2xx needed. "
      "The baseline column is the same kind's rows inserted directly (baseline a)." % (THREADS, CONNECTIONS))
    w("")
    w("| kind | count | wall | elapsed | entities/s | p50 | p99 | non-2xx | re-PUTs | server cores (busiest thread) | "
      "wrk cores | machine busy | disk written / entity | SQLite baseline | server / baseline rate |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def load_row(x, name, base_s):
        p = x["phase"]
        rate = x["count"] / x["wall_s"] if x["complete"] else None
        brate = x["count"] / base_s if base_s else None
        w("| %s | %s | %s | %s | %s | %s | %s | %s%s | %s | %.2f (%.2f) | %s | %.0f%% | %s | %s | %s |" % (
            name, n_(x["count"]), fmt_s(x["wall_s"]), fmt_s(x["elapsed_s"]), fmt_num(rate),
            fmt_ms(x["p50_ms"]), fmt_ms(x["p99_ms"]), x["put_non2xx"] if x["put_non2xx"] is not None else "?",
            " (%s)" % x["statuses"] if x["statuses"] not in ("-", "?") else "", x["resent"] if x["resent"] is not None
            else "?", p["server_cores"], p["busiest_thread"],
            "%.2f" % x["wrk_cores"] if x.get("wrk_cores") is not None else "—", 100 * p["machine_busy"],
            "%.1f KiB" % (p["write_bytes"] / 1024 / x["count"]) if p["write_bytes"] is not None else "—",
            "%s/s" % fmt_num(brate) if brate else "—", fmt_x(rate / brate if rate and brate else None)))

    for x in load:
        load_row(x, x["kind"], base["per_kind"].get(x["kind"]))
    if load:
        w("| **all** | %s | %s | %s | %s | | | %s | | | | | | %s/s | %s |" % (
            n_(sum(x["count"] for x in load)), fmt_s(load_wall), fmt_s(load_elapsed),
            fmt_num(TOTAL / load_wall) if load_done else "—", sum(x["put_non2xx"] or 0 for x in load),
            fmt_num(base_rate), fmt_x((TOTAL / load_wall) / base_rate if load_done else None)))
    if dep:
        for key, name in (("small_put", "services, 2nd control plane"),
                          ("more_put", "services %s → %s (informational)" % (n_(N_SERVICES), n_(DEPTH_BIG)))):
            if dep.get(key):
                load_row(dep[key], name, base["per_kind"]["services"] * dep[key]["count"] / N_SERVICES)
    w("")
    w("Non-2xx: answers other than 2xx (each is re-sent until it succeeds); re-PUTs: idempotent re-sends of the same "
      "body handed to wrk (the requests in flight when a thread's share is done, and retries; wrk may stop before "
      "sending the last few). Every entity was checked through the "
      "API afterwards by the dump below. Bodies compared with the baseline's rows: %s." % (
          "identical but for timestamps (one of each kind)" if not R["body_mismatches"] else "**differ**, see above"))
    w("")

    # --- dumps ---
    if R.get("dumps"):
        w("## Dump")
        w("")
        w("Readers: %d threads, one keep-alive `http.client` connection each, `GET …/core-entities/{kind}?size=1000` "
          "following `offset` until it is absent (decK's loop), every page parsed as JSON and its ids checked "
          "against the %s expected (none missing, none repeated). Baseline (b): the same bodies from baseline (a)'s "
          "database, `SELECT id, body … WHERE control_plane_id = ? AND type = ? AND id > ? ORDER BY id LIMIT 1000`, "
          "%d threads, one connection each, the same split, bodies not parsed." % (READERS, n_(TOTAL), READERS))
        w("")
        w("| split | walks | server | rows, pages | check | server cores | raw SQLite read | server / raw |")
        w("|---|---:|---:|---|---|---:|---:|---:|")
        for mode, name in (("kinds", "one sequential walk per kind, all 5 started together (target)"),
                           ("segments", "each kind cut at fixed ids into segments of ≤ %s rows, each started from "
                                        "the cursor of the row before it (informational: all readers busy)" %
                            n_(-(-TOTAL // READERS)))):
            dd = R["dumps"].get(mode)
            if not dd:
                continue
            s, b = dd["server"], dd["base"]
            w("| %s | %d | %s | %s, %d | %s | %.2f | %s | %s |" % (
                name, dd["walks"], fmt_s(s["seconds"]), n_(s["rows"]), s["pages"],
                "ok" if s["ok"] else "**%d dup, %d missing, %d unexpected, errors: %s**" % (
                    s["duplicates"], s["missing"], s["unexpected"], "; ".join(s["errors"][:2])),
                s["phase"]["server_cores"], fmt_s(b["seconds"]) + ("" if b["ok"] else " (**wrong**)"),
                fmt_x(s["seconds"] / b["seconds"])))
        w("")

    if dep:
        w("## Page depth")
        w("")
        w("`wrk -t%d -c%d -d%ds --latency -s bench/lua/get.lua` after a %ds warm-up, on `GET …/services?size=100&"
          "offset=<cursor>`, the cursor of the middle row got by walking the list (`%s` and `%s`, control plane ids "
          "elided). The %s-row list is the first control plane's services after %s more were PUT (it then holds "
          "%s entities in all); the %s-row one is a second control plane's. Config lists have no page cache: every "
          "request reads the database." % (
              THREADS, CONNECTIONS, DEPTH_SECONDS, DEPTH_WARMUP, re.sub(r"/v2/control-planes/[^/]+", "…",
                                                                        dep["path_small"]),
              re.sub(r"/v2/control-planes/[^/]+", "…", dep["path_big"]), n_(dep["big_n"]),
              n_(dep["big_n"] - N_SERVICES), n_(TOTAL + dep["big_n"] - N_SERVICES), n_(DEPTH_SMALL)))
        w("")
        w("| list | req/s | p50 | p99 | non-2xx | server cores |")
        w("|---|---:|---:|---:|---:|---:|")
        for key, name in (("small1", "middle of %s services" % n_(DEPTH_SMALL)),
                          ("big", "middle of %s services" % n_(dep["big_n"])),
                          ("small2", "middle of %s services, again" % n_(DEPTH_SMALL))):
            x = dep["runs"].get(key)
            if x:
                w("| %s | %s | %s | %s | %d | %.2f |" % (name, fmt_num(x["rps"]), fmt_ms(x["p50_ms"]),
                                                          fmt_ms(x["p99_ms"]), x["non2xx"], x["phase"]["server_cores"]))
        w("")

    if "hwm_end" in R:
        w("## Memory")
        w("")
        w("| measure | value |")
        w("|---|---:|")
        w("| RSS idle after start, empty database (reference) | %.1f MiB |" % R["rss_idle"])
        w("| RSS after the load | %.1f MiB |" % R["rss_after_load"])
        w("| RSS after the dumps | %.1f MiB |" % R["rss_after_dump"])
        w("| RSS at the end | %.1f MiB |" % R["rss_end"])
        w("| peak of the 50 ms samples | %.1f MiB |" % R["rss_peak_sampled"])
        w("| VmHWM at the end (target ≤ %g MiB) | %.1f MiB |" % (TARGET_RSS_MIB, R["hwm_end"]))
        w("| database + WAL on disk at the end (server; baseline a) | %.1f MiB; %.1f MiB |" % (R["db_mib"],
                                                                                        R["base_db_mib"]))
        w("")
    return "\n".join(out)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    main()
