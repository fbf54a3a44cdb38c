#!/usr/bin/python3
"""The PostgreSQL and multi-node benchmark (issue 14): durable creates and authenticated reads on
PostgreSQL against raw libpq baselines and against SQLite, one node against three, and how fast a
write on one node is seen by the others.

Run it through bench/run.sh (`BENCH_ONLY=postgres bash bench/run.sh` runs only this one), or
directly: `OPENKONNECT_BENCH_BIN=build/openkonnect /usr/bin/python3 bench/postgres_suite.py`.

In one run, on this machine, all on loopback:

- A throwaway PostgreSQL 15 cluster (`scripts/postgres.sh start DIR`: fsync, synchronous_commit
  and full_page_writes on, PostgreSQL's defaults otherwise), stopped at the end, also on failure.
- Baselines, libpq (pgbench, `pgbench -n -M prepared -f SCRIPT -c 10 -j 2 -T 5`), on a database
  that `openkonnect migrate` created (the server's tables, indexes, foreign keys and triggers):
  (a) durable inserts of the rows a `POST /v2/control-planes` writes (one control_planes row and
      its two control_plane_labels rows, one INSERT each), one control plane per transaction
      (unbatched) and 100 per transaction (batched, with 10 clients and with 2, one per core: the
      better of the two is the target's baseline); each pgbench client writes into its own
      organization and takes `seq` from a sequence, so that the clients do not wait for one
      another (the per-organization count row, the unique seq). The batched runs are measured
      again right after the server's creates (the machine's load drifts); each variant's rate is
      the mean of its two runs. Informational: the batched transactions from one client (what one
      writer connection can do); the server's own statement sequence for a create (savepoint,
      row, labels cleared and inserted, release; advisory lock and pg_notify per transaction),
      32 creates per transaction, from one client; and 100 rows as one multi-row INSERT per table
      (what the round trips cost).
  (b) primary-key selects of one control plane (the server's query for
      `GET /v2/control-planes/{id}`: `WHERE org_id = ? AND id = ?`, every column) over 10 000 rows.
- The server: `openkonnect serve` (rate limits off, `--cluster-listen off`, default threads and
  workers) on a fresh SQLite file and on a fresh PostgreSQL database, each with an organization
  made by `openkonnect org create`. Durable creates (`POST /v2/control-planes`,
  bench/lua/post_control_plane.lua) and authenticated reads (`GET /v2/control-planes/{id}` over
  1 000 ids with the admin's PAT, bench/lua/get.lua), wrk -t2 -c64, a warm-up then the measured
  run. Reads run twice on each database, interleaved (SQLite, PostgreSQL, PostgreSQL, SQLite).
- Three nodes on the PostgreSQL database behind nginx (round robin, keep-alive upstreams, as
  tests/e2e/test_multi_node.py configures it): the same creates and reads through nginx with one
  node in its upstream and with all three, for the 1 -> 3 ratios.
- Cross-node visibility, ROUNDS rounds, node A rotating over the three: a control plane created
  on A until B and C answer 200 for it; a control plane renamed on A (cached on B and C) until B
  and C answer the new name; a PAT revoked on A (B and C warmed with it) until B and C answer 401.
  B and C are polled every 2 ms (each poll a keep-alive GET), bounded at 2 s.
- Where the time goes: per run the CPU time of the server(s), of every PostgreSQL process (the
  postmaster and its children, exited ones included through the postmaster's cutime), of nginx and
  of the load generator, the machine's busy share, and from PostgreSQL's statistics the
  transactions committed and the WAL fsyncs (pg_stat_database, pg_stat_wal).

Prints a markdown report and writes it to bench/results/postgres-latest.md (BENCH_PG_OUTPUT).
Environment: OPENKONNECT_BENCH_BIN (binary, default build/openkonnect), BENCH_PG_DURATION (seconds
per wrk run, default 8), BENCH_PG_WARMUP (default 2), BENCH_PG_PGBENCH_SECONDS (default 5),
BENCH_PG_ROUNDS (visibility rounds, default 50), BENCH_PG_BUDGET (seconds, default 420: later
phases are skipped beyond it), BENCH_KEEP=1 (keep the temporary directory). Every wrk and pgbench
run is bounded; every process the suite started is stopped at the end, also on failure or SIGTERM.
"""

import datetime
import http.client
import json
import math
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (_started, _terminate, fmt_duration, fmt_ms, fmt_num, free_port, http_status,  # noqa: E402
                          loadavg, log, machine_info, parse_wrk, stop_process, verdict)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA = BENCH / "lua"
BIN = os.environ.get("OPENKONNECT_BENCH_BIN") or str(ROOT / "build" / "openkonnect")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
OUTPUT = Path(os.environ.get("BENCH_PG_OUTPUT") or (BENCH / "results" / "postgres-latest.md"))
DURATION = int(os.environ.get("BENCH_PG_DURATION", "8"))
WARMUP = int(os.environ.get("BENCH_PG_WARMUP", "2"))
PGBENCH_S = int(os.environ.get("BENCH_PG_PGBENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_PG_ROUNDS", "50"))
BUDGET_S = float(os.environ.get("BENCH_PG_BUDGET", "420"))

THREADS, CONNECTIONS = 2, 64      # wrk -t2 -c64, as bench/suite.py
PGB_CLIENTS, PGB_THREADS = 10, 2  # pgbench -c10 -j2
BATCH = 100                       # rows per transaction, batched baselines
READ_ROWS = 10000                 # rows the select baseline reads among
READ_IDS = 1000                   # control planes the server's read runs rotate over
POLL_S = 0.002                    # visibility polls: one every 2 ms
POLL_BOUND_S = 2.0
NODES = 3

# Targets (issue 14).
TARGET_CREATE_RATIO = 0.5         # creates >= 0.5x the batched libpq baseline
TARGET_READ_RATIO = 1.0           # reads on PostgreSQL not slower than on SQLite...
READ_TOLERANCE = 0.95             # ...read as: the ratio of interleaved means is at least 0.95
TARGET_INVALIDATION_MS = 100.0    # a revocation refused by the other nodes within 100 ms, p99

NO_LIMITS = ["--rate-limit-token", "0", "--rate-limit-org", "0", "--rate-limit-auth-failures", "0",
             "--rate-limit-invites", "0"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
CP_COLUMNS = ("id, org_id, name, description, cluster_type, auth_type, cloud_gateway, proxy_urls, labels, "
              "created_at, updated_at")


# --- processes and CPU -----------------------------------------------------------------------------

def _stat_fields(pid, tid=None):
    path = "/proc/%d/stat" % pid if tid is None else "/proc/%d/task/%s/stat" % (pid, tid)
    with open(path) as f:
        return f.read().rsplit(")", 1)[1].split()


def proc_cpu_s(pid, children=False):
    """utime + stime (+ cutime + cstime: the children it reaped) of a process, seconds."""
    f = _stat_fields(pid)
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children else 0)
    return ticks / CLK_TCK


def children_of(ppid):
    """{pid: CPU seconds} of the live children of ppid."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            f = _stat_fields(int(name))
        except OSError:
            continue
        if int(f[1]) == ppid:
            out[int(name)] = (int(f[11]) + int(f[12])) / CLK_TCK
    return out


def thread_cpu_s(pid):
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            f = _stat_fields(pid, tid)
            out[(pid, tid)] = (int(f[11]) + int(f[12])) / CLK_TCK
        except OSError:
            pass
    return out


def machine_cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class Usage:
    """CPU over a phase: the servers (and their busiest thread), PostgreSQL (the postmaster with what
    it reaped, plus its live children; the busiest of them), nginx (master and workers), the load
    generator (this process's reaped children: wrk or pgbench), the machine's busy share; and
    PostgreSQL's commits, WAL fsyncs and token reads when `pg` and `db` are given (sampled after a
    pause before and after the phase, since backends report their statistics at most once a second)."""

    def __init__(self, servers=(), pg=None, db=None, nginx=None):
        self.servers = [s for s in servers if s is not None]
        self.pg, self.db, self.nginx = pg, db, nginx

    def _pg_cpu(self):
        pm = self.pg.postmaster_pid()
        kids = children_of(pm)
        return proc_cpu_s(pm, children=True) + sum(kids.values()), kids

    def _nginx_cpu(self):
        pid = self.nginx.proc.pid
        return proc_cpu_s(pid) + sum(children_of(pid).values())

    def __enter__(self):
        if self.pg and self.db:
            # What the backends did before (a warm-up) reaches the statistics within a second: wait,
            # so that it is not counted in this phase.
            time.sleep(1.2)
            self.stats0 = self.pg.stats(self.db)
        self.t0 = time.perf_counter()
        self.m0 = machine_cpu()
        self.rc0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.srv0 = sum(proc_cpu_s(s.proc.pid) for s in self.servers)
        self.thr0 = {}
        for s in self.servers:
            self.thr0.update(thread_cpu_s(s.proc.pid))
        if self.pg:
            self.pg0, self.kids0 = self._pg_cpu()
        if self.nginx:
            self.ngx0 = self._nginx_cpu()
        return self

    def __exit__(self, *exc):
        wall = max(1e-9, time.perf_counter() - self.t0)
        m1 = machine_cpu()
        rc1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = {"wall": wall, "machine_busy": (m1[0] - self.m0[0]) / max(1, m1[1] - self.m0[1]),
             "client_cores": ((rc1.ru_utime - self.rc0.ru_utime) + (rc1.ru_stime - self.rc0.ru_stime)) / wall,
             "server_cores": None, "busiest_thread": None, "pg_cores": None, "pg_busiest": None,
             "nginx_cores": None, "commits": None, "wal_syncs": None, "wal_bytes": None, "token_scans": None,
             "load": loadavg()}
        if self.servers:
            r["server_cores"] = (sum(proc_cpu_s(s.proc.pid) for s in self.servers) - self.srv0) / wall
            thr1 = {}
            for s in self.servers:
                thr1.update(thread_cpu_s(s.proc.pid))
            r["busiest_thread"] = max([(v - self.thr0.get(k, 0.0)) / wall for k, v in thr1.items()] or [0.0])
        if self.pg:
            pg1, kids1 = self._pg_cpu()
            r["pg_cores"] = (pg1 - self.pg0) / wall
            r["pg_busiest"] = max([(v - self.kids0.get(p, 0.0)) / wall for p, v in kids1.items()] or [0.0])
        if self.nginx:
            r["nginx_cores"] = (self._nginx_cpu() - self.ngx0) / wall
        ours = sum(r[k] or 0 for k in ("server_cores", "pg_cores", "nginx_cores", "client_cores"))
        r["other_cores"] = max(0.0, r["machine_busy"] * (os.cpu_count() or 1) - ours)
        if self.pg and self.db:
            time.sleep(1.2)
            s1 = self.pg.stats(self.db)
            r["commits"] = s1["commits"] - self.stats0["commits"]
            r["wal_syncs"] = s1["wal_sync"] - self.stats0["wal_sync"]
            r["wal_bytes"] = s1["wal_bytes"] - self.stats0["wal_bytes"]
            r["token_scans"] = s1["token_scans"] - self.stats0["token_scans"]
        self.result = r
        return False


# --- PostgreSQL ------------------------------------------------------------------------------------

def psql(url, sql, timeout=60):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("psql failed: %s" % out.stderr.strip()[-500:])
    return out.stdout.strip()


class PgCluster:
    """scripts/postgres.sh's throwaway cluster in DIR (which the postgres OS user must reach)."""

    def __init__(self, directory):
        self.dir = directory
        self.url = None

    def _script(self, command):
        out = subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), command, self.dir],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError("scripts/postgres.sh %s failed: %s" % (command, out.stderr.strip()[-1000:]))
        return out.stdout.strip()

    def start(self):
        self.url = self._script("start").splitlines()[-1]
        return self.url

    def stop(self):
        self._script("stop")

    def postmaster_pid(self):
        with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
            return int(f.readline())

    def database(self, name):
        """A fresh database; returns its URL."""
        psql(self.url, "CREATE DATABASE " + name)
        return re.sub(r"/[^/]*$", "/" + name, self.url)

    def stats(self, db_url):
        """Cluster and database counters: commits, WAL fsyncs and bytes, scans of access_tokens (one per
        token read from the database: the server's find_token_by_hash)."""
        row = psql(db_url, "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), "
                           "wal_sync, wal_bytes, (SELECT COALESCE(SUM(COALESCE(idx_scan, 0) + COALESCE(seq_scan, 0)), "
                           "0) FROM pg_stat_user_tables WHERE relname = 'access_tokens') FROM pg_stat_wal")
        commits, sync, nbytes, token_scans = row.split("|")
        return {"commits": int(commits), "wal_sync": int(sync), "wal_bytes": int(float(nbytes)),
                "token_scans": int(token_scans)}

    def version(self):
        try:
            return subprocess.run([os.path.join(PG_BIN, "postgres"), "--version"], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except OSError:
            return "?"


# --- pgbench baselines -----------------------------------------------------------------------------

# One control plane as the server writes it (src/store/sql/sql_store.cpp, insert_control_plane_rows):
# the row, then one INSERT per label. Ids are UUID-shaped text; names unique in the organization.
CP_ROW = """\\set n random(1, 9000000000000000000)
INSERT INTO control_planes ({cols}, seq)
  VALUES (md5(:client_id || '-' || :n)::uuid::text, {org}, 'bench-' || :client_id || '-' || :n,
          'created by the openkonnect benchmark', 'CLUSTER_TYPE_CONTROL_PLANE', 'pinned_client_certs', 0, '[]',
          '{{"env":"bench","team":"team-03"}}', (extract(epoch from clock_timestamp()) * 1000)::bigint,
          (extract(epoch from clock_timestamp()) * 1000)::bigint, {seq});
INSERT INTO control_plane_labels (control_plane_id, org_id, key, value)
  VALUES (md5(:client_id || '-' || :n)::uuid::text, {org}, 'env', 'bench');
INSERT INTO control_plane_labels (control_plane_id, org_id, key, value)
  VALUES (md5(:client_id || '-' || :n)::uuid::text, {org}, 'team', 'team-03');
"""
# The server's own statements for one create inside its group commit (sql_store.cpp, writer_loop
# and insert_control_plane_rows): a savepoint, the row with seq as MAX + 1, one INSERT for both
# labels, the savepoint released; per batch the advisory write lock and one pg_notify
# (store/postgres/backend.cpp). The server sends the release and the next savepoint in one
# round trip with the row (libpq pipeline mode); pgbench sends each statement on its own.
SERVER_CREATE = """\\set n random(1, 9000000000000000000)
SAVEPOINT w;
INSERT INTO control_planes ({cols}, seq)
  VALUES (md5(:client_id || '-' || :n)::uuid::text, 'pgbench-server', 'bench-' || :client_id || '-' || :n,
          'created by the openkonnect benchmark', 'CLUSTER_TYPE_CONTROL_PLANE', 'pinned_client_certs', 0, '[]',
          '{{"env":"bench","team":"team-03"}}', (extract(epoch from clock_timestamp()) * 1000)::bigint,
          (extract(epoch from clock_timestamp()) * 1000)::bigint,
          (SELECT COALESCE(MAX(seq), 0) + 1 FROM control_planes));
INSERT INTO control_plane_labels (control_plane_id, org_id, key, value)
  VALUES (md5(:client_id || '-' || :n)::uuid::text, 'pgbench-server', 'env', 'bench'),
         (md5(:client_id || '-' || :n)::uuid::text, 'pgbench-server', 'team', 'team-03');
RELEASE w;
"""
SERVER_BATCH = 32        # about the creates per commit the server reaches at wrk -c64
WRITE_LOCK = 0x6F6B5F7772697465  # store/postgres/migrations.hpp, kPgWriteLock
OWN_ORG = "'pgbench-org-' || :client_id"
SEQ_NEXTVAL = "nextval('pgbench_cp_seq')"

MULTI_ROW = """\\set n random(1, 9000000000000000000)
BEGIN;
INSERT INTO control_planes ({cols}, seq)
  SELECT md5(:client_id || '-' || :n || '-' || g)::uuid::text, {org}, 'bench-' || :client_id || '-' || :n || '-' || g,
         'created by the openkonnect benchmark', 'CLUSTER_TYPE_CONTROL_PLANE', 'pinned_client_certs', 0, '[]',
         '{{"env":"bench","team":"team-03"}}', (extract(epoch from clock_timestamp()) * 1000)::bigint,
         (extract(epoch from clock_timestamp()) * 1000)::bigint, nextval('pgbench_cp_seq')
  FROM generate_series(1, {batch}) g;
INSERT INTO control_plane_labels (control_plane_id, org_id, key, value)
  SELECT md5(:client_id || '-' || :n || '-' || g)::uuid::text, {org}, l.k, l.v
  FROM generate_series(1, {batch}) g, (VALUES ('env', 'bench'), ('team', 'team-03')) l(k, v);
COMMIT;
"""
SELECT_ONE = """\\set i random(1, {rows})
SELECT {cols} FROM control_planes WHERE org_id = 'pgbench-read' AND id = md5('r' || :i)::uuid::text;
"""


def pgbench_scripts(workdir):
    row = CP_ROW.format(cols=CP_COLUMNS, org=OWN_ORG, seq=SEQ_NEXTVAL)
    scripts = {
        "unbatched": "BEGIN;\n" + row + "COMMIT;\n",
        "batched": "BEGIN;\n" + row * BATCH + "COMMIT;\n",
        "multirow": MULTI_ROW.format(cols=CP_COLUMNS, org=OWN_ORG, batch=BATCH),
        "server": ("BEGIN;\nSELECT pg_advisory_xact_lock(%d);\n" % WRITE_LOCK
                   + SERVER_CREATE.format(cols=CP_COLUMNS) * SERVER_BATCH
                   + "SELECT pg_notify('openkonnect_pgbench', 'bench');\nCOMMIT;\n"),
        "select": SELECT_ONE.format(cols=CP_COLUMNS, rows=READ_ROWS),
    }
    paths = {}
    for name, text in scripts.items():
        paths[name] = os.path.join(workdir, "pgbench-%s.sql" % name)
        with open(paths[name], "w") as f:
            f.write(text)
    return paths


def setup_baseline_db(db_url):
    subprocess.run([BIN, "migrate", "--database", db_url], check=True, capture_output=True, timeout=120)
    now = int(time.time() * 1000)
    psql(db_url, "CREATE SEQUENCE pgbench_cp_seq; "
                 "INSERT INTO organizations (id, name, created_at, updated_at) "
                 "SELECT 'pgbench-org-' || i, 'pgbench ' || i, %d, %d FROM generate_series(0, %d) i; "
                 "INSERT INTO organizations (id, name, created_at, updated_at) VALUES "
                 "('pgbench-read', 'pgbench read', %d, %d), ('pgbench-server', 'pgbench server', %d, %d)" % (
                     now, now, PGB_CLIENTS - 1, now, now, now, now))
    # The rows the select baseline reads, made in one statement.
    psql(db_url, "INSERT INTO control_planes ({cols}, seq) SELECT md5('r' || i)::uuid::text, 'pgbench-read', "
                 "'read-' || i, 'created by the openkonnect benchmark', 'CLUSTER_TYPE_CONTROL_PLANE', "
                 "'pinned_client_certs', 0, '[]', '{{\"env\":\"bench\",\"team\":\"team-03\"}}', {now}, {now}, "
                 "nextval('pgbench_cp_seq') FROM generate_series(1, {rows}) i; "
                 "INSERT INTO control_plane_labels (control_plane_id, org_id, key, value) "
                 "SELECT md5('r' || i)::uuid::text, 'pgbench-read', l.k, l.v FROM generate_series(1, {rows}) i, "
                 "(VALUES ('env', 'bench'), ('team', 'team-03')) l(k, v); ANALYZE".format(
                     cols=CP_COLUMNS, now=now, rows=READ_ROWS))


def run_pgbench(label, script, db_url, pg, rows_per_tx, clients, workdir, key):
    cmd = [os.path.join(PG_BIN, "pgbench"), "-n", "-M", "prepared", "-f", script, "-c", str(clients),
           "-j", str(min(PGB_THREADS, clients)), "-T", str(PGBENCH_S), db_url]
    with Usage(pg=pg, db=db_url) as u:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PGBENCH_S + 60)
    out = done.stdout + done.stderr
    with open(os.path.join(workdir, "pgbench-%s.txt" % key), "w") as f:
        f.write(" ".join(cmd) + "\n" + out)
    r = {"label": label, "cmd": " ".join([os.path.basename(cmd[0])] + cmd[1:-1] + ["URL"]), "usage": u.result,
         "rows_per_tx": rows_per_tx, "clients": clients, "script": os.path.basename(script)}
    m = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
    r["tps"] = float(m.group(1)) if m else None
    m = re.search(r"number of transactions actually processed: (\d+)", out)
    r["transactions"] = int(m.group(1)) if m else None
    m = re.search(r"number of failed transactions: (\d+)", out)
    r["failed"] = int(m.group(1)) if m else None
    m = re.search(r"latency average = ([0-9.]+) ms", out)
    r["latency_ms"] = float(m.group(1)) if m else None
    r["rate"] = r["tps"] * rows_per_tx if r["tps"] is not None else None
    if done.returncode != 0 or r["tps"] is None or r["failed"]:
        r["error"] = "pgbench exited %d: %s" % (done.returncode, out.strip()[-400:])
    log("  %-58s %9s/s  (tps %s, latency avg %s, PG %.2f cores, pgbench %.2f, commits %s, WAL fsyncs %s)%s" % (
        label, fmt_num(r["rate"]), "%.1f" % r["tps"] if r["tps"] is not None else "—", fmt_ms(r["latency_ms"]),
        u.result["pg_cores"], u.result["client_cores"], u.result["commits"], u.result["wal_syncs"],
        ("  ERROR " + r["error"]) if r.get("error") else ""))
    return r


# --- openkonnect nodes and nginx ------------------------------------------------------------------

class Node:
    """openkonnect serve on a free loopback port, rate limits off, no cluster listener."""

    def __init__(self, database, workdir, name, port=None):
        self.database, self.name = database, name
        self.port = port or free_port()
        self.stderr_path = os.path.join(workdir, name + ".stderr.log")
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def start(self, timeout=30):
        args = [BIN, "serve", "--listen", "127.0.0.1:%d" % self.port, "--database", self.database,
                "--cluster-listen", "off", "--shutdown-grace-ms", "2000"] + NO_LIMITS
        with open(self.stderr_path, "ab") as stderr:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)
        _started.append(self.proc)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if http_status(self.port) == 200:
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s: %s" % (self.name, self.proc.returncode, self.stderr_tail()))
            time.sleep(0.01)
        raise RuntimeError("%s did not answer /healthz within %ss: %s" % (self.name, timeout, self.stderr_tail()))

    def stderr_tail(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)


class Nginx:
    """nginx in front of the nodes, round robin over keep-alive upstreams (tests/e2e/test_multi_node.py's
    configuration, with more idle upstream connections for wrk's 64): one listener whose upstream is
    the first node, one whose upstream is all of them."""

    def __init__(self, workdir, ports):
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port_one, self.port_all = free_port(), free_port()
        conf = """worker_processes auto;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  upstream one {{
    server 127.0.0.1:{first};
    keepalive 128;
    keepalive_requests 1000000;
  }}
  upstream all {{
{servers}    keepalive 128;
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{p1};
    location / {{
      proxy_pass http://one;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_next_upstream error timeout;
    }}
  }}
  server {{
    listen 127.0.0.1:{p3};
    location / {{
      proxy_pass http://all;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_next_upstream error timeout;
    }}
  }}
}}
""".format(d=self.dir, first=ports[0], servers="".join("    server 127.0.0.1:%d;\n" % p for p in ports),
           p1=self.port_one, p3=self.port_all)
        self.conf_text = conf
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.conf, "-e", os.path.join(self.dir, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr.log"), "wb"))
        _started.append(self.proc)
        deadline = time.time() + 10
        while http_status(self.port_one) != 200:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("nginx did not start: " + open(os.path.join(self.dir, "stderr.log")).read())
            time.sleep(0.02)
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, timeout=10)


# --- HTTP ----------------------------------------------------------------------------------------

class Client:
    """One keep-alive HTTP/1.1 connection; call() returns (status, parsed body, sent at, answered at)."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method, path, token=None, body=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                if attempt:
                    raise
        t1 = time.perf_counter()
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return resp.status, doc, t0, t1

    def must(self, method, path, token=None, body=None, expect=(200, 201, 204)):
        status, doc, t0, t1 = self.call(method, path, token, body)
        if status not in expect:
            raise RuntimeError("%s %s on :%d -> %d: %s" % (method, path, self.port, status, json.dumps(doc)[:300]))
        return doc, t0, t1

    def close(self):
        self.conn.close()


def org_create(database, name):
    out = subprocess.run([BIN, "org", "create", "--database", database, "--name", name, "--admin-email",
                          "admin@%s.bench.example" % name.lower().replace(" ", "-")],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def ids_file(port, token, path):
    """READ_IDS control plane ids, listed through the API."""
    c = Client(port)
    ids = []
    page = 1
    while len(ids) < READ_IDS:
        doc, _, _ = c.must("GET", "/v2/control-planes?page[size]=100&page[number]=%d" % page, token)
        ids.extend(cp["id"] for cp in doc["data"])
        if len(doc["data"]) < 100:
            break
        page += 1
    c.close()
    if not ids:
        raise RuntimeError("no control planes to read")
    with open(path, "w") as f:
        f.write("\n".join(ids[:READ_IDS]) + "\n")
    return len(ids[:READ_IDS])


# --- wrk -----------------------------------------------------------------------------------------

def run_wrk(label, url, script, env, workdir, usage_args, warmup_env=None):
    full_env = dict(os.environ, **env)
    if WARMUP > 0:
        subprocess.run(["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % WARMUP, "--timeout", "10s",
                        "-s", str(LUA / script), url], env=dict(full_env, **(warmup_env or {})),
                       capture_output=True, text=True, timeout=WARMUP + 30)
    cmd = ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % DURATION, "--timeout", "10s", "--latency",
           "-s", str(LUA / script), url]
    with Usage(**usage_args) as u:
        done = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=DURATION + 60)
    out = done.stdout + done.stderr
    with open(os.path.join(workdir, "wrk-%s.txt" % re.sub(r"[^a-z0-9]+", "-", label.lower())), "w") as f:
        f.write(" ".join(cmd) + "\n" + out)
    r = parse_wrk(out)
    r.update(label=label, cmd=cmd, usage=u.result)
    if done.returncode != 0 or r["rps"] is None or r["non2xx"] or r["socket_errors"]:
        r["error"] = "wrk exited %d, non-2xx %s, %s: %s" % (done.returncode, r["non2xx"],
                                                            r["socket_errors_text"] or "no socket errors",
                                                            out.strip()[-300:])
    x = u.result
    log("  %-44s %9s req/s  p50 %8s  p99 %8s  non-2xx %s  server %s, PG %s, nginx %s, wrk %.2f cores, machine %.0f%%" % (
        label, fmt_num(r["rps"]), fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]), r["non2xx"], fmt_c(x["server_cores"]),
        fmt_c(x["pg_cores"]), fmt_c(x["nginx_cores"]), x["client_cores"], 100 * x["machine_busy"]))
    return r


# --- cross-node visibility -----------------------------------------------------------------------

def measure(kind, a, others, token, done_when, request, out):
    """One observation per node in `others`: a poller each, started when request() sets `go` (just
    before it sends, or at its 2xx when the path is known only then), polls target["path"] every
    POLL_S on a keep-alive connection until done_when(status, body), bounded by POLL_BOUND_S.
    request(go, target) -> (sent, acknowledged). Records when the first satisfying answer arrived,
    from the request's sending and from its 2xx, and how many answers to polls sent after the 2xx
    did not satisfy it yet (stale)."""
    go = threading.Event()
    target = {}
    records = {n.port: [] for n in others}

    def poller(n):
        c = Client(n.port)
        try:
            c.call("GET", "/healthz")  # connected before the clock starts
            if not go.wait(10):
                return
            start = time.perf_counter()
            while True:
                status, doc, t0, t1 = c.call("GET", target["path"], token)
                ok = done_when(status, doc)
                records[n.port].append((status, t0, t1, ok))
                if ok or t1 - start > POLL_BOUND_S:
                    return
                delay = t0 + POLL_S - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
        finally:
            c.close()

    threads = [threading.Thread(target=poller, args=(n,), daemon=True) for n in others]
    for t in threads:
        t.start()
    time.sleep(0.01)  # the pollers connected and waiting
    try:
        sent, acked = request(go, target)
    finally:
        go.set()
        for t in threads:
            t.join(POLL_BOUND_S + 10)
    for n in others:
        rec = records[n.port]
        first = next((r for r in rec if r[3]), None)
        out[kind].append({
            "from": a.name, "to": n.name, "ack_ms": 1000 * (acked - sent), "seen": first is not None,
            "after_ack_ms": None if first is None else 1000 * max(0.0, first[2] - acked),
            "after_send_ms": None if first is None else 1000 * (first[2] - sent),
            "polls": len(rec), "stale_after_ack": sum(1 for r in rec if r[1] >= acked and not r[3]),
            "before_ack": first is not None and first[2] <= acked,
        })


def visibility_rounds(nodes, org, rounds, deadline):
    """Cross-node visibility, `rounds` times, node A rotating over the nodes: a control plane
    created on A (B and C polled from A's 2xx: its id is known only then) until B and C answer 200;
    renamed on A after B and C cached it, until they answer the new name; a PAT revoked on A after
    B and C answered 200 with it, until they answer 401 (B and C polled from the sending)."""
    token, user_id = org["token"], org["user_id"]
    clients = {n.port: Client(n.port) for n in nodes}
    out = {"create": [], "rename": [], "revoke": [], "errors": [], "rounds": 0}
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")
    try:
        for i in range(rounds):
            if time.time() > deadline:
                out["errors"].append("stopped after %d rounds (suite time budget)" % i)
                break
            a = nodes[i % len(nodes)]
            others = [n for n in nodes if n is not a]
            ca = clients[a.port]
            name = "vis-%d-%d" % (i, int(time.time() * 1000))

            cp = {}

            def create(go, target):
                doc, t0, t1 = ca.must("POST", "/v2/control-planes", token, {"name": name})
                cp["path"] = target["path"] = "/v2/control-planes/" + doc["id"]
                go.set()
                return t0, t1

            measure("create", a, others, token, lambda s, d: s == 200, create, out)

            time.sleep(0.05)  # the creation heard everywhere before B and C cache the control plane
            for n in others:
                for _ in range(3):
                    clients[n.port].must("GET", cp["path"], token, expect=(200,))
            new_name = name + "-renamed"

            def rename(go, target):
                target["path"] = cp["path"]
                go.set()
                _, t0, t1 = ca.must("PATCH", cp["path"], token, {"name": new_name})
                return t0, t1

            measure("rename", a, others, token, lambda s, d: s == 200 and d is not None and d.get("name") == new_name,
                    rename, out)

            doc, _, _ = ca.must("POST", "/v3/users/%s/access-tokens" % user_id, token,
                                {"name": "vis-%d-%d" % (i, int(time.time() * 1000)), "expires_at": expires})
            pat, pat_id = doc["konnect_token"], doc["id"]
            time.sleep(0.05)  # the token's creation heard everywhere before B and C cache it
            for n in others:
                for _ in range(3):
                    clients[n.port].must("GET", "/v3/users/me", pat, expect=(200,))

            def revoke(go, target):
                target["path"] = "/v3/users/me"
                go.set()
                _, t0, t1 = ca.must("PATCH", "/v3/users/%s/access-tokens/%s/revoke" % (user_id, pat_id), token)
                return t0, t1

            measure("revoke", a, others, pat, lambda s, d: s == 401, revoke, out)
            # A user holds at most 10 personal access tokens: the revoked one goes.
            ca.must("DELETE", "/v3/users/%s/access-tokens/%s" % (user_id, pat_id), token)
            out["rounds"] = i + 1
    except Exception as e:  # noqa: BLE001 - reported
        out["errors"].append("round %d failed: %s" % (out["rounds"] + 1, e))
        log("  visibility round failed: %s" % e)
    finally:
        for c in clients.values():
            c.close()
    return out


# --- formatting ------------------------------------------------------------------------------------

def fmt_c(x):
    return "—" if x is None else "%.2f" % x


def fmt_x(x):
    return "—" if x is None else ("%.2f×" % x if x >= 0.1 else "%.3f×" % x)


def ratio(a, b):
    return None if a is None or not b else a / b


def pct(values, q):
    """Nearest-rank percentile."""
    v = sorted(values)
    if not v:
        return None
    return v[max(0, min(len(v) - 1, int(math.ceil(q * len(v))) - 1))]


def mean_rps(runs):
    xs = [r["rps"] for r in runs if r and r.get("rps")]
    return statistics.mean(xs) if xs else None


# --- the suite -----------------------------------------------------------------------------------

def main():
    suite_t0 = time.time()
    deadline = suite_t0 + BUDGET_S
    if not os.access(BIN, os.X_OK):
        sys.exit("no openkonnect binary at %s (set OPENKONNECT_BENCH_BIN or run bench/run.sh)" % BIN)
    for tool in ("wrk", "nginx", "psql", os.path.join(PG_BIN, "pgbench"), os.path.join(PG_BIN, "pg_ctl")):
        if shutil.which(tool) is None:
            sys.exit("%s is not installed (bench/run.sh installs it)" % tool)
    # Not a 0700 mkdtemp alone: the cluster runs as the postgres OS user, which must reach it.
    workdir = tempfile.mkdtemp(prefix="openkonnect-pg-bench-", dir="/tmp")
    os.chmod(workdir, 0o755)
    log("working directory %s, binary %s, wrk -t%d -c%d -d%ds (+%ds warm-up), pgbench -T %d" % (
        workdir, BIN, THREADS, CONNECTIONS, DURATION, WARMUP, PGBENCH_S))
    R = {"info": machine_info(BIN, ROOT), "load_start": loadavg(), "skipped": [], "errors": []}
    pg = PgCluster(os.path.join(workdir, "pg"))
    R["pg_version"] = pg.version()
    nodes, sqlite_node, nginx = [], None, None
    pg_started = False

    def time_left(need):
        if time.time() + need > deadline:
            return False
        return True

    try:
        base_url = pg.start()
        pg_started = True
        log("PostgreSQL: %s (%s)" % (base_url, R["pg_version"]))

        # --- baselines -------------------------------------------------------------------------
        bdb = pg.database("ok_pgbench")
        setup_baseline_db(bdb)
        scripts = pgbench_scripts(workdir)
        log("baselines: libpq (pgbench -M prepared -c %d -j %d -T %d) on a migrated database" % (
            PGB_CLIENTS, PGB_THREADS, PGBENCH_S))
        R["pgb"] = {}
        for key, label, rows, clients, script in (
                ("unbatched", "(a) inserts, 1 control plane per transaction", 1, PGB_CLIENTS, "unbatched"),
                ("batched", "(a) inserts, %d control planes per transaction" % BATCH, BATCH, PGB_CLIENTS, "batched"),
                ("batched_c2", "(a) the same, 2 clients (one per core)", BATCH, 2, "batched"),
                ("batched_c1", "(a, informational) the same, 1 client: one writer", BATCH, 1, "batched"),
                ("server", "(a, informational) the server's statements, %d creates per transaction, 1 client"
                 % SERVER_BATCH, SERVER_BATCH, 1, "server"),
                ("multirow", "(a, informational) %d per transaction, one INSERT per table" % BATCH, BATCH,
                 PGB_CLIENTS, "multirow"),
                ("select", "(b) primary-key select of one control plane", 1, PGB_CLIENTS, "select")):
            R["pgb"][key] = run_pgbench(label, scripts[script], bdb, pg, rows, clients, workdir, key)
            if key == "server":  # its MAX + 1 numbers went past the sequence the other scripts use
                psql(bdb, "SELECT setval('pgbench_cp_seq', (SELECT MAX(seq) FROM control_planes))")
        R["pgb_rows_in_db"] = int(psql(bdb, "SELECT COUNT(*) FROM control_planes"))

        # --- one node on SQLite, one on PostgreSQL ---------------------------------------------
        sqlite_db = "sqlite:" + os.path.join(workdir, "server.db")
        pg_db = pg.database("ok_nodes")
        org_sqlite = org_create(sqlite_db, "SQLite Bench")
        org_pg = org_create(pg_db, "PG Bench")
        sqlite_node = Node(sqlite_db, workdir, "sqlite").start()
        pg1 = Node(pg_db, workdir, "node1").start()
        nodes.append(pg1)
        tokens = {}
        for key, org in (("sqlite", org_sqlite), ("pg", org_pg)):
            tokens[key] = os.path.join(workdir, "token-%s.txt" % key)
            with open(tokens[key], "w") as f:
                f.write(org["token"] + "\n")

        nonce = "p%d" % int(time.time())
        R["runs"] = {}

        def creates(key, label, url, org, usage_args):
            R["runs"][key] = run_wrk(label, url, "post_control_plane.lua",
                                     {"BENCH_TOKEN": org["token"], "BENCH_NONCE": nonce + key + "r"}, workdir,
                                     usage_args, warmup_env={"BENCH_NONCE": nonce + key + "w"})

        def reads(key, label, url, token_file, ids, usage_args):
            R["runs"][key] = run_wrk(label, url, "get.lua", {"BENCH_PATH": "/v2/control-planes/{id}",
                                                             "BENCH_TOKENS_FILE": token_file,
                                                             "BENCH_IDS_FILE": ids}, workdir, usage_args)

        log("one node: durable creates (POST /v2/control-planes)")
        creates("create_sqlite", "SQLite, 1 node: POST /v2/control-planes", sqlite_node.url, org_sqlite,
                {"servers": [sqlite_node]})
        creates("create_pg1", "PostgreSQL, 1 node: POST /v2/control-planes", pg1.url, org_pg,
                {"servers": [pg1], "pg": pg, "db": pg_db})

        # The batched baselines again, right after the server's creates: the machine's load drifts.
        R["pgb_again"] = {}
        for key, label, clients in (("batched", "(a) %d per transaction, again" % BATCH, PGB_CLIENTS),
                                    ("batched_c2", "(a) the same, 2 clients, again", 2)):
            R["pgb_again"][key] = run_pgbench(label, scripts["batched"], bdb, pg, BATCH, clients, workdir,
                                              key + "-again")

        ids = {"sqlite": os.path.join(workdir, "ids-sqlite.txt"), "pg": os.path.join(workdir, "ids-pg.txt")}
        ids_file(sqlite_node.port, org_sqlite["token"], ids["sqlite"])
        ids_file(pg1.port, org_pg["token"], ids["pg"])
        log("one node: authenticated reads (GET /v2/control-planes/{id}, %d ids), SQLite, PostgreSQL, PostgreSQL, "
            "SQLite" % READ_IDS)
        # A B B A: a drift of the machine over the four runs weighs on both alike.
        for db_key, k in (("sqlite", 1), ("pg", 1), ("pg", 2), ("sqlite", 2)):
            if db_key == "sqlite":
                reads("read_sqlite_%d" % k, "SQLite, 1 node: GET /v2/control-planes/{id} #%d" % k, sqlite_node.url,
                      tokens["sqlite"], ids["sqlite"], {"servers": [sqlite_node]})
            else:
                reads("read_pg1_%d" % k, "PostgreSQL, 1 node: GET /v2/control-planes/{id} #%d" % k, pg1.url,
                      tokens["pg"], ids["pg"], {"servers": [pg1], "pg": pg, "db": pg_db})
        sqlite_node.stop()
        sqlite_node = None

        # --- three nodes behind nginx ----------------------------------------------------------
        if time_left(120):
            more = [Node(pg_db, workdir, "node%d" % (i + 1)) for i in range(1, NODES)]
            nginx = Nginx(workdir, [pg1.port] + [n.port for n in more]).start()
            for n in more:
                nodes.append(n.start())
            log("three nodes on one database behind nginx (one listener upstream to node1, one to all %d)" % NODES)
            one = "http://127.0.0.1:%d/" % nginx.port_one
            alln = "http://127.0.0.1:%d/" % nginx.port_all
            creates("create_ngx1", "nginx -> 1 node: POST /v2/control-planes", one, org_pg,
                    {"servers": nodes, "pg": pg, "db": pg_db, "nginx": nginx})
            creates("create_ngx3", "nginx -> %d nodes: POST /v2/control-planes" % NODES, alln, org_pg,
                    {"servers": nodes, "pg": pg, "db": pg_db, "nginx": nginx})
            reads("read_ngx1", "nginx -> 1 node: GET /v2/control-planes/{id}", one, tokens["pg"], ids["pg"],
                  {"servers": nodes, "pg": pg, "db": pg_db, "nginx": nginx})
            reads("read_ngx3", "nginx -> %d nodes: GET /v2/control-planes/{id}" % NODES, alln, tokens["pg"],
                  ids["pg"], {"servers": nodes, "pg": pg, "db": pg_db, "nginx": nginx})
        else:
            R["skipped"].append("three nodes behind nginx (suite time budget)")

        # --- cross-node visibility -------------------------------------------------------------
        if len(nodes) == NODES and time_left(30):
            log("cross-node visibility: %d rounds (create, rename, revoke on node A; B and C polled every %.0f ms)" % (
                ROUNDS, POLL_S * 1000))
            with Usage(servers=nodes, pg=pg) as u:
                R["vis"] = visibility_rounds(nodes, org_pg, ROUNDS, deadline - 15)
            R["vis_usage"] = u.result
            for kind in ("create", "rename", "revoke"):
                xs = [x["after_ack_ms"] for x in R["vis"][kind] if x["seen"]]
                log("  %-7s %3d observations: after the 2xx p50 %s p99 %s max %s; not seen within %.0f s: %d" % (
                    kind, len(R["vis"][kind]), fmt_ms(pct(xs, 0.5)), fmt_ms(pct(xs, 0.99)),
                    fmt_ms(max(xs) if xs else None), POLL_BOUND_S,
                    sum(1 for x in R["vis"][kind] if not x["seen"])))
        else:
            R["skipped"].append("cross-node visibility (needs %d nodes and time)" % NODES)
        R["pg_rows"] = int(psql(pg_db, "SELECT COUNT(*) FROM control_planes"))
    except Exception as e:  # noqa: BLE001 - the report says what failed
        R["errors"].append("%s: %s" % (type(e).__name__, e))
        log("FAILED: %s" % e)
    finally:
        if nginx is not None:
            nginx.stop()
        for n in nodes:
            n.stop()
        if sqlite_node is not None:
            sqlite_node.stop()
        for p in list(_started):
            stop_process(p, timeout=10)
        if pg_started:
            try:
                pg.stop()
            except Exception as e:  # noqa: BLE001
                log("stopping PostgreSQL failed: %s" % e)
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
    if R["errors"]:
        sys.exit(1)


def per_request_us(r, cores_key):
    """CPU microseconds per request (or row) of one party over a run."""
    u = r["usage"]
    n = r.get("rps") or r.get("rate")
    return None if u.get(cores_key) is None or not n else 1e6 * u[cores_key] / n


def our_us(r):
    """CPU microseconds per request of everything the suite runs (servers, PostgreSQL, nginx, wrk)."""
    u = r["usage"]
    ours = sum(u[k] or 0 for k in ("server_cores", "pg_cores", "nginx_cores", "client_cores"))
    return 1e6 * ours / r["rps"] if r.get("rps") else None


def fmt_us(x):
    return "—" if x is None else "%.0f µs" % x


def vis_summary(obs):
    seen = [x for x in obs if x["seen"]]
    after_ack = [x["after_ack_ms"] for x in seen]
    after_send = [x["after_send_ms"] for x in seen]
    acks = [x["ack_ms"] for x in obs]
    return {
        "n": len(obs), "seen": len(seen), "unseen": len(obs) - len(seen),
        "ack_p50": pct(acks, 0.5), "ack_p99": pct(acks, 0.99),
        "p50": pct(after_ack, 0.5), "p99": pct(after_ack, 0.99), "max": max(after_ack) if after_ack else None,
        "send_p50": pct(after_send, 0.5), "send_p99": pct(after_send, 0.99),
        "send_max": max(after_send) if after_send else None,
        "before_ack": sum(1 for x in obs if x["before_ack"]),
        "stale": sum(x["stale_after_ack"] for x in obs),
        "stale_obs": sum(1 for x in obs if x["stale_after_ack"]),
    }


def findings(R, base_rate, c1, c3, read_x):
    """What the run says, from what it measured: each target's margin, and where the time went."""
    pgb, runs, vis = R.get("pgb", {}), R.get("runs", {}), R.get("vis")
    out = []
    one = pgb.get("batched_c1", {}).get("rate")
    multi = pgb.get("multirow", {}).get("rate")
    ncpu = os.cpu_count() or 1

    def cpu_line(u, plural=False):
        return ("the machine was %.0f %% busy: the server%s %.2f cores (busiest thread %.2f), PostgreSQL %.2f (busiest "
                "process %.2f)%s, wrk %.2f, other processes on the machine %.2f" % (
                    100 * u["machine_busy"], "s" if plural else "", u["server_cores"], u["busiest_thread"],
                    u["pg_cores"], u["pg_busiest"],
                    ", nginx %.2f" % u["nginx_cores"] if u.get("nginx_cores") is not None else "", u["client_cores"],
                    u["other_cores"]))

    r = runs.get("create_pg1")
    if r and c1 and r.get("rps"):
        u = r["usage"]
        x, ok = c1
        n = r["rps"] * u["wall"]
        if ok:
            head = "**Creates, 1 node: met** with %s the batched baseline (target %.1f×)." % (fmt_x(x), TARGET_CREATE_RATIO)
        else:
            need = TARGET_CREATE_RATIO * base_rate
            head = ("**Creates, 1 node: missed** by %s creates/s: %s the baseline against %.1f× (%s creates/s needed, "
                    "%s the measured rate)." % (fmt_num(need - r["rps"]), fmt_x(x), TARGET_CREATE_RATIO, fmt_num(need),
                                                fmt_x(need / r["rps"])))
        text = head + " During the run %s. " % cpu_line(u)
        text += ("The server writes through one connection (src/store/sql/sql_store.cpp, writer_loop: group commit, "
                 "one transaction per batch): each create is two round trips to the one PostgreSQL backend behind "
                 "that connection, one after the other: the previous write's RELEASE, this one's SAVEPOINT and its "
                 "INSERT control_planes in one pipeline, then one INSERT for its labels; that backend did %.0f %% of "
                 "PostgreSQL's work (%.2f of a core, %s per create) while the writer thread waits between the "
                 "statements. " % (100 * u["pg_busiest"] / max(u["pg_cores"], 1e-9), u["pg_busiest"],
                                   fmt_us(1e6 * u["pg_busiest"] / r["rps"])))
        if u["machine_busy"] < 0.9:
            text += "The machine had CPU to spare, so that serial path is the limit. "
        elif u["other_cores"] > 0.5:
            text += ("The cores were saturated, %.2f of them by other processes on this shared machine, which slows "
                     "that path too. " % u["other_cores"])
        else:
            text += "The cores were saturated by the server, PostgreSQL and wrk. "
        if one:
            text += ("One pgbench connection writing the same rows in %d-row transactions (3 statements a row) does %s "
                     "rows/s, %s the server: what a single writer connection gets on this machine; the baseline's %s "
                     "rows/s takes several connections writing at once%s. " % (
                         BATCH, fmt_num(one), fmt_x(ratio(one, r["rps"])), fmt_num(base_rate),
                         ", and one multi-row INSERT per table (fewer round trips) does %s rows/s" % fmt_num(multi)
                         if multi else ""))
        srv = pgb.get("server", {})
        if srv.get("rate"):
            text += ("Replaying the server's own statements (savepoint, row with seq as MAX + 1, labels, release, "
                     "one round trip each; the advisory lock and a pg_notify per transaction) from one pgbench "
                     "connection, %d creates per transaction, gives %s creates/s (%s the server) at %s of PostgreSQL "
                     "CPU per create (the server: %s): %s. " % (
                         SERVER_BATCH, fmt_num(srv["rate"]), fmt_x(ratio(srv["rate"], r["rps"])),
                         fmt_us(per_request_us(srv, "pg_cores")), fmt_us(1e6 * u["pg_cores"] / r["rps"]),
                         "slower than the server, which sends the savepoint statements in the round trip of each "
                         "write's first statement: round trips are the limit"
                         if srv["rate"] < 0.9 * r["rps"] else
                         "the statement sequence itself is the limit, not the server's own work"
                         if srv["rate"] < 1.3 * r["rps"] else
                         "the statements alone go faster, so part of the time is the server's own between them "
                         "(its writer thread, the hand-offs to and from it)"))
        if u.get("wal_syncs"):
            text += "PostgreSQL flushed its WAL %s times (%.0f creates per fsync). " % (fmt_num(u["wal_syncs"]),
                                                                                   n / u["wal_syncs"])
        if u.get("token_scans") is not None and u["token_scans"] / n >= 0.2:
            text += ("PostgreSQL also counted %.2f committed transactions and %.2f reads of access_tokens per create: "
                     "every write bumps its organization's generation (src/api/app.cpp), which makes the cached "
                     "token and role assignments of that organization stale (src/auth/generations.hpp), so under a "
                     "stream of creates most requests read their token and their roles from PostgreSQL again before "
                     "writing, on the reader connections (on SQLite those reads stay in the process). " % (
                         u["commits"] / n, u["token_scans"] / n))
        out.append(text.strip())

    again = R.get("pgb_again", {})
    for key in ("batched", "batched_c2"):
        a1, a2 = pgb.get(key, {}), again.get(key, {})
        if a1.get("rate") and a2.get("rate") and abs(a1["rate"] - a2["rate"]) > 0.25 * max(a1["rate"], a2["rate"]):
            def wal(r):
                n = (r.get("transactions") or 0) * r["rows_per_tx"]
                return r["usage"]["wal_bytes"] / 1024 / n if n and r["usage"].get("wal_bytes") else None

            w1, w2 = wal(a1), wal(a2)
            why = "the table had grown by the rows written in between"
            if w1 and w2 and w2 > 1.2 * w1:
                why = ("more WAL per row in the second (pages first changed after a checkpoint are logged whole), and "
                       "the table had grown")
            out.append("**Baseline drift**: %s went from %s to %s rows/s between its two runs (other processes %.2f "
                       "and %.2f cores; WAL per row %s and %s KiB; %s); the target uses the mean." % (
                           a1["label"], fmt_num(a1["rate"]), fmt_num(a2["rate"]), a1["usage"]["other_cores"],
                           a2["usage"]["other_cores"], "%.1f" % w1 if w1 else "?", "%.1f" % w2 if w2 else "?", why))

    r3, r1n = runs.get("create_ngx3"), runs.get("create_ngx1")
    if r3 and c3 and r3.get("rps"):
        u3 = r3["usage"]
        x, ok = c3
        text = ("**Creates, %d nodes: %s** with %s the batched baseline (target %.1f×)%s. " % (
            NODES, "met" if ok else "missed", fmt_x(x), TARGET_CREATE_RATIO,
            "" if ok else ", short by %s creates/s" % fmt_num(TARGET_CREATE_RATIO * base_rate - r3["rps"])))
        if r1n and r1n.get("rps"):
            u1 = r1n["usage"]
            text += "Against one node behind the same nginx: %s (%s → %s creates/s). " % (
                fmt_x(ratio(r3["rps"], r1n["rps"])), fmt_num(r1n["rps"]), fmt_num(r3["rps"]))
            if u1.get("wal_syncs") and u3.get("wal_syncs"):
                text += ("Creates per WAL fsync fell from %.1f to %.1f: every node's batch first takes the "
                         "database-wide advisory write lock (src/store/postgres/backend.cpp, begin_batch), so the "
                         "nodes' writers take turns, each with a third of the requests, in smaller batches; more "
                         "nodes add no write concurrency. " % (
                             r1n["rps"] * u1["wall"] / u1["wal_syncs"], r3["rps"] * u3["wall"] / u3["wal_syncs"]))
            n1, n3 = r1n["rps"] * u1["wall"], r3["rps"] * u3["wall"]
            if u1.get("token_scans") is not None and u3.get("token_scans") is not None:
                text += ("Reads of access_tokens per create went from %.2f to %.2f and committed transactions per "
                         "create from %.2f to %.2f: each batch of any node bumps the organization's generation on "
                         "every node (its own after the batch, the others on hearing the NOTIFY), so with more, "
                         "smaller batches the cached token and roles go stale more often and requests read them "
                         "from PostgreSQL again. " % (u1["token_scans"] / n1, u3["token_scans"] / n3,
                                                       u1["commits"] / n1, u3["commits"] / n3))
        text += "During the %d-node run %s." % (NODES, cpu_line(u3, plural=True))
        out.append(text.strip())

    rp = [runs.get("read_pg1_1"), runs.get("read_pg1_2")]
    rs = [runs.get("read_sqlite_1"), runs.get("read_sqlite_2")]
    if all(rp) and all(rs) and read_x is not None:
        met = read_x >= READ_TOLERANCE
        pg_us = statistics.mean(per_request_us(r, "pg_cores") or 0 for r in rp)
        srv_p = statistics.mean(per_request_us(r, "server_cores") or 0 for r in rp)
        srv_s = statistics.mean(per_request_us(r, "server_cores") or 0 for r in rs)
        text = ("**Reads: %s**: PostgreSQL at %s SQLite's rate%s. Both answer from the server's entity cache (the "
                "control plane, the token and its roles): PostgreSQL spent %s of CPU per read (the libpq select "
                "baseline: %s per row), the server %s per read on PostgreSQL and %s on SQLite, and the machine was "
                "%.0f–%.0f %% busy (other processes %.2f–%.2f cores): the cores, shared with wrk, are the limit, not "
                "the database; other processes took %.2f cores on average during the PostgreSQL runs and %.2f "
                "during the SQLite ones, and PostgreSQL's processes %s cores during the PostgreSQL runs (%s commits "
                "per read: not the reads' work). Per request, the server, PostgreSQL and wrk together used %s of CPU on "
                "PostgreSQL and %s on SQLite (%s), per run %s and %s. The server answered %s the libpq select "
                "baseline's rate (%s/s)." % (
                    "met" if met else "missed", fmt_x(read_x),
                    "" if read_x >= 1 else " (%.1f %% slower%s)" % (100 * (1 - read_x), ", within the allowed noise"
                                                                     if met else ""),
                    fmt_us(pg_us), fmt_us(per_request_us(pgb["select"], "pg_cores")) if pgb.get("select") else "—",
                    fmt_us(srv_p), fmt_us(srv_s),
                    100 * min(r["usage"]["machine_busy"] for r in rp + rs),
                    100 * max(r["usage"]["machine_busy"] for r in rp + rs),
                    min(r["usage"]["other_cores"] for r in rp + rs), max(r["usage"]["other_cores"] for r in rp + rs),
                    statistics.mean(r["usage"]["other_cores"] for r in rp),
                    statistics.mean(r["usage"]["other_cores"] for r in rs),
                    " / ".join("%.2f" % (r["usage"]["pg_cores"] or 0) for r in rp),
                    " / ".join("%.3f" % ((r["usage"]["commits"] or 0) / (r["rps"] * r["usage"]["wall"])) for r in rp),
                    fmt_us(statistics.mean(our_us(r) for r in rp)), fmt_us(statistics.mean(our_us(r) for r in rs)),
                    fmt_x(ratio(statistics.mean(our_us(r) for r in rp), statistics.mean(our_us(r) for r in rs))),
                    " / ".join(fmt_us(our_us(r)) for r in rp), " / ".join(fmt_us(our_us(r)) for r in rs),
                    fmt_x(ratio(mean_rps(rp), pgb.get("select", {}).get("rate"))),
                    fmt_num(pgb.get("select", {}).get("rate"))))
        out.append(text)

    a, b = runs.get("read_ngx1"), runs.get("read_ngx3")
    if a and b and a.get("rps") and b.get("rps"):
        ua, ub = a["usage"], b["usage"]
        out.append(
            "**Reads, 1 → %d nodes: %s.** Reads are CPU work (the cache answers them), and the %d nodes, nginx and wrk "
            "share the machine's %d cores (busy %.0f %% and %.0f %%; other processes took %.2f and %.2f cores), so a "
            "third node brings no CPU of its own: what changes the rate is how much CPU is left. Per request, the "
            "servers, PostgreSQL, nginx and wrk together used %s with one node and %s with %d (%s); the servers "
            "alone %s and %s (each node has its own caches and threads). On separate machines each node would bring "
            "its cores." % (NODES, fmt_x(ratio(b["rps"], a["rps"])), NODES, ncpu, 100 * ua["machine_busy"],
                            100 * ub["machine_busy"], ua["other_cores"], ub["other_cores"], fmt_us(our_us(a)),
                            fmt_us(our_us(b)), NODES, fmt_x(ratio(our_us(b), our_us(a))),
                            fmt_us(per_request_us(a, "server_cores")), fmt_us(per_request_us(b, "server_cores"))))

    if vis and vis["revoke"]:
        v = vis_summary(vis["revoke"])
        ok = v["unseen"] == 0 and v["p99"] is not None and v["p99"] <= TARGET_INVALIDATION_MS
        text = ("**Revocation across nodes: %s**: B and C refused the revoked PAT p50 %s, p99 %s, max %s after A's "
                "2xx (target p99 ≤ %g ms%s); %d of %d observations already refused before A's answer reached the "
                "client, and %d answer%s to polls sent after A's 2xx still accepted the token%s. The path: the revoking "
                "batch's pg_notify is delivered when it commits, before A answers; each node's listener thread "
                "(src/store/postgres/change_feed.cpp) bumps the organization's generation (src/api/remote_changes.cpp), "
                "and the next request reads the token again; until that thread has run, B and C answer from their "
                "caches (the bound is that delay, not a timer). The resolution is the %.0f ms poll interval plus one "
                "request." % (
                    "met" if ok else "missed", fmt_ms(v["p50"]), fmt_ms(v["p99"]), fmt_ms(v["max"]),
                    TARGET_INVALIDATION_MS,
                    "" if ok else ", missed by %s" % fmt_ms((v["p99"] or 0) - TARGET_INVALIDATION_MS),
                    v["before_ack"], v["n"], v["stale"], "" if v["stale"] == 1 else "s",
                    "" if not v["unseen"] else "; %d never refused within %.0f s" % (v["unseen"], POLL_BOUND_S),
                    POLL_S * 1000))
        out.append(text)
    return out


def batched_rate(R, key):
    """A batched baseline's rows/s: the mean of its runs (before and after the server's creates)."""
    xs = [d.get(key, {}).get("rate") for d in (R.get("pgb", {}), R.get("pgb_again", {}))]
    xs = [x for x in xs if x]
    return statistics.mean(xs) if xs else None


def render(R):
    info = R["info"]
    out = []
    w = out.append
    pgb = R.get("pgb", {})
    runs = R.get("runs", {})
    vis = R.get("vis")

    w("# openkonnect PostgreSQL and multi-node benchmark")
    w("")
    w("Generated by `bench/postgres_suite.py` on %s (UTC). Suite wall time: **%s**." % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), fmt_duration(R["suite_s"])))
    w("")
    w("Machine: %d CPUs (%s), %s RAM, Linux %s; %s, %s, %s, %s, Python %s." % (
        info["nproc"], info["cpu"], info["mem"], info["kernel"], info["openkonnect"], R.get("pg_version", "?"),
        info["nginx"], info["wrk"], info["python"]))
    w("")
    w("Measured: %s." % info["source"])
    w("")
    w("Load average (1 min) at the start: %.1f; at the end: %.1f. The machine is shared and noisy, and "
      "everything here (wrk or pgbench, the server or servers, PostgreSQL, nginx) runs on its %d cores: read every "
      "figure against its baseline, measured in this run." % (R["load_start"], R["load_end"], info["nproc"]))
    w("")
    w("Commands: `BENCH_ONLY=postgres bash bench/run.sh` (or `OPENKONNECT_BENCH_BIN=… /usr/bin/python3 "
      "bench/postgres_suite.py`); PostgreSQL from `bash scripts/postgres.sh start DIR` (fsync, synchronous_commit, "
      "full_page_writes on); baselines `pgbench -n -M prepared -f SCRIPT -c 10 -j 2 -T %d` (other client counts "
      "where said); the server `openkonnect serve --database URL --cluster-listen off --rate-limit-token 0 "
      "--rate-limit-org 0 --rate-limit-auth-failures 0 --rate-limit-invites 0`, loaded with a %ds warm-up, then "
      "`wrk -t%d -c%d -d%ds --timeout 10s --latency -s bench/lua/post_control_plane.lua` (creates) or "
      "`BENCH_PATH=/v2/control-planes/{id} BENCH_IDS_FILE=<%d ids> BENCH_TOKENS_FILE=<the admin's PAT> wrk … -s "
      "bench/lua/get.lua` (reads)." % (PGBENCH_S, WARMUP, THREADS, CONNECTIONS, DURATION, READ_IDS))
    w("")
    for e in R.get("errors", []):
        w("**Failed**: %s" % e)
        w("")

    # --- targets ---
    w("## Targets")
    w("")
    w("| target | measured | baseline, same run | ratio | met |")
    w("|---|---|---|---|---|")
    b_c10, b_c2 = batched_rate(R, "batched"), batched_rate(R, "batched_c2")
    base_rate = max([v for v in (b_c10, b_c2) if v] or [None])

    def create_row(key, what):
        r = runs.get(key)
        if not r or base_rate is None:
            return
        x = ratio(r["rps"], base_rate)
        ok = None if x is None else (x >= TARGET_CREATE_RATIO and not r.get("error"))
        w("| durable creates on PostgreSQL, %s, ≥ %.1f× the batched libpq baseline | %s creates/s (p50 %s, p99 %s%s) "
          "| pgbench, %d control planes per transaction, one INSERT per row: %s rows/s (the better of -c 10: %s and "
          "-c 2: %s, each the mean of its two runs) | %s | %s |" % (
              what, TARGET_CREATE_RATIO, fmt_num(r["rps"]), fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
              ", **%s**" % r["error"][:80] if r.get("error") else "", BATCH, fmt_num(base_rate), fmt_num(b_c10),
              fmt_num(b_c2), fmt_x(x), verdict(ok)))
        return x, ok

    c1 = create_row("create_pg1", "1 node")
    c3 = create_row("create_ngx3", "%d nodes behind nginx" % NODES)

    rs = [runs.get("read_sqlite_1"), runs.get("read_sqlite_2")]
    rp = [runs.get("read_pg1_1"), runs.get("read_pg1_2")]
    read_x = None
    if all(rs) and all(rp):
        ms, mp = mean_rps(rs), mean_rps(rp)
        read_x = ratio(mp, ms)
        errs = [r["error"] for r in rs + rp if r.get("error")]
        ok = None if read_x is None else (read_x >= READ_TOLERANCE and not errs)
        w("| authenticated reads on PostgreSQL not slower than on SQLite (ratio of the means ≥ %.2f, the run-to-run "
          "noise allowed) | %s req/s (runs: %s; p99 %s) | SQLite, same server: %s req/s (runs: %s; p99 %s) | %s | %s |" % (
              READ_TOLERANCE, fmt_num(mp), " / ".join(fmt_num(r["rps"]) for r in rp),
              " / ".join(fmt_ms(r["p99_ms"]) for r in rp), fmt_num(ms), " / ".join(fmt_num(r["rps"]) for r in rs),
              " / ".join(fmt_ms(r["p99_ms"]) for r in rs), fmt_x(read_x), verdict(ok)))

    for kind, k1, k3 in (("creates", "create_ngx1", "create_ngx3"), ("reads", "read_ngx1", "read_ngx3")):
        a, b = runs.get(k1), runs.get(k3)
        if a and b:
            w("| 1 → %d nodes, %s (no target: the issue asks for the ratio) | %d nodes behind nginx: %s req/s (p50 %s, "
              "p99 %s) | 1 node behind the same nginx: %s req/s (p50 %s, p99 %s) | %s | — |" % (
                  NODES, kind, NODES, fmt_num(b["rps"]), fmt_ms(b["p50_ms"]), fmt_ms(b["p99_ms"]), fmt_num(a["rps"]),
                  fmt_ms(a["p50_ms"]), fmt_ms(a["p99_ms"]), fmt_x(ratio(b["rps"], a["rps"]))))

    if vis:
        v, c = vis_summary(vis["revoke"]), vis_summary(vis["create"])
        ok = None if not v["n"] else (v["unseen"] == 0 and v["p99"] is not None and v["p99"] <= TARGET_INVALIDATION_MS)
        w("| a PAT revoked on node A refused by B and C within %g ms, p99 | after A's 2xx: p50 %s, p99 %s, max %s "
          "(%d observations, %d rounds; %d not refused within %.0f s) | a control plane created on A, answered 200 "
          "by B and C after A's 2xx: p50 %s, p99 %s, max %s | p99 / target: %s | %s |" % (
              TARGET_INVALIDATION_MS, fmt_ms(v["p50"]), fmt_ms(v["p99"]), fmt_ms(v["max"]), v["n"], vis["rounds"],
              v["unseen"], POLL_BOUND_S, fmt_ms(c["p50"]), fmt_ms(c["p99"]), fmt_ms(c["max"]),
              fmt_x(ratio(v["p99"], TARGET_INVALIDATION_MS)), verdict(ok)))
    w("")

    for text in findings(R, base_rate, c1, c3, read_x):
        w("- " + text)
        w("")

    # --- baselines ---
    if pgb:
        w("## Baselines: libpq (pgbench)")
        w("")
        w("A database created by `openkonnect migrate` (the server's tables, indexes, foreign keys and triggers, "
          "among them the per-organization count row). Each control plane is the row a `POST /v2/control-planes` "
          "writes and its two label rows, one INSERT each (`-M prepared`); each pgbench client writes into an "
          "organization of its own and takes `seq` from a sequence, so clients do not wait for one another. The "
          "select reads the server's query for `GET /v2/control-planes/{id}` (`WHERE org_id = ? AND id = ?`, every "
          "column) by random primary key over %s rows. CPU is per run; µs per row is PostgreSQL's CPU over the rows "
          "written or read." % n_sp(READ_ROWS))
        w("")
        w("| baseline | clients | rows/s | transactions/s | latency avg | PostgreSQL cores (busiest process) | "
          "PostgreSQL CPU per row | pgbench cores | other processes' cores | machine busy | commits | WAL fsyncs | "
          "rows per fsync | WAL per row |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        again = R.get("pgb_again", {})
        for key in ("unbatched", "batched", "batched_c2", "batched_c1", "server", "multirow", "select", "again:batched",
                    "again:batched_c2"):
            r = again.get(key[6:]) if key.startswith("again:") else pgb.get(key)
            if not r:
                continue
            u = r["usage"]
            rows = (r["transactions"] or 0) * r["rows_per_tx"]
            w("| %s%s | %d | %s | %s | %s | %.2f (%.2f) | %s | %.2f | %.2f | %.0f %% | %s | %s | %s | %s |" % (
                r["label"], " (**%s**)" % r["error"][:120] if r.get("error") else "", r["clients"], fmt_num(r["rate"]),
                "%.1f" % r["tps"] if r["tps"] is not None else "—", fmt_ms(r["latency_ms"]), u["pg_cores"],
                u["pg_busiest"], fmt_us(per_request_us(r, "pg_cores")), u["client_cores"], u["other_cores"],
                100 * u["machine_busy"],
                fmt_num(u["commits"]), fmt_num(u["wal_syncs"]),
                "%.0f" % (rows / u["wal_syncs"]) if u["wal_syncs"] and key != "select" else "—",
                "%.1f KiB" % (u["wal_bytes"] / 1024 / rows) if rows and u.get("wal_bytes") is not None
                and key != "select" else "—"))
        w("")

    # --- the server ---
    if runs:
        w("## The server")
        w("")
        w("Creates: `POST /v2/control-planes` with a unique name, a description and two labels, as the organization "
          "admin (bench/lua/post_control_plane.lua); each 201 is durable (committed by the store's group-commit "
          "writer). Reads: `GET /v2/control-planes/{id}` over %d control planes with the admin's PAT "
          "(bench/lua/get.lua); such reads are answered from the server's entity cache once warm (kept exact by "
          "the organization's write generation, which other nodes' writes bump through LISTEN/NOTIFY), so "
          "PostgreSQL is barely involved. Through nginx: round robin over keep-alive upstreams, with only node1 "
          "in the upstream (\"1 node\") or all %d; all %d nodes run in both cases. Columns: the servers' CPU (all "
          "nodes) and their busiest thread; PostgreSQL's (its busiest process); per request, the servers' and "
          "PostgreSQL's CPU; creates per WAL fsync." % (READ_IDS, NODES, NODES))
        w("")
        w("| run | req/s | p50 | p99 | non-2xx | server cores (busiest thread) | PostgreSQL cores (busiest process) | "
          "nginx cores | wrk cores | other processes' cores | machine busy | server CPU / request | PostgreSQL CPU / "
          "request | commits / request | token reads / request | WAL fsyncs/s | creates per fsync |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for key in ("create_sqlite", "create_pg1", "read_sqlite_1", "read_pg1_1", "read_pg1_2", "read_sqlite_2",
                    "create_ngx1", "create_ngx3", "read_ngx1", "read_ngx3"):
            r = runs.get(key)
            if not r:
                continue
            u = r["usage"]
            creates = key.startswith("create")
            w("| %s | %s | %s | %s | %s | %s (%s) | %s (%s) | %s | %.2f | %.2f | %.0f %% | %s | %s | %s | %s | %s | %s |" % (
                r["label"], fmt_num(r["rps"]), fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
                "%d%s" % (r["non2xx"], ", " + r["socket_errors_text"] if r["socket_errors"] else ""),
                fmt_c(u["server_cores"]), fmt_c(u["busiest_thread"]), fmt_c(u["pg_cores"]), fmt_c(u["pg_busiest"]),
                fmt_c(u["nginx_cores"]), u["client_cores"], u["other_cores"], 100 * u["machine_busy"],
                fmt_us(per_request_us(r, "server_cores")), fmt_us(per_request_us(r, "pg_cores")),
                "%.2f" % (u["commits"] / (r["rps"] * u["wall"])) if u.get("commits") is not None and r["rps"] else "—",
                "%.2f" % (u["token_scans"] / (r["rps"] * u["wall"])) if u.get("token_scans") is not None and r["rps"]
                else "—",
                fmt_num(u["wal_syncs"] / u["wall"]) if u.get("wal_syncs") is not None else "—",
                "%.1f" % (r["rps"] * u["wall"] / u["wal_syncs"]) if creates and u.get("wal_syncs") else "—"))
        w("")

    # --- visibility ---
    if vis:
        w("## Cross-node visibility")
        w("")
        w("%d rounds, node A rotating over the %d nodes; per round and per other node (B, C) one observation. B and "
          "C are polled every %.0f ms on keep-alive connections (each poll one GET), bounded at %.0f s. \"After the "
          "2xx\": from A's answer arriving to the first poll answer showing the change (0 when it already showed "
          "before A's answer arrived); \"from sending\": from the request to A being sent. Created: B and C polled "
          "from A's 201 (the id is known then), `GET /v2/control-planes/{id}` until 200. Renamed: B and C first "
          "answered the control plane three times each (cached), then `PATCH` on A; polled from the sending until "
          "the new name. Revoked: a fresh PAT (`POST /v3/users/{id}/access-tokens`) answered 200 by B and C three "
          "times each (cached), then `PATCH …/access-tokens/{id}/revoke` on A; `GET /v3/users/me` polled from the "
          "sending until 401; then the token is deleted (a user holds at most 10). \"Stale\": answers to polls sent "
          "after A's 2xx that did not show the change yet." % (vis["rounds"], NODES, POLL_S * 1000, POLL_BOUND_S))
        w("")
        w("| change on A | observations | after the 2xx: p50 / p99 / max | from sending: p50 / p99 / max | "
          "A's own answer: p50 / p99 | seen before A's 2xx | stale answers (observations with any) | not seen |")
        w("|---|---:|---|---|---|---:|---:|---:|")
        for kind, name in (("create", "control plane created"), ("rename", "control plane renamed (cached on B, C)"),
                           ("revoke", "PAT revoked (cached on B, C)")):
            s = vis_summary(vis[kind])
            w("| %s | %d | %s / %s / %s | %s / %s / %s | %s / %s | %s | %d (%d) | %d |" % (
                name, s["n"], fmt_ms(s["p50"]), fmt_ms(s["p99"]), fmt_ms(s["max"]), fmt_ms(s["send_p50"]),
                fmt_ms(s["send_p99"]), fmt_ms(s["send_max"]), fmt_ms(s["ack_p50"]), fmt_ms(s["ack_p99"]),
                "—" if kind == "create" else s["before_ack"], s["stale"], s["stale_obs"], s["unseen"]))
        w("")
        if vis["errors"]:
            w("**Visibility rounds**: " + "; ".join(vis["errors"]))
            w("")
        u = R.get("vis_usage")
        if u:
            w("During the rounds: servers %.2f cores, PostgreSQL %.2f, machine %.0f %% busy." % (
                u["server_cores"], u["pg_cores"], 100 * u["machine_busy"]))
            w("")
    if R.get("skipped"):
        w("**Skipped**: " + "; ".join(R["skipped"]) + ".")
        w("")
    return "\n".join(out)


def n_sp(x):
    return "{:,}".format(x).replace(",", " ")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    main()
