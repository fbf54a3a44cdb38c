"""The command line (version, flags, help, migrate, org create) and the storage guarantees:
durability across kill -9, 503 (not a crash) when the database refuses writes, and the
JSON access log on stdout."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading

import pytest

from conftest import BIN, assert_problem, fresh_database, sqlite_only

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def run(*args, timeout=15, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


@pytest.fixture
def tmpdb():
    d = tempfile.mkdtemp(prefix="ok-cli-")
    yield fresh_database(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def servers(start_server):
    """start_server, plus: no server of this module ever answered 500 or logged an internal
    error."""
    started = []

    def factory(*args, **kwargs):
        srv = start_server(*args, **kwargs)
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        for line in srv.stdout().splitlines():
            assert json.loads(line).get("status") != 500, line
        assert '"internal error"' not in srv.stderr(), srv.stderr()[-2000:]


# --- the command line ---------------------------------------------------------------------


def test_version():
    out = run("version")
    assert out.returncode == 0, out.stderr
    assert re.match(r"^openkonnect \d+\.\d+\.\d+", out.stdout), out.stdout


BAD_FLAGS = [
    ("serve-unknown-flag", ["serve", "--bogus"]),
    ("serve-listen-nonsense", ["serve", "--listen", "nonsense"]),
    ("serve-listen-port-out-of-range", ["serve", "--listen", "127.0.0.1:99999"]),
    ("serve-listen-port-not-numeric", ["serve", "--listen", "127.0.0.1:http"]),
    ("serve-max-body-zero", ["serve", "--max-body-bytes", "0"]),
    ("serve-threads-not-numeric", ["serve", "--threads", "abc"]),
    ("serve-read-timeout-too-small", ["serve", "--read-timeout-ms", "1"]),
    ("serve-list-cache-negative", ["serve", "--list-cache-mib", "-1"]),
    ("serve-list-cache-too-large", ["serve", "--list-cache-mib", "100000"]),
    ("serve-database-unsupported-scheme", ["serve", "--listen", "127.0.0.1:0", "--database", "mysql://db/x"]),
    ("org-create-missing-name", ["org", "create", "--database", "@DB@", "--admin-email", "a@example.com"]),
    ("org-create-missing-email", ["org", "create", "--database", "@DB@", "--name", "acme"]),
    ("org-create-bad-email", ["org", "create", "--database", "@DB@", "--name", "acme", "--admin-email", "nope"]),
    ("org-create-empty-name", ["org", "create", "--database", "@DB@", "--name", "", "--admin-email", "a@example.com"]),
    ("org-without-subcommand", ["org"]),
    ("migrate-database-without-value", ["migrate", "--database"]),
    ("unknown-subcommand", ["frobnicate"]),
    ("no-subcommand", []),
    ("version-unknown-flag", ["version", "--bogus"]),
]


@pytest.mark.parametrize("args", [a for _, a in BAD_FLAGS], ids=[i for i, _ in BAD_FLAGS])
def test_bad_flags_exit_2_with_a_message(args, tmpdb):
    out = run(*[tmpdb if a == "@DB@" else a for a in args], timeout=10)
    assert out.returncode == 2, "exit %d; stdout %r; stderr %r" % (out.returncode, out.stdout, out.stderr)
    assert out.stderr.strip(), "no message on stderr"
    assert out.stdout.strip() == "", out.stdout
    if args[:2] == ["org", "create"]:
        # Nothing was created: a later valid org create is the database's first organization.
        good = run("org", "create", "--database", tmpdb, "--name", "acme", "--admin-email", "a@example.com")
        assert good.returncode == 0, good.stderr


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["migrate", "--help"], ["version", "--help"],
                                  ["org", "--help"], ["org", "create", "--help"]],
                         ids=["top", "serve", "migrate", "version", "org", "org-create"])
def test_help_exits_0(args):
    out = run(*args)
    assert out.returncode == 0, out.stderr
    assert "Usage" in out.stdout, out.stdout


def test_serve_help_documents_every_flag():
    text = run("serve", "--help").stdout
    for flag in ("--listen", "--database", "--threads", "--max-body-bytes", "--max-connections", "--read-timeout-ms",
                 "--idle-timeout-ms", "--shutdown-grace-ms", "--cluster-url", "--telemetry-url", "--list-cache-mib"):
        assert flag in text, flag


def test_migrate_prints_the_schema_version_and_is_idempotent(tmpdb):
    first = run("migrate", "--database", tmpdb)
    assert first.returncode == 0, first.stderr
    v1 = json.loads(first.stdout)
    assert isinstance(v1["schema_version"], int) and v1["schema_version"] >= 1, v1
    if tmpdb.startswith("sqlite:"):
        assert os.path.exists(tmpdb[len("sqlite:"):])
    second = run("migrate", "--database", tmpdb)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == v1
    # The migrated database serves, and org create works on it.
    org = json.loads(run("org", "create", "--database", tmpdb, "--name", "m", "--admin-email", "m@example.com").stdout)
    assert org["token"].startswith("kpat_")
    third = run("migrate", "--database", tmpdb)
    assert json.loads(third.stdout) == v1


def test_migrate_under_a_running_server(servers):
    srv = servers()
    out = run("migrate", "--database", srv.database)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["schema_version"] >= 1
    assert srv.request("GET", "/healthz").status_code == 200


def test_org_create_while_the_server_runs(servers):
    srv = servers()
    assert srv.request("GET", "/healthz").status_code == 200
    org = srv.create_org("live", email="live-admin@example.com")
    resp = srv.request("GET", "/v3/users/me", token=org["token"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["email"] == "live-admin@example.com"
    assert resp.json()["id"] == org["user_id"]


def test_concurrent_org_creates_while_the_server_writes(servers):
    srv = servers()
    first = srv.create_org("busy")
    stop = threading.Event()
    codes = []

    def writer():
        i = 0
        while not stop.is_set() and i < 200:
            r = srv.request("POST", "/v2/control-planes", token=first["token"], json={"name": "busy-%d" % i})
            codes.append(r.status_code)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        procs = [subprocess.Popen([BIN, "org", "create", "--database", srv.database, "--name", "par-%d" % i,
                                   "--admin-email", "par-%d@example.com" % i],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
        outs = [p.communicate(timeout=20) for p in procs]
    finally:
        stop.set()
        t.join(20)
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    orgs = [json.loads(out) for out, _ in outs]
    assert len({o["organization_id"] for o in orgs}) == 4
    for i, o in enumerate(orgs):
        me = srv.request("GET", "/v3/users/me", token=o["token"])
        assert me.status_code == 200 and me.json()["email"] == "par-%d@example.com" % i, me.text
    assert codes and set(codes) == {201}, sorted(set(codes))


# --- durability ---------------------------------------------------------------------------


def test_created_control_planes_survive_kill_9(servers):
    srv = servers()
    org = srv.create_org("durable")
    created = []
    for i in range(5):
        r = srv.request("POST", "/v2/control-planes", token=org["token"],
                        json={"name": "durable-%d" % i, "description": "kept %d" % i, "labels": {"k": str(i)}})
        assert r.status_code == 201, r.text
        created.append(r.json())
    srv.proc.kill()  # SIGKILL: no chance to flush anything
    srv.proc.wait(5)
    again = servers(database=srv.database)
    for cp in created:
        r = again.request("GET", "/v2/control-planes/" + cp["id"], token=org["token"])
        assert r.status_code == 200, r.text
        got = r.json()
        for key in ("id", "name", "description", "labels", "created_at"):
            assert got[key] == cp[key], key
    listing = again.request("GET", "/v2/control-planes", token=org["token"]).json()
    assert listing["meta"]["page"]["total"] == 5


# --- storage that refuses writes ----------------------------------------------------------


def _chattr(flag, paths):
    return subprocess.run(["chattr", flag, *paths], capture_output=True, text=True)


@sqlite_only
def test_unwritable_database_files_answer_503_and_recover(servers):
    # Tests run as root, which ignores permission bits: the immutable attribute makes the
    # kernel refuse writes to the database file and its write-ahead log even for root.
    # (The -shm file is left alone: SQLite writes it through mmap, where a refusal is SIGBUS.)
    if not shutil.which("chattr"):
        pytest.skip("chattr is not installed")
    srv = servers()
    org = srv.create_org("ro")
    before = srv.request("POST", "/v2/control-planes", token=org["token"], json={"name": "before"})
    assert before.status_code == 201, before.text
    db = srv.database[len("sqlite:"):]
    files = [db, db + "-wal"]
    assert all(os.path.exists(f) for f in files), os.listdir(os.path.dirname(db))
    res = _chattr("+i", files)
    if res.returncode != 0:
        pytest.skip("cannot set the immutable attribute here: " + res.stderr.strip())
    try:
        for name in ("during-1", "during-2"):
            resp = srv.request("POST", "/v2/control-planes", token=org["token"], json={"name": name})
            body = assert_problem(resp, 503)
            assert body["detail"], body
        patch = srv.request("PATCH", "/v2/control-planes/" + before.json()["id"], token=org["token"],
                            json={"description": "changed"})
        assert_problem(patch, 503)
        # Reads keep working, and the process is still up.
        listing = srv.request("GET", "/v2/control-planes", token=org["token"])
        assert listing.status_code == 200 and [cp["name"] for cp in listing.json()["data"]] == ["before"]
        assert srv.proc.poll() is None
    finally:
        _chattr("-i", files)
    after = srv.request("POST", "/v2/control-planes", token=org["token"], json={"name": "after"})
    assert after.status_code == 201, after.text
    assert "storage unavailable" in srv.stderr()


@pytest.fixture
def small_tmpfs():
    # Room for the database and the audit journal the server keeps beside it (it claims journal
    # space a megabyte ahead of its writers); 4 MiB was sometimes full before the test began.
    mnt = tempfile.mkdtemp(prefix="ok-tmpfs-")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt], capture_output=True, text=True)
    if res.returncode != 0:
        os.rmdir(mnt)
        pytest.skip("cannot mount a tmpfs here: " + res.stderr.strip())
    yield mnt
    subprocess.run(["umount", "-l", mnt], capture_output=True)
    shutil.rmtree(mnt, ignore_errors=True)


@sqlite_only
def test_full_disk_answers_503_and_recovers(small_tmpfs, servers):
    srv = servers(database="sqlite:" + os.path.join(small_tmpfs, "ok.db"))
    org = srv.create_org("full")
    assert srv.request("POST", "/v2/control-planes", token=org["token"], json={"name": "before"}).status_code == 201
    filler = os.path.join(small_tmpfs, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    try:
        statuses = []
        for i in range(10):
            resp = srv.request("POST", "/v2/control-planes", token=org["token"],
                               json={"name": "full-%d" % i, "description": "x" * 1000})
            statuses.append(resp.status_code)
            if resp.status_code != 201:
                assert_problem(resp, 503)
        assert 503 in statuses, statuses
        assert srv.request("GET", "/v2/control-planes", token=org["token"]).status_code == 200
        assert srv.proc.poll() is None
    finally:
        os.unlink(filler)
    assert srv.request("POST", "/v2/control-planes", token=org["token"], json={"name": "after"}).status_code == 201


@sqlite_only
def test_read_only_filesystem_at_start_up_is_not_a_crash(small_tmpfs, servers):
    # Stop the server, make the filesystem read-only, start again. Either the server comes up
    # and answers writes with 503, or it refuses to start with a message and an exit status
    # (not a signal, not a hang): with the audit log on, its journal cannot be made there.
    database = "sqlite:" + os.path.join(small_tmpfs, "ok.db")
    srv = servers(database=database)
    org = srv.create_org("rofs")
    cp = srv.request("POST", "/v2/control-planes", token=org["token"], json={"name": "kept"}).json()
    assert srv.stop() == 0
    res = subprocess.run(["mount", "-o", "remount,ro", small_tmpfs], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip("cannot remount read-only: " + res.stderr.strip())
    from conftest import Server
    again = Server(database=database)
    try:
        again.start(timeout=8)
    except RuntimeError:
        if again.proc.poll() is not None:
            code = again.proc.returncode
            assert code > 0, "exited with %s (a signal?)" % code
            # The database, or the audit journal beside it (a record per request must be writable).
            assert "database" in again.stderr() or "audit journal" in again.stderr(), again.stderr()
            return
        # Running but not healthy (healthz 503 is allowed when the database does not answer).
    try:
        assert_problem(again.request("POST", "/v2/control-planes", token=org["token"], json={"name": "new"}), 503)
        got = again.request("GET", "/v2/control-planes/" + cp["id"], token=org["token"])
        assert got.status_code in (200, 503), got.text
        if got.status_code == 503:
            assert_problem(got, 503)
    finally:
        assert again.stop() == 0


# --- the access log -------------------------------------------------------------------------


def test_access_log_has_one_json_line_per_request(servers):
    srv = servers()
    org = srv.create_org("logs")
    token = org["token"]
    sent = []

    def do(method, path, expect, **kwargs):
        r = srv.request(method, path, **kwargs)
        assert r.status_code == expect, r.text
        sent.append((method, r))
        return r

    do("GET", "/healthz", 200)
    do("GET", "/v3/users/me", 200, token=token)
    cp = do("POST", "/v2/control-planes", 201, token=token, json={"name": "logged"}).json()
    do("GET", "/v2/control-planes/" + cp["id"], 200, token=token)
    do("GET", "/v2/control-planes/not-a-uuid", 400, token=token)
    do("POST", "/v2/control-planes", 400, token=token, data=b"{", headers={"Content-Type": "application/json"})
    do("GET", "/v2/control-planes", 401)
    do("GET", "/v2/nope", 404)
    do("GET", "/healthz", 431, headers={"X-Pad": "a" * 20000})

    by_id = srv.access_lines([r.headers["X-Kong-Request-Id"] for _, r in sent])
    # (That every line of stdout is JSON, the `servers` fixture checks at teardown.)
    routes = {"/healthz": "/healthz", "/v3/users/me": "/v3/users/me", "/v2/control-planes": "/v2/control-planes",
              "/v2/control-planes/" + cp["id"]: "/v2/control-planes/{controlPlaneId}",
              "/v2/control-planes/not-a-uuid": "/v2/control-planes/{controlPlaneId}"}
    for method, r in sent:
        rid = r.headers["X-Kong-Request-Id"]
        assert len(by_id.get(rid, [])) == 1, "expected one access line for %s %s: %s" % (method, r.url, by_id.get(rid))
        line = by_id[rid][0]
        for key in ("time", "method", "route", "status", "duration_ms", "bytes_in", "bytes_out", "trace_id"):
            assert key in line, (key, line)
        assert RFC3339_MS.match(line["time"]), line
        assert line["status"] == r.status_code, line
        assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
        assert line["trace_id"] == rid
        path = r.url.split(str(srv.port), 1)[1]
        if r.status_code != 431:
            assert line["method"] == method, line
            assert line["bytes_out"] == len(r.content), line
            assert line["bytes_in"] == len(r.request.body or b""), line
            if path in routes:
                assert line["route"] == routes[path], line
        authenticated = r.request.headers.get("Authorization") and r.status_code != 401
        if authenticated:
            assert line.get("organization_id") == org["organization_id"], line
        else:
            assert not line.get("organization_id"), line
