"""Crash safety: eight clients create and update control planes while the server is killed
with SIGKILL at a random moment; after a restart on the same database every acknowledged
write is there exactly as acknowledged, a write in flight at the kill is either wholly there
or wholly absent, nothing else appeared, the label index agrees with the objects, and SQLite's
integrity check passes. Five cycles on one database."""
import random
import sqlite3
import threading
import time

import requests

from conftest import threaded_request

CP = "/v2/control-planes"
THREADS = 8
CYCLES = 5


class Client(threading.Thread):
    """One client: creates control planes and PATCHes its own ones until a request fails.
    Every acknowledged write is kept with the body the server answered; the one request
    that did not get an answer (if any) is kept as `in_flight`."""

    def __init__(self, srv, token, index, cycle, owned, seed):
        super().__init__(daemon=True)
        self.srv, self.token, self.index, self.cycle = srv, token, index, cycle
        self.owned = list(owned)
        self.rng = random.Random(seed)
        self.acked = []  # (op, id, answered body) in order
        self.in_flight = None  # (op, id or None, request body)
        self.unexpected = []
        self.stop = threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            tag = "%d-%d-%d" % (self.cycle, self.index, n)
            if not self.owned or self.rng.random() < 0.3:
                op, cp_id = "create", None
                body = {"name": "crash-" + tag, "description": "created " + tag,
                        "labels": {"thread": "t%d" % self.index, "cycle": "c%d" % self.cycle, "seq": "s" + tag}}
                method, path = "POST", CP
            else:
                op, cp_id = "patch", self.rng.choice(self.owned)
                body = {"description": "patched " + tag, "labels": {"seq": "s" + tag}}
                roll = self.rng.random()
                if roll < 0.2:
                    body["name"] = "renamed-" + tag
                if roll > 0.7:
                    body["labels"]["cycle"] = None  # removes it (if there)
                elif roll > 0.5:
                    body["labels"]["extra"] = "x" + tag
                method, path = "PATCH", "%s/%s" % (CP, cp_id)
            self.in_flight = (op, cp_id, body)
            try:
                resp = threaded_request(self.srv, method, path, token=self.token, json=body, timeout=15)
            except requests.RequestException:
                return  # the server is gone; in_flight may or may not have been committed
            if resp.status_code not in (200, 201):
                self.unexpected.append((method, path, body, resp.status_code, resp.text[:300]))
                self.in_flight = None
                return
            answer = resp.json()
            self.acked.append((op, answer["id"], answer))
            if op == "create":
                self.owned.append(answer["id"])
            self.in_flight = None


def patched(state, body):
    """The state a PATCH body would produce from `state` (updated_at aside)."""
    out = dict(state, labels=dict(state["labels"]))
    for key in ("name", "description"):
        if key in body:
            out[key] = body[key]
    for k, v in body.get("labels", {}).items():
        if v is None:
            out["labels"].pop(k, None)
        else:
            out["labels"][k] = v
    return out


def without_updated_at(cp):
    return {k: v for k, v in cp.items() if k != "updated_at"}


def list_all(srv, token, **params):
    out = {}
    number = 1
    while True:
        resp = srv.request("GET", CP, token=token, params=dict(params, **{"page[size]": 1000, "page[number]": number}))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        for cp in body["data"]:
            assert cp["id"] not in out
            out[cp["id"]] = cp
        if len(out) >= body["meta"]["page"]["total"] or not body["data"]:
            return out
        number += 1


def check_integrity(database):
    """SQLite's own integrity and foreign-key checks of the file. (A PostgreSQL server is not
    what was killed: its integrity is its own business.)"""
    if not database.startswith("sqlite:"):
        return
    con = sqlite3.connect(database[len("sqlite:"):], timeout=10)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


def test_acknowledged_writes_survive_sigkill(start_server):
    # The endpoint shown is the restarted server's own: the same on both so that states compare.
    endpoint = ("--cluster-url", "https://cp.example.test:8005")
    srv = start_server(*endpoint)
    database = srv.database
    token = srv.create_org("crash")["token"]
    model = {}   # id -> the state last acknowledged (or observed after a restart)
    owner = {}   # id -> index of the client that writes it
    rng = random.Random()
    started = time.time()
    total_acked = 0

    for cycle in range(CYCLES):
        clients = [Client(srv, token, i, cycle, [cid for cid, o in owner.items() if o == i], rng.random())
                   for i in range(THREADS)]
        for c in clients:
            c.start()
        time.sleep(rng.uniform(0.3, 1.5))
        srv.kill()
        for c in clients:
            c.stop.set()
        for c in clients:
            c.join(30)
            assert not c.is_alive(), "a client hung after the kill"
            assert not c.unexpected, c.unexpected

        # what the clients know: acknowledged states, and at most one unanswered request each
        maybe_patch = {}   # id -> the PATCH body in flight
        maybe_create = {}  # name -> (client index, POST body in flight)
        for c in clients:
            total_acked += len(c.acked)
            for op, cp_id, answer in c.acked:
                model[cp_id] = answer
                owner[cp_id] = c.index
            if c.in_flight:
                op, cp_id, body = c.in_flight
                if op == "patch":
                    maybe_patch[cp_id] = body
                else:
                    maybe_create[body["name"]] = (c.index, body)

        srv = start_server(*endpoint, database=database)
        found = list_all(srv, token)

        for cp_id, acked in model.items():
            assert cp_id in found, "acknowledged control plane %s (%s) is lost" % (cp_id, acked["name"])
            got = found[cp_id]
            if got == acked:
                continue
            assert cp_id in maybe_patch, "control plane %s differs from its acknowledged state:\n%s\n%s" % (
                cp_id, acked, got)
            assert without_updated_at(got) == without_updated_at(patched(acked, maybe_patch[cp_id])), \
                "control plane %s is neither as acknowledged nor as the PATCH in flight made it:\n%s\n%s\n%s" % (
                    cp_id, acked, maybe_patch[cp_id], got)
            assert got["updated_at"] >= acked["updated_at"]

        for cp_id, got in found.items():
            if cp_id in model:
                continue
            assert got["name"] in maybe_create, "an unknown control plane appeared: %s" % got
            index, body = maybe_create.pop(got["name"])
            assert got["description"] == body["description"] and got["labels"] == body["labels"], (got, body)
            assert got["config"]["cluster_type"] == "CLUSTER_TYPE_CONTROL_PLANE"
            owner[cp_id] = index

        # the state found is the truth from now on (in-flight outcomes resolved)
        model = dict(found)

        # the label index agrees with the objects
        for i in range(THREADS):
            listed = set(list_all(srv, token, labels="thread:t%d" % i))
            assert listed == {cid for cid, cp in model.items() if cp["labels"].get("thread") == "t%d" % i}
        assert set(list_all(srv, token, labels="cycle")) == {cid for cid, cp in model.items()
                                                            if "cycle" in cp["labels"]}
        check_integrity(database)

    assert total_acked > 50, "too little load to mean anything (%d acknowledged writes)" % total_acked
    # the last server still takes writes and reads them back
    resp = srv.request("POST", CP, token=token, json={"name": "after-the-crashes"})
    assert resp.status_code == 201, resp.text
    assert srv.request("GET", "%s/%s" % (CP, resp.json()["id"]), token=token).json() == resp.json()
    assert time.time() - started < 60
