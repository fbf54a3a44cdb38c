"""Raw SQLite baselines, measured with Python's sqlite3 module (Debian's /usr/bin/python3, linked
against the same libsqlite3 as openkonnect), on a database whose schema openkonnect itself created
(`openkonnect migrate`), so the rows, indexes and foreign keys are the server's own.

(b) durable inserts: control planes of the size that bench/lua/post_control_plane.lua creates (one
    control_planes row and its two control_plane_labels rows, as the server writes them), 100 per
    transaction, WAL mode, synchronous=FULL, foreign_keys=ON, wal_autocheckpoint=8000 (the
    server's), one connection, for a fixed time.
(c) point reads: the server's own query for GET /v2/control-planes/{id}
    (SELECT … FROM control_planes WHERE org_id = ? AND id = ?), by random primary key over the
    rows inserted in (b), one connection, every column read, for a fixed time.

Both are single-threaded Python loops; Python's own overhead per statement (a few microseconds)
is part of the number, which makes these ceilings slightly conservative.
"""

import json
import random
import sqlite3
import time
import uuid

CP_COLUMNS = ("id, org_id, name, description, cluster_type, auth_type, cloud_gateway, proxy_urls, labels, "
              "created_at, updated_at")


def _connect(path):
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute("PRAGMA foreign_keys = ON")
    # The server's writer checkpoints every 8 000 WAL pages (store/sqlite/sqlite_store.cpp);
    # the ceiling is measured with the same setting (SQLite's default, 1 000, is about 20 %
    # slower here).
    con.execute("PRAGMA wal_autocheckpoint = 8000")
    return con


def _row(org_id, n, now_ms):
    team = "team-%02d" % (n % 16)
    labels = {"env": "bench", "team": team}
    cp_id = str(uuid.uuid4())
    cp = (cp_id, org_id, "bench-1-%08d" % n, "created by the openkonnect benchmark", "CLUSTER_TYPE_CONTROL_PLANE",
          "pinned_client_certs", 0, "[]", json.dumps(labels, separators=(",", ":")), now_ms, now_ms)
    label_rows = [(cp_id, org_id, k, v) for k, v in sorted(labels.items())]
    return cp, label_rows


def insert_rate(path, seconds=5.0, batch=100):
    """Durable batched inserts into a database created by `openkonnect migrate`.
    Returns {rows_per_s, batches, rows, seconds, batch_p50_ms, batch_p99_ms, org_id}."""
    con = _connect(path)
    org_id = str(uuid.uuid4())
    now = int(time.time() * 1000)
    con.execute("INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (org_id, "sqlite-baseline", now, now))
    insert_cp = "INSERT INTO control_planes (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" % CP_COLUMNS
    insert_label = "INSERT INTO control_plane_labels (control_plane_id, org_id, key, value) VALUES (?, ?, ?, ?)"
    n = 0
    batch_times = []
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        now = int(time.time() * 1000)
        cps, labels = [], []
        for _ in range(batch):
            n += 1
            cp, label_rows = _row(org_id, n, now)
            cps.append(cp)
            labels.extend(label_rows)
        con.execute("BEGIN IMMEDIATE")
        con.executemany(insert_cp, cps)
        con.executemany(insert_label, labels)
        con.execute("COMMIT")
        batch_times.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    con.close()
    batch_times.sort()
    return {
        "rows_per_s": n / elapsed,
        "rows": n,
        "batches": len(batch_times),
        "seconds": elapsed,
        "batch_p50_ms": 1000 * batch_times[len(batch_times) // 2],
        "batch_p99_ms": 1000 * batch_times[min(len(batch_times) - 1, int(len(batch_times) * 0.99))],
        "org_id": org_id,
    }


def point_read_rate(path, org_id, seconds=3.0):
    """Point reads by primary key of random rows of org_id. Returns {reads_per_s, reads, seconds}."""
    con = _connect(path)
    ids = [r[0] for r in con.execute("SELECT id FROM control_planes WHERE org_id = ?", (org_id,))]
    random.shuffle(ids)
    query = "SELECT %s FROM control_planes WHERE org_id = ? AND id = ?" % CP_COLUMNS
    reads = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for i in range(1000):
            row = con.execute(query, (org_id, ids[(reads + i) % len(ids)])).fetchone()
            assert row is not None
        reads += 1000
    elapsed = time.perf_counter() - start
    con.close()
    return {"reads_per_s": reads / elapsed, "reads": reads, "seconds": elapsed, "rows": len(ids)}
