"""End-to-end harness: starts the real openkonnect binary on a free loopback port with a
fresh database (a SQLite file, or with OPENKONNECT_TEST_POSTGRES_URL a database of its own in
that PostgreSQL cluster), and offers helpers to talk HTTP to it and check the error contract
against the Konnect specs in ../shared/konnect (when present)."""
import atexit
import itertools
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("OPENKONNECT_BIN", str(ROOT / "build" / "openkonnect"))
SPEC_DIR = ROOT.parent / "shared" / "konnect" / "spec"

# Every server's directory (database, logs) lives under one scratch directory per run, removed
# when the run ends; OPENKONNECT_KEEP_TEST_FILES=1 keeps it for a post-mortem.
SCRATCH = tempfile.mkdtemp(prefix="ok-e2e-")
if not os.environ.get("OPENKONNECT_KEEP_TEST_FILES"):
    atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)

TRACE_RE = re.compile(r"^kong:trace:[0-9]+$")
TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
    415: "Unsupported Media Type", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable",
}


# The suite runs against PostgreSQL when this names a cluster (scripts/postgres.sh starts a
# throwaway one): every server then gets a database of its own, created here.
POSTGRES_URL = os.environ.get("OPENKONNECT_TEST_POSTGRES_URL")

# For the few tests about the SQLite file itself (its permissions, a full disk, its integrity
# check): skipped when the suite runs against PostgreSQL.
sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="about the embedded SQLite database's file")


def psql(url, statement):
    out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", statement],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError("psql failed: %s" % out.stderr)
    return out.stdout


def fresh_database(directory):
    """A database URL nobody used yet: a SQLite file in `directory`, or a new PostgreSQL
    database in the test cluster."""
    if not POSTGRES_URL:
        return "sqlite:" + os.path.join(directory, "openkonnect.db")
    name = "ok_" + uuid.uuid4().hex[:20]
    psql(POSTGRES_URL, "CREATE DATABASE " + name)
    parts = urllib.parse.urlsplit(POSTGRES_URL)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def execute_sql(database, statement, *params):
    """Runs one statement on a server's database behind its back (fault injection). `params`
    replace `?` in order; they must be plain ids or names (quoted here, never client input)."""
    for p in params:
        assert re.fullmatch(r"[A-Za-z0-9_. -]*", p), p
        statement = statement.replace("?", "'%s'" % p, 1)
    if database.startswith("sqlite:"):
        import sqlite3
        db = sqlite3.connect(database[len("sqlite:"):], timeout=10)
        try:
            db.execute(statement)
            db.commit()
        finally:
            db.close()
    else:
        psql(database, statement)


def _port_slot():
    """The ports this process hands out: below the kernel's ephemeral range (clients' own ports
    never land there), one slice per pytest-xdist worker and one for processes outside xdist
    (the soak, a lone pytest). Asking the kernel for "any free port" let two workers get the
    same one between one's check and its server's bind: a server then met another test's
    server on its port, which answered in its place (a CI run saw its rate limits)."""
    low, high = 12000, 32768
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    slots = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")) + 1
    index = int(worker[2:]) + 1 if re.fullmatch(r"gw[0-9]+", worker) else 0
    size = (high - low) // slots
    start = low + index * size
    # Processes outside xdist may run side by side (the soak beside a module): each starts at
    # a different place in the slice.
    return start, size, uuid.uuid4().int % size


_SLOT_START, _SLOT_SIZE, _slot_next = _port_slot()


def free_port():
    """A loopback port nothing listens on, from this process's slice, never the same twice in a
    row (a port is reused only after the whole slice has been handed out)."""
    global _slot_next
    for _ in range(_SLOT_SIZE):
        port = _SLOT_START + _slot_next
        _slot_next = (_slot_next + 1) % _SLOT_SIZE
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in %d-%d" % (_SLOT_START, _SLOT_START + _SLOT_SIZE - 1))


def listens_on(pid, port):
    """Whether process `pid` holds a listening TCP socket on `port` (read from /proc): the
    server that answered on a port is the one a test started, not another one."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(cols[9])
    fd_dir = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


class Server:
    """One running openkonnect process with its own database and log files. `tls_ca`: for a
    server given --tls-cert/--tls-key, the PEM file its certificate is verified against; the
    server is then spoken to over https."""

    def __init__(self, extra_args=(), env=None, database=None, tls_ca=None):
        self.dir = tempfile.mkdtemp(prefix="server-", dir=SCRATCH)
        self.database = database or fresh_database(self.dir)
        self.port = free_port()
        self.tls_ca = tls_ca
        self.base = "%s://127.0.0.1:%d" % ("https" if tls_ca else "http", self.port)
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        # Suites send many requests with one token from one address: budgets are generous
        # unless a test sets its own (later flags win).
        generous = ["--rate-limit-token", "1000000/60", "--rate-limit-org", "1000000/60",
                    "--rate-limit-auth-failures", "1000000/60", "--rate-limit-invites", "1000000/60"]
        # Every server has its own data-plane (cluster) listener, on a free port too.
        self.cluster_port = free_port()
        self.args = [BIN, "serve", "--listen", "127.0.0.1:%d" % self.port, "--database", self.database,
                     "--cluster-listen", "127.0.0.1:%d" % self.cluster_port, *generous, *extra_args]
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.session = requests.Session()
        self.session.verify = tls_ca or True

    def start(self, timeout=15):
        self.proc = subprocess.Popen(self.args, stdout=open(self.stdout_path, "ab"),
                                     stderr=open(self.stderr_path, "ab"), env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s: %s" % (self.proc.returncode, self.stderr()))
            try:
                if requests.get(self.base + "/healthz", timeout=1, verify=self.session.verify).status_code == 200 \
                        and listens_on(self.proc.pid, self.port):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become healthy: " + self.stderr())

    def stop(self, timeout=20):
        """SIGTERM, then wait; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stdout(self):
        with open(self.stdout_path, errors="replace") as f:
            return f.read()

    def access_log(self):
        """The JSON lines of stdout so far (the access log); a line still being written, or any
        other text, is left out."""
        entries = []
        for line in self.stdout().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def access_lines(self, trace_ids, seconds=5):
        """trace id -> its access-log lines, for each of `trace_ids`: waits until every one has a
        line (the log is written after the answer, asynchronously) or `seconds` have passed."""
        wanted = set(trace_ids)
        deadline = time.monotonic() + seconds
        while True:
            found = {}
            for entry in self.access_log():
                if entry.get("trace_id") in wanted:
                    found.setdefault(entry["trace_id"], []).append(entry)
            if found.keys() == wanted or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def cli(self, *args, check=True):
        out = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30, env=self.env)
        if check and out.returncode != 0:
            raise AssertionError("openkonnect %s failed (%d): %s" % (" ".join(args), out.returncode, out.stderr))
        return out

    def create_org(self, name="acme", email=None):
        email = email or "admin-%s@example.com" % name.replace(" ", "-")
        out = self.cli("org", "create", "--database", self.database, "--name", name, "--admin-email", email)
        return json.loads(out.stdout)

    def request(self, method, path, token=None, headers=None, **kwargs):
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = "Bearer " + token
        kwargs.setdefault("timeout", 10)
        # Per request: requests lets REQUESTS_CA_BUNDLE in the environment override Session.verify.
        kwargs.setdefault("verify", self.session.verify)
        return self.session.request(method, self.base + path, headers=hdrs, **kwargs)


@pytest.fixture
def start_server():
    """Factory: start_server(*extra_args) -> started Server; all are stopped at teardown and
    must exit with status 0 (a sanitizer finding makes the exit non-zero)."""
    started = []

    def factory(*extra_args, env=None, database=None, tls_ca=None):
        srv = Server(extra_args, env=env, database=database, tls_ca=tls_ca).start()
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        code = srv.stop()
        assert code in (0, None) or code == -signal.SIGKILL, \
            "server exited with %s; stderr:\n%s" % (code, srv.stderr()[-4000:])


def module_server(env=None):
    """Makes a module-scoped server fixture: one Server (`env` added to its environment) shared
    by the tests of a module, which must exit with status 0 at teardown. A module overrides the
    default below with e.g. `server = module_server(NO_RATE_LIMITS)`."""

    @pytest.fixture(scope="module")
    def server():
        """A server shared by one test module."""
        srv = Server(env=env).start()
        yield srv
        code = srv.stop()
        assert code == 0, "server exited with %s; stderr:\n%s" % (code, srv.stderr()[-4000:])

    return server


server = module_server()


@pytest.fixture(scope="module")
def org(server):
    """An organization with an admin token on the module's server."""
    return server.create_org("org-%d" % free_port())


# --- small helpers for the test modules ---------------------------------------------------

_seq = itertools.count(1)


def uniq(prefix="x"):
    """A name unique in this run: prefix, a sequence number, "-", six hex digits."""
    return "%s%d-%s" % (prefix, next(_seq), uuid.uuid4().hex[:6])


def rnd():
    """A random UUID string (an id that never existed)."""
    return str(uuid.uuid4())


def ok(resp, status=200):
    """Asserts that `resp` has `status` (the message shows the body) and returns its JSON body;
    None for a 204, whose body must be empty, and for a 201 without a body (POST /v3/invites)."""
    assert resp.status_code == status, "expected %d, got %d: %s" % (status, resp.status_code, resp.text[:600])
    if status == 204:
        assert resp.content == b"", resp.content
        return None
    if status == 201 and not resp.content:
        return None
    return resp.json()


# --- the error contract -------------------------------------------------------------------

_schemas = {}


def load_spec(spec_file):
    """A spec of ../shared/konnect/spec as parsed YAML (read once); None if it is absent, or
    PyYAML or jsonschema is."""
    try:
        import yaml
        import jsonschema  # noqa: F401
    except ImportError:
        return None
    path = SPEC_DIR / spec_file
    if not path.exists():
        return None
    if spec_file not in _schemas:
        with open(path) as f:
            _schemas[spec_file] = yaml.safe_load(f)
    return _schemas[spec_file]


def spec_schema(spec_file, name):
    """A component schema of a spec, resolvable with its $refs; None if ../shared is absent."""
    doc = load_spec(spec_file)
    if doc is None:
        return None
    schema = dict(doc["components"]["schemas"][name])
    schema["components"] = doc["components"]
    return schema


def validate_against(instance, spec_file, name):
    schema = spec_schema(spec_file, name)
    if schema is None:
        pytest.skip("../shared/konnect specs (or PyYAML/jsonschema) absent: schema check skipped")
    import jsonschema
    jsonschema.validate(instance, schema)


def assert_problem(resp, status, detail=None):
    """Checks one error response against the contract and returns its JSON body."""
    assert resp.status_code == status, "expected %d, got %d: %s" % (status, resp.status_code, resp.text[:500])
    assert resp.headers.get("Content-Type", "").startswith("application/problem+json"), resp.headers
    body = resp.json()
    for key in ("status", "title", "type", "instance", "detail", "message"):
        assert key in body, "missing %s in %s" % (key, body)
    assert body["message"] == body["detail"], body
    assert body["status"] == status and isinstance(body["status"], int)
    assert body["title"] == TITLES[status]
    assert TRACE_RE.match(body["instance"]), body["instance"]
    assert body["instance"] == "kong:trace:" + resp.headers.get("X-Kong-Request-Id", ""), resp.headers
    if detail is not None:
        assert body["detail"] == detail, body["detail"]
    if status == 400:
        assert isinstance(body.get("invalid_parameters"), list) and body["invalid_parameters"], body
        validate_against(body, "control-planes_v2.yaml", "BadRequestError")
    else:
        validate_against(body, "control-planes_v2.yaml", "BaseError")
    return body


def param(body, field):
    """The invalid_parameters entry for `field`."""
    for p in body["invalid_parameters"]:
        if p["field"] == field:
            return p
    raise AssertionError("no invalid parameter %r in %s" % (field, body["invalid_parameters"]))


# --- raw HTTP over sockets (for malformed requests and transport behaviour) ---------------


class RawResponse:
    """One HTTP response read off a raw socket; quacks enough like requests.Response for
    assert_problem (status_code, headers, text, json())."""

    def __init__(self, status_code, reason, headers, content, interim=()):
        from requests.structures import CaseInsensitiveDict
        self.status_code = status_code
        self.reason = reason
        self.headers = CaseInsensitiveDict(headers)
        self.header_list = headers
        self.content = content
        self.text = content.decode("utf-8", "replace")
        self.interim = list(interim)

    def json(self):
        return json.loads(self.content)

    def __repr__(self):
        return "<RawResponse %d %r %r>" % (self.status_code, dict(self.headers), self.content[:300])


class RawConnection:
    """A client socket with a read buffer. read_response() returns a RawResponse, or None when
    the peer closed (EOF or reset) before sending any byte of a response. A timeout raises
    socket.timeout: the server hung."""

    def __init__(self, port, timeout=5.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.reset = False  # the last None from read_response came from a reset, not EOF

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            self.reset = True
            return False
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_until_eof(self):
        """True when the peer closes (EOF or reset); raises socket.timeout if it does not."""
        while self._fill():
            pass
        return True

    def read_response(self):
        interim = []
        while True:
            while b"\r\n\r\n" not in self.buf:
                if not self._fill():
                    if not self.buf:
                        return None  # closed without a (final) answer; interim 1xx may have come
                    raise AssertionError("connection closed in the middle of a response: %r" % self.buf[:500])
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ", 2)
            assert len(parts) >= 2 and parts[0].startswith(b"HTTP/1."), "bad status line %r" % lines[0]
            status = int(parts[1])
            reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
            headers = []
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))
            if 100 <= status < 200:
                interim.append(status)
                continue
            hdrs = {k.lower(): v for k, v in headers}
            if "content-length" in hdrs:
                n = int(hdrs["content-length"])
                while len(self.buf) < n:
                    if not self._fill():
                        raise AssertionError("connection closed in a response body: %r" % self.buf[:500])
                body, self.buf = self.buf[:n], self.buf[n:]
            elif "chunked" in hdrs.get("transfer-encoding", "").lower():
                body = b""
                while True:
                    while b"\r\n" not in self.buf:
                        assert self._fill(), "connection closed in a chunked body"
                    size_line, self.buf = self.buf.split(b"\r\n", 1)
                    size = int(size_line.split(b";")[0], 16)
                    while len(self.buf) < size + 2:
                        assert self._fill(), "connection closed in a chunked body"
                    body += self.buf[:size]
                    self.buf = self.buf[size + 2:]
                    if size == 0:
                        break
            elif status in (204, 304):
                body = b""
            else:
                self.read_until_eof()
                body, self.buf = self.buf, b""
            return RawResponse(status, reason, headers, body, interim)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def raw_exchange(port, data, timeout=5.0, half_close=False):
    """Sends `data` on a new connection (from a thread, so a large upload cannot deadlock
    against an early answer), then reads one response. Returns (RawResponse or None, conn);
    None means the server closed the connection without answering."""
    import threading
    conn = RawConnection(port, timeout=timeout)

    def sender():
        try:
            conn.sock.sendall(data)
            if half_close:
                conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered early and stopped reading: fine, the answer is what counts

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        resp = conn.read_response()
    finally:
        t.join(timeout)
    return resp, conn


def raw_roundtrip(port, data, timeout=5.0):
    """raw_exchange, closing the connection after the response: returns the RawResponse, or
    None when the server closed the connection without answering."""
    resp, conn = raw_exchange(port, data, timeout=timeout)
    conn.close()
    return resp


def raw_get(port, path="/healthz", headers=(), timeout=5.0):
    """A well-formed GET on a new connection; returns the RawResponse."""
    req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n" % (
        path, "".join("%s: %s\r\n" % h for h in headers))
    return raw_roundtrip(port, req.encode(), timeout=timeout)


def raw_request(method, path, token=None, body=None, headers=()):
    """The bytes of one HTTP/1.1 request: `headers` are "Name: value" strings; a `body` (bytes,
    or JSON-encoded otherwise) comes with Content-Type: application/json and Content-Length."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    if token:
        lines.append("Authorization: Bearer " + token)
    lines += list(headers)
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        lines += ["Content-Type: application/json", "Content-Length: %d" % len(data)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def closed_within(conn, seconds):
    """Waits for the server to close `conn` (EOF or reset); returns the time it took, or None
    if it was still open after `seconds`."""
    started = time.monotonic()
    conn.sock.settimeout(seconds)
    try:
        conn.read_until_eof()
    except socket.timeout:
        return None
    return time.monotonic() - started


def wait_until_served(port, seconds=3):
    """Sends GET /healthz on new connections until one is answered or `seconds` have passed
    (for a server that is freeing a connection slot); returns the last RawResponse or None."""
    deadline = time.monotonic() + seconds
    while True:
        resp = raw_roundtrip(port, raw_request("GET", "/healthz", headers=["Connection: close"]))
        if resp is not None or time.monotonic() > deadline:
            return resp
        time.sleep(0.05)


def assert_healthz_on_each(conns):
    """Sends GET /healthz on each open RawConnection and asserts that each answers 200."""
    for conn in conns:
        conn.send(raw_request("GET", "/healthz"))
        assert conn.read_response().status_code == 200


def hold_served_connections(open_connection, count, seconds=5):
    """Opens `count` connections with `open_connection()` (a RawConnection or TlsConnection),
    each answering GET /healthz, and returns them. A connection the server closes unanswered is
    replaced until `seconds` have passed: a fresh server may still count a connection that was
    just closed (the start-up health check's), so its slot frees a moment later."""
    deadline = time.monotonic() + seconds
    held = []
    try:
        while len(held) < count:
            conn = None
            try:
                conn = open_connection()
                conn.send(raw_request("GET", "/healthz"))
                resp = conn.read_response()
            except (ssl.SSLError, OSError):
                resp = None
            if resp is not None:
                assert resp.status_code == 200
                held.append(conn)
                continue
            if conn is not None:
                conn.close()
            assert time.monotonic() < deadline, "only %d of %d connections were served" % (len(held), count)
            time.sleep(0.05)
    except BaseException:
        for conn in held:
            conn.close()
        raise
    return held


def assert_extra_connection_not_served(port, refused_ok, when="beyond --max-connections", timeout=5):
    """A new connection (beyond --max-connections, or during shutdown: `when`) gets no answer to
    GET /healthz (it is closed or reset unanswered), or, only when `refused_ok`, is refused
    outright."""
    try:
        extra = RawConnection(port, timeout=timeout)
    except ConnectionRefusedError:
        if refused_ok:
            return
        raise
    try:
        try:
            extra.send(raw_request("GET", "/healthz"))
        except OSError:
            pass
        assert extra.read_response() is None, "a new connection %s was served" % when
    finally:
        extra.close()


# --- spec response schemas ----------------------------------------------------------------

_DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_converted = {}


def _openapi_nullable(node):
    """OpenAPI 3.0 `nullable: true` rewritten as JSON Schema (type [.., "null"] or anyOf)."""
    if isinstance(node, list):
        return [_openapi_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_nullable(v) for k, v in node.items()}
    nullable = out.get("nullable")
    if isinstance(nullable, bool):
        del out["nullable"]
        if nullable:
            if "type" in out:
                t = out["type"]
                out["type"] = [t, "null"] if isinstance(t, str) else [*t, "null"]
                if "enum" in out:
                    out["enum"] = [*out["enum"], None]
            else:
                out = {"anyOf": [{"type": "null"}, out]}
    return out


def response_schema(spec_file, name, media_type="application/json"):
    """The JSON Schema of `components.responses.<name>` of a spec, with its $refs resolvable
    and OpenAPI's `nullable` understood; None if ../shared (or PyYAML/jsonschema) is absent."""
    if spec_file not in _converted:
        doc = load_spec(spec_file)
        if doc is None:
            return None
        _converted[spec_file] = _openapi_nullable({"components": doc["components"]})
    components = _converted[spec_file]["components"]
    schema = dict(components["responses"][name]["content"][media_type]["schema"])
    schema["components"] = components
    return schema


def _format_checker():
    import jsonschema
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value):
        if isinstance(value, str) and not _DATE_TIME_RE.match(value):
            raise ValueError("not an RFC 3339 date-time: %r" % value)
        return True

    return checker


def validate_response(instance, name, spec_file="identity_v3.yaml"):
    """Validates a response body against `components.responses.<name>` (formats checked:
    uuid, email, date-time)."""
    schema = response_schema(spec_file, name)
    if schema is None:
        pytest.skip("../shared/konnect specs (or PyYAML/jsonschema) absent: schema check skipped")
    import jsonschema
    jsonschema.validate(instance, schema, format_checker=_format_checker())
    return instance


# --- the Identity API's routes (mirrors src/api/identity/routes.cpp) ----------------------

IDENTITY_ROUTES = [
    ("GET", "/v3/organizations/me"),
    ("GET", "/v3/users/me"),
    ("POST", "/v3/invites"),
    ("GET", "/v3/users"),
    ("GET", "/v3/users/{userId}"),
    ("PATCH", "/v3/users/{userId}"),
    ("DELETE", "/v3/users/{userId}"),
    ("GET", "/v3/users/{userId}/teams"),
    ("GET", "/v3/users/{userId}/access-tokens"),
    ("POST", "/v3/users/{userId}/access-tokens"),
    ("GET", "/v3/users/{userId}/access-tokens/{tokenId}"),
    ("PATCH", "/v3/users/{userId}/access-tokens/{tokenId}"),
    ("DELETE", "/v3/users/{userId}/access-tokens/{tokenId}"),
    ("PATCH", "/v3/users/{userId}/access-tokens/{tokenId}/revoke"),
    ("GET", "/v3/teams"),
    ("POST", "/v3/teams"),
    ("GET", "/v3/teams/{teamId}"),
    ("PATCH", "/v3/teams/{teamId}"),
    ("DELETE", "/v3/teams/{teamId}"),
    ("GET", "/v3/teams/{teamId}/users"),
    ("POST", "/v3/teams/{teamId}/users"),
    ("DELETE", "/v3/teams/{teamId}/users/{userId}"),
    ("GET", "/v3/teams/{teamId}/system-accounts"),
    ("POST", "/v3/teams/{teamId}/system-accounts"),
    ("DELETE", "/v3/teams/{teamId}/system-accounts/{accountId}"),
    ("GET", "/v3/roles"),
    *[(m, "/v3/%s/assigned-roles%s" % (base, tail))
      for base in ("users/{userId}", "teams/{teamId}", "system-accounts/{accountId}")
      for m, tail in (("GET", ""), ("POST", ""), ("GET", "/{roleId}"), ("DELETE", "/{roleId}"))],
    ("GET", "/v3/system-accounts"),
    ("POST", "/v3/system-accounts"),
    ("GET", "/v3/system-accounts/{accountId}"),
    ("PATCH", "/v3/system-accounts/{accountId}"),
    ("DELETE", "/v3/system-accounts/{accountId}"),
    ("GET", "/v3/system-accounts/{accountId}/access-tokens"),
    ("POST", "/v3/system-accounts/{accountId}/access-tokens"),
    ("GET", "/v3/system-accounts/{accountId}/access-tokens/{tokenId}"),
    ("PATCH", "/v3/system-accounts/{accountId}/access-tokens/{tokenId}"),
    ("DELETE", "/v3/system-accounts/{accountId}/access-tokens/{tokenId}"),
    ("GET", "/v3/system-accounts/{accountId}/teams"),
]

CONTROL_PLANE_ID_ROUTES = [
    ("GET", "/v2/control-planes/{controlPlaneId}"),
    ("PATCH", "/v2/control-planes/{controlPlaneId}"),
    ("DELETE", "/v2/control-planes/{controlPlaneId}"),
]


def route_params(template):
    """The path parameters of a route template, in order: '/v3/teams/{teamId}' -> ['teamId']."""
    return re.findall(r"\{(\w+)\}", template)


def rfc3339_in(seconds):
    """An RFC 3339 UTC timestamp with milliseconds, `seconds` from now (may be fractional)."""
    import datetime
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def valid_body(method, template, unique):
    """A request body that is valid for the route (so that only the path decides the answer);
    `unique` makes names and emails distinct. None for routes without a body."""
    if method in ("GET", "DELETE") or template.endswith("/revoke"):
        return None
    if template == "/v3/invites":
        return {"email": "invitee-%s@example.com" % unique}
    if template.endswith("/assigned-roles"):
        return {"role_name": "Viewer", "entity_type_name": "Control Planes", "entity_id": "*", "entity_region": "*"}
    if template.endswith("/users") or template.endswith("/system-accounts") and template.startswith("/v3/teams/"):
        return None  # needs a member id: the caller supplies it
    if template in ("/v3/users/{userId}",):
        return {"full_name": "Name %s" % unique}
    if template.startswith("/v3/users/{userId}/access-tokens"):
        return {"name": "pat %s" % unique, "ttl_seconds": 86400} if method == "POST" else {"name": "pat %s" % unique}
    if template.startswith("/v3/system-accounts/{accountId}/access-tokens"):
        return {"name": "spat %s" % unique, "expires_at": rfc3339_in(3600)} if method == "POST" \
            else {"name": "spat %s" % unique}
    if template.startswith("/v3/system-accounts"):
        return {"name": "sa %s" % unique, "description": "d"} if method == "POST" else {"name": "sa %s" % unique}
    if template.startswith("/v3/teams"):
        return {"name": "team %s" % unique}
    if template.startswith("/v2/control-planes"):
        return {"name": "cp-%s" % unique}
    raise AssertionError("no body for %s %s" % (method, template))


# Rate limits off (flags read from the environment; "0" disables a budget), for modules whose
# tests make many requests, invitations or failed authentications on one shared server.
NO_RATE_LIMITS = {"OPENKONNECT_RATE_LIMIT_TOKEN": "0", "OPENKONNECT_RATE_LIMIT_ORG": "0",
                  "OPENKONNECT_RATE_LIMIT_AUTH_FAILURES": "0", "OPENKONNECT_RATE_LIMIT_INVITES": "0"}


# --- control planes: response schemas, users with roles, requests from many threads -------


def validate_cp_response(instance, name):
    """Validates a body against `components.responses.<name>.content["application/json"]
    .schema` of the Control Planes spec, $refs resolved in its components."""
    return validate_response(instance, name, spec_file="control-planes_v2.yaml")


def invite_user_with_pat(server, admin_token, email=None):
    """Invites a user (admin_token must administer Identity) and has the admin create a PAT
    for them; returns (user_id, konnect_token)."""
    import uuid
    email = email or "user-%s@example.com" % uuid.uuid4().hex[:12]
    resp = server.request("POST", "/v3/invites", token=admin_token, json={"email": email})
    assert resp.status_code == 201, resp.text
    users = server.request("GET", "/v3/users", token=admin_token, params={"filter[email][eq]": email}).json()["data"]
    assert len(users) == 1, users
    resp = server.request("POST", "/v3/users/%s/access-tokens" % users[0]["id"], token=admin_token,
                          json={"name": "t1", "ttl_seconds": 86400})
    assert resp.status_code == 201, resp.text
    return users[0]["id"], resp.json()["konnect_token"]


def assign_role(server, admin_token, principal_path, role_name, entity_id="*", entity_type_name="Control Planes",
                entity_region="*"):
    """POST /v3/<principal_path>/assigned-roles (principal_path like "users/<id>"); returns the response."""
    return server.request("POST", "/v3/%s/assigned-roles" % principal_path, token=admin_token, json={
        "role_name": role_name, "entity_type_name": entity_type_name, "entity_id": entity_id,
        "entity_region": entity_region})


import threading as _threading  # noqa: E402  (helpers appended after the module's first imports)

_thread_sessions = _threading.local()


def threaded_request(server, method, path, token=None, timeout=10, **kwargs):
    """Like server.request, with one requests.Session per thread (for concurrent clients)."""
    session = getattr(_thread_sessions, "session", None)
    if session is None:
        session = _thread_sessions.session = requests.Session()
    headers = dict(kwargs.pop("headers", None) or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    return session.request(method, server.base + path, headers=headers, timeout=timeout, **kwargs)
