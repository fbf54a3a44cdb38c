"""Populations for the benchmark.

seed_population(): the realistic population, created through openkonnect's real HTTP API (and
`openkonnect org create` for the two organizations), with concurrent clients:

  organization A: 800 users with a PAT each, 80 system accounts with a SPAT each, 16 teams with
                  role assignments, every user in one or two teams, every 5th user with a direct
                  role on one control plane, 10 000 control planes (two labels each)
  organization B: 200 users, 20 system accounts, 4 teams, 1 000 control planes, likewise

seed_large(): the 100 000-row database. Going through the API would take minutes, so two
organizations are created with `openkonnect org create` (which also creates the schema) and the
control planes are then inserted straight into the SQLite file with Python's sqlite3 module, into
the server's own tables (control_planes and control_plane_labels, see
src/store/sqlite/migrations.cpp), with the values the server itself would write.
"""

import concurrent.futures
import datetime
import json
import sqlite3
import subprocess
import threading
import time
import uuid

import requests

# Words used in control plane names: "<team>-<service>-<env>-<n>".
TEAMS = ["payments", "identity", "search", "catalog", "orders", "shipping", "billing", "growth", "platform", "data"]
SERVICES = ["checkout", "cart", "pricing", "inventory", "profile", "session", "ledger", "invoice", "refund",
            "gateway", "edge", "ingest", "export", "notify", "mailer", "report", "audit", "media", "upload",
            "recommend", "ranking", "reviews", "loyalty", "coupon", "fraud"]
ENVS = ["prod", "staging", "dev", "test"]

# Name words shared by both populations, so filter[name][contains]=checkout-prod matches
# 1 in 100 control planes (1/25 services x 1/4 environments).
CONTAINS_TERM = "checkout-prod"


def cp_name(n):
    return "%s-%s-%s-%06d" % (TEAMS[n % len(TEAMS)], SERVICES[(n // len(TEAMS)) % len(SERVICES)],
                              ENVS[(n // (len(TEAMS) * len(SERVICES))) % len(ENVS)], n)


def cp_labels(n):
    return {"env": ENVS[(n // (len(TEAMS) * len(SERVICES))) % len(ENVS)], "team": TEAMS[n % len(TEAMS)]}


def rfc3339_in(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def org_create(binary, db_path, name, email):
    out = subprocess.run([binary, "org", "create", "--database", "sqlite:" + db_path, "--name", name,
                          "--admin-email", email], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


class Api:
    """A thin HTTP client: one requests.Session per thread; every unexpected status raises."""

    def __init__(self, base):
        self.base = base
        self._local = threading.local()

    def _session(self):
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
        return s

    def call(self, method, path, token, body=None, params=None, expect=(200, 201)):
        resp = self._session().request(method, self.base + path, json=body, params=params, timeout=30,
                                       headers={"Authorization": "Bearer " + token})
        if resp.status_code not in expect:
            raise RuntimeError("%s %s -> %d: %s" % (method, path, resp.status_code, resp.text[:500]))
        return resp.json() if resp.content else None


def pmap(fn, items, workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


# Role assignments of the teams, by team index modulo 4 (every team can read control planes,
# so every user and system account of the organization may GET any of its control planes).
TEAM_ROLES = [
    [("Control Planes", "Viewer"), ("Control Planes", "Admin")],
    [("Control Planes", "Viewer"), ("Control Planes", "Creator"), ("API Products", "Viewer")],
    [("Control Planes", "Viewer"), ("Dashboards", "Viewer"), ("Reports", "Viewer")],
    [("Control Planes", "Viewer"), ("Control Planes", "Deployer"), ("Mesh Control Planes", "Viewer")],
]


def seed_org(api, org, prefix, users, accounts, teams, control_planes, workers, log):
    """Populates one organization; returns {user_ids, user_tokens, account_tokens, cp_ids, team_ids}."""
    admin = org["token"]
    t0 = time.time()

    def make_team(i):
        team = api.call("POST", "/v3/teams", admin, {"name": "%s team %02d" % (prefix, i),
                                                      "description": "benchmark team %d" % i})
        for entity_type, role in TEAM_ROLES[i % len(TEAM_ROLES)]:
            api.call("POST", "/v3/teams/%s/assigned-roles" % team["id"], admin,
                     {"role_name": role, "entity_type_name": entity_type, "entity_id": "*", "entity_region": "*"})
        return team["id"]

    team_ids = pmap(make_team, range(teams), workers)

    emails = ["%s-user-%04d@bench.example" % (prefix, i) for i in range(users)]
    pmap(lambda e: api.call("POST", "/v3/invites", admin, {"email": e}), emails, workers)
    by_email = {}
    page = 1
    while True:
        got = api.call("GET", "/v3/users", admin, params={"page[size]": "1000", "page[number]": str(page)})
        for u in got["data"]:
            by_email[u["email"]] = u["id"]
        if len(got["data"]) < 1000:
            break
        page += 1
    user_ids = [by_email[e] for e in emails]

    def make_pat(uid):
        return api.call("POST", "/v3/users/%s/access-tokens" % uid, admin,
                        {"name": "bench", "ttl_seconds": 31536000})["konnect_token"]

    user_tokens = pmap(make_pat, user_ids, workers)

    memberships = [(team_ids[i % teams], uid) for i, uid in enumerate(user_ids)]
    memberships += [(team_ids[(i + 1) % teams], uid) for i, uid in enumerate(user_ids) if i % 3 == 0]
    pmap(lambda m: api.call("POST", "/v3/teams/%s/users" % m[0], admin, {"id": m[1]}), memberships, workers)
    log("  %s: %d teams, %d users with PATs, %d team memberships (%.1fs)" %
        (prefix, teams, users, len(memberships), time.time() - t0))

    t1 = time.time()

    def make_account(i):
        sa = api.call("POST", "/v3/system-accounts", admin,
                      {"name": "%s-robot-%03d" % (prefix, i), "description": "benchmark automation"})
        token = api.call("POST", "/v3/system-accounts/%s/access-tokens" % sa["id"], admin,
                         {"name": "bench", "expires_at": rfc3339_in(300 * 86400)})["token"]
        api.call("POST", "/v3/teams/%s/system-accounts" % team_ids[i % teams], admin, {"id": sa["id"]})
        return token

    account_tokens = pmap(make_account, range(accounts), workers)
    log("  %s: %d system accounts with SPATs (%.1fs)" % (prefix, accounts, time.time() - t1))

    t2 = time.time()

    def make_cp(n):
        return api.call("POST", "/v2/control-planes", admin, {
            "name": cp_name(n), "description": "benchmark control plane %d" % n,
            "cluster_type": "CLUSTER_TYPE_CONTROL_PLANE", "labels": cp_labels(n)})["id"]

    cp_ids = pmap(make_cp, range(control_planes), workers)
    log("  %s: %d control planes (%.1fs, %.0f/s)" %
        (prefix, control_planes, time.time() - t2, control_planes / max(time.time() - t2, 1e-9)))

    # Every 5th user also holds a direct role on one control plane.
    direct = [(uid, cp_ids[(i * 37) % len(cp_ids)]) for i, uid in enumerate(user_ids) if i % 5 == 0]
    pmap(lambda d: api.call("POST", "/v3/users/%s/assigned-roles" % d[0], admin, {
        "role_name": "Admin", "entity_type_name": "Control Planes", "entity_id": d[1], "entity_region": "*"}),
        direct, workers)
    return {"user_ids": user_ids, "user_tokens": user_tokens, "account_tokens": account_tokens,
            "cp_ids": cp_ids, "team_ids": team_ids, "direct_roles": len(direct)}


def seed_population(binary, db_path, base, workers=24, log=print, scale=1.0):
    """Two organizations through the API (see the module docstring). scale < 1 shrinks every count
    (for trying the suite quickly; the real run uses 1.0)."""
    api = Api(base)
    s = lambda n: max(1, int(n * scale))  # noqa: E731
    out = {}
    for key, name, prefix, users, accounts, teams, cps in (
            ("a", "Acme Bench", "acme", 800, 80, 16, 10000),
            ("b", "Globex Bench", "globex", 200, 20, 4, 1000)):
        org = org_create(binary, db_path, name, "admin@%s.bench.example" % prefix)
        out[key] = {"org": org, **seed_org(api, org, prefix, s(users), s(accounts), teams, s(cps), workers, log)}
    return out


def seed_large(binary, db_path, big=100000, small=1000):
    """The 100 000-row database: org X with `big` control planes, org Y with `small`, inserted
    directly into SQLite (see the module docstring). Returns {"x": org, "y": org}."""
    x = org_create(binary, db_path, "Large Org", "admin@large.bench.example")
    y = org_create(binary, db_path, "Small Org", "admin@small.bench.example")
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")  # seeding only; nothing is measured here
    insert_cp = ("INSERT INTO control_planes (id, org_id, name, description, cluster_type, auth_type, cloud_gateway, "
                 "proxy_urls, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    insert_label = "INSERT INTO control_plane_labels (control_plane_id, org_id, key, value) VALUES (?, ?, ?, ?)"
    now = int(time.time() * 1000)
    con.execute("BEGIN")
    for org, count in ((x, big), (y, small)):
        org_id = org["organization_id"]
        cps, labels = [], []
        for n in range(count):
            cp_id = str(uuid.uuid4())
            lab = cp_labels(n)
            created = now - (count - n) * 1000  # one a second, oldest first, as if made over time
            cps.append((cp_id, org_id, cp_name(n), "benchmark control plane %d" % n, "CLUSTER_TYPE_CONTROL_PLANE",
                        "pinned_client_certs", 0, "[]", json.dumps(lab, separators=(",", ":")), created, created))
            labels.extend((cp_id, org_id, k, v) for k, v in sorted(lab.items()))
        con.executemany(insert_cp, cps)
        con.executemany(insert_label, labels)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return {"x": x, "y": y}
