#!/usr/bin/env python3
"""Crash safety: mixed write traffic, SIGKILL at random moments, verify after each restart.

Usage: /usr/bin/python3 tests/reliability/crash_cycles.py [--cycles 50] [--clients 6] [--seed N]

Each cycle: start the server on the same database, run several clients that create, update
and delete control planes, teams and system accounts (and invite users), kill the server with
SIGKILL at a random moment, restart it, and check that
  * every acknowledged (2xx) write is present exactly as acknowledged, and every acknowledged
    delete is gone;
  * a write whose answer never arrived is either wholly applied or wholly absent (a control
    plane's labels rows agree with its labels; a creator's Admin grant exists iff its control
    plane does; no membership or token points at a deleted principal);
  * PRAGMA integrity_check is ok and PRAGMA foreign_key_check is empty.
Prints one line per cycle and a summary; exits non-zero on the first violation.
"""
import argparse
import json
import os
import random
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from conftest import Server  # noqa: E402

import requests  # noqa: E402


class Ledger:
    """What the clients were told: the last acknowledged state of every object."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cps = {}        # id -> acknowledged body (None once deleted)
        self.inflight = {}   # id -> list of bodies sent without an answer
        self.ties = {}       # id -> other answers that share the latest updated_at
        self.deleting = set()  # ids whose DELETE was sent without an answer
        self.teams = {}      # id -> acknowledged name (None once deleted)
        self.accounts = {}   # id -> acknowledged description (None once deleted)
        self.invited = set()
        self.acks = 0
        self.unanswered = 0
        self.dirty = set()   # ids written since the last check (checked over HTTP each cycle)


def client(srv, token, ledger, stop, rnd):
    session = requests.Session()
    hdrs = {"Authorization": "Bearer " + token}
    base = srv.base
    n = 0
    while not stop.is_set():
        n += 1
        op = rnd.random()
        try:
            if op < 0.35:
                name = "cp-%d-%d-%d" % (os.getpid(), threading.get_ident() % 100000, n) + str(rnd.random())[2:8]
                body = {"name": name, "labels": {"k": "v%d" % (n % 7)}, "description": "d%d" % n}
                r = session.post(base + "/v2/control-planes", json=body, headers=hdrs, timeout=5)
                if r.status_code == 201:
                    with ledger.lock:
                        ledger.cps[r.json()["id"]] = r.json()
                        ledger.dirty.add(r.json()["id"])
                        ledger.acks += 1
            elif op < 0.6:
                with ledger.lock:
                    live = [i for i, v in ledger.cps.items() if v is not None]
                if not live:
                    continue
                cid = rnd.choice(live)
                patch = {"description": "p%d" % n, "labels": {"k": "u%d" % (n % 5)}}
                with ledger.lock:
                    ledger.inflight.setdefault(cid, []).append(patch)
                    ledger.dirty.add(cid)
                r = session.patch(base + "/v2/control-planes/" + cid, json=patch, headers=hdrs, timeout=5)
                with ledger.lock:
                    if r.status_code == 200 and ledger.cps.get(cid) is not None:
                        # Concurrent PATCHes are answered in any order; the server's order is
                        # updated_at (assigned inside the write transaction). Two PATCHes in one
                        # commit batch can share its millisecond: either may be the last, so
                        # every answer with the latest time is a possible final state.
                        got, latest = r.json(), ledger.cps[cid]["updated_at"]
                        if got["updated_at"] > latest:
                            ledger.cps[cid] = got
                            ledger.ties[cid] = []
                        elif got["updated_at"] == latest:
                            ledger.ties.setdefault(cid, []).append(got)
                        ledger.inflight[cid].remove(patch)
                        ledger.acks += 1
            elif op < 0.7:
                with ledger.lock:
                    live = [i for i, v in ledger.cps.items() if v is not None]
                if not live:
                    continue
                cid = rnd.choice(live)
                with ledger.lock:
                    ledger.deleting.add(cid)
                r = session.delete(base + "/v2/control-planes/" + cid, headers=hdrs, timeout=5)
                with ledger.lock:
                    ledger.dirty.add(cid)
                    if r.status_code in (204, 404):
                        ledger.deleting.discard(cid)
                    if r.status_code == 204:
                        ledger.cps[cid] = None
                        ledger.acks += 1
            elif op < 0.8:
                r = session.post(base + "/v3/teams", json={"name": "team-%d" % n}, headers=hdrs, timeout=5)
                if r.status_code == 201:
                    with ledger.lock:
                        ledger.teams[r.json()["id"]] = r.json()["name"]
                        ledger.acks += 1
            elif op < 0.9:
                name = "sa-%d-%s" % (n, str(rnd.random())[2:10])
                r = session.post(base + "/v3/system-accounts", json={"name": name, "description": "x%d" % n},
                                 headers=hdrs, timeout=5)
                if r.status_code == 201:
                    with ledger.lock:
                        ledger.accounts[r.json()["id"]] = r.json()["description"]
                        ledger.acks += 1
            else:
                email = "crash-%d-%s@example.com" % (n, str(rnd.random())[2:10])
                r = session.post(base + "/v3/invites", json={"email": email}, headers=hdrs, timeout=5)
                if r.status_code == 201:
                    with ledger.lock:
                        ledger.invited.add(email)
                        ledger.acks += 1
        except requests.RequestException:
            with ledger.lock:
                ledger.unanswered += 1
            time.sleep(0.01)


def verify(srv, token, ledger, everything=False):
    """Over HTTP: every object written since the last check (all of them when `everything`),
    plus a sample of older ones; the database-level check covers the rest each cycle."""
    hdrs = {"Authorization": "Bearer " + token}
    problems = []
    ids = set(ledger.cps) if everything else set(ledger.dirty) | set(random.sample(sorted(ledger.cps), min(100, len(ledger.cps))))
    ledger.dirty = set()
    for cid in ids:
        acked = ledger.cps[cid]
        r = requests.get(srv.base + "/v2/control-planes/" + cid, headers=hdrs, timeout=10)
        if acked is None:
            if r.status_code != 404:
                problems.append("deleted control plane %s is back (%d)" % (cid, r.status_code))
            continue
        if r.status_code == 404 and cid in ledger.deleting:
            ledger.cps[cid] = None  # an unanswered DELETE committed
            ledger.deleting.discard(cid)
            continue
        if r.status_code != 200:
            problems.append("acknowledged control plane %s missing (%d)" % (cid, r.status_code))
            continue
        ledger.deleting.discard(cid)  # an unanswered DELETE did not commit
        got = r.json()
        pending = ledger.inflight.get(cid, [])
        allowed = [(acked["description"], acked["labels"])] + [(p["description"], p["labels"]) for p in pending]
        allowed += [(t["description"], t["labels"]) for t in ledger.ties.get(cid, [])]
        if (got["description"], got["labels"]) not in allowed:
            problems.append("control plane %s is %r, acknowledged %r" % (cid, got, acked))
        elif (got["description"], got["labels"]) == allowed[0]:
            ledger.cps[cid] = got
        else:
            ledger.cps[cid] = got  # an unanswered update committed: it is now the state
        ledger.inflight[cid] = []
        ledger.ties[cid] = []
    for tid, name in (ledger.teams.items() if everything else list(ledger.teams.items())[-200:]):
        r = requests.get(srv.base + "/v3/teams/" + tid, headers=hdrs, timeout=10)
        if r.status_code != 200 or r.json()["name"] != name:
            problems.append("acknowledged team %s missing or changed (%d)" % (tid, r.status_code))
    for aid, desc in (ledger.accounts.items() if everything else list(ledger.accounts.items())[-200:]):
        r = requests.get(srv.base + "/v3/system-accounts/" + aid, headers=hdrs, timeout=10)
        if r.status_code != 200 or r.json()["description"] != desc:
            problems.append("acknowledged system account %s missing or changed (%d)" % (aid, r.status_code))
    for email in (ledger.invited if everything else list(ledger.invited)[-100:]):
        r = requests.get(srv.base + "/v3/users", headers=hdrs, params={"filter[email][eq]": email}, timeout=10)
        if r.status_code != 200 or r.json()["meta"]["page"]["total"] != 1:
            problems.append("acknowledged invitation %s missing" % email)
    return problems


def verify_database(path):
    db = sqlite3.connect(path, timeout=30)
    try:
        problems = []
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append("integrity_check: %r" % integrity)
        fk = db.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            problems.append("foreign_key_check: %r" % fk[:5])
        # Labels rows agree with the labels column (one transaction wrote both).
        for cid, labels in db.execute("SELECT id, labels FROM control_planes"):
            rows = dict(db.execute("SELECT key, value FROM control_plane_labels WHERE control_plane_id = ?", (cid,)))
            if rows != json.loads(labels):
                problems.append("control plane %s: labels %s but label rows %s" % (cid, labels, rows))
        counts = dict(db.execute("SELECT org_id, COUNT(*) FROM control_planes GROUP BY org_id"))
        kept = {k: v for k, v in db.execute("SELECT org_id, total FROM control_plane_counts") if v}
        if counts != kept:
            problems.append("control plane counts %r disagree with the rows %r" % (kept, counts))
        for seq, name in db.execute("SELECT seq, name FROM control_planes ORDER BY random() LIMIT 20"):
            found = db.execute("SELECT rowid FROM control_plane_names WHERE control_plane_names MATCH ?",
                               ('"%s"' % name.replace('"', '""'),)).fetchall()
            if (seq,) not in found:
                problems.append("control plane %r is missing from the name index" % name)
        orphans = db.execute("SELECT COUNT(*) FROM role_assignments r WHERE r.entity_type_name = 'Control Planes' "
                             "AND r.entity_id != '*' AND NOT EXISTS (SELECT 1 FROM control_planes c WHERE "
                             "c.id = r.entity_id)").fetchone()[0]
        if orphans:
            problems.append("%d role assignments on deleted control planes" % orphans)
        return problems
    finally:
        db.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    print("seed %d, %d cycles, %d clients" % (args.seed, args.cycles, args.clients), flush=True)

    first = Server(["--rate-limit-token", "0", "--rate-limit-org", "0", "--rate-limit-invites", "0"]).start()
    database = first.database
    org = first.create_org("crash")
    token = org["token"]
    first.kill()
    ledger = Ledger()
    started = time.time()
    for cycle in range(1, args.cycles + 1):
        srv = Server(["--rate-limit-token", "0", "--rate-limit-org", "0", "--rate-limit-invites", "0"],
                     database=database).start()
        problems = verify(srv, token, ledger)
        if problems:
            print("cycle %d: FAILED after restart:\n  %s" % (cycle, "\n  ".join(problems[:20])), flush=True)
            srv.kill()
            return 1
        stop = threading.Event()
        threads = [threading.Thread(target=client, args=(srv, token, ledger, stop, random.Random(rnd.random())))
                   for _ in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(0.2, 1.5))
        srv.kill()  # SIGKILL
        stop.set()
        for t in threads:
            t.join()
        db_problems = verify_database(database[len("sqlite:"):])
        if db_problems:
            print("cycle %d: FAILED database check:\n  %s" % (cycle, "\n  ".join(db_problems[:20])), flush=True)
            return 1
        print("cycle %d: ok (%d acknowledged writes so far, %d unanswered requests)"
              % (cycle, ledger.acks, ledger.unanswered), flush=True)
    srv = Server([], database=database).start()
    problems = verify(srv, token, ledger, everything=True)
    srv.stop()
    if problems:
        print("final check FAILED:\n  %s" % "\n  ".join(problems[:20]))
        return 1
    print("%d cycles passed: %d acknowledged writes verified, %d requests cut off by the kills, %.0f s"
          % (args.cycles, ledger.acks, ledger.unanswered, time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
