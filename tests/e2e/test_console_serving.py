"""The web console served at / (serve --console-dir): its files, the single-page app's fallback
to index.html, caching, ETags and security headers; and that API paths keep their problem+json
404s, and that a server without a console answers / as before."""
import socket
import subprocess
import time

import pytest

from conftest import BIN, Server, assert_problem, free_port, raw_get

INDEX = b"<!doctype html><html><head><title>openkonnect</title></head><body><div id=app></div></body></html>"
APP_JS = b"import('./chunk-1.js');console.log('console')"
APP_CSS = b"body{margin:0}"
FAVICON = b"\x00\x00\x01\x00\x01\x00\x10\x10"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
       "frame-ancestors 'none'; form-action 'self'")
IMMUTABLE = "public, max-age=31536000, immutable"


def make_console(directory):
    (directory / "assets").mkdir(parents=True)
    (directory / "index.html").write_bytes(INDEX)
    (directory / "assets" / "app-abc123.js").write_bytes(APP_JS)
    (directory / "assets" / "app-abc123.css").write_bytes(APP_CSS)
    (directory / "favicon.ico").write_bytes(FAVICON)
    return directory


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server with a console, shared by the module."""
    console = make_console(tmp_path_factory.mktemp("console") / "dist")
    srv = Server(extra_args=["--console-dir", str(console)]).start()
    yield srv
    code = srv.stop()
    assert code == 0, "server exited with %s; stderr:\n%s" % (code, srv.stderr()[-4000:])


def assert_console_headers(resp):
    assert resp.headers["Content-Security-Policy"] == CSP
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Kong-Request-Id"]


def assert_index(resp):
    assert resp.status_code == 200, resp.text[:300]
    assert resp.content == INDEX
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["ETag"].startswith('"') and resp.headers["ETag"].endswith('"')
    assert_console_headers(resp)


@pytest.mark.parametrize("path", ["/", "/index.html", "/control-planes/x/services", "/control-planes",
                                  "/organization/teams/", "/login?next=%2Fcontrol-planes"])
def test_the_app_and_its_routes_load_index_html(server, path):
    assert_index(server.request("GET", path))


@pytest.mark.parametrize("path,content,content_type,cache", [
    ("/assets/app-abc123.js", APP_JS, "text/javascript; charset=utf-8", IMMUTABLE),
    ("/assets/app-abc123.css", APP_CSS, "text/css; charset=utf-8", IMMUTABLE),
    ("/favicon.ico", FAVICON, "image/x-icon", "no-cache"),
])
def test_files_with_their_type_and_caching(server, path, content, content_type, cache):
    resp = server.request("GET", path)
    assert resp.status_code == 200
    assert resp.content == content
    assert resp.headers["Content-Type"] == content_type
    assert resp.headers["Cache-Control"] == cache
    assert int(resp.headers["Content-Length"]) == len(content)
    assert_console_headers(resp)


def test_if_none_match_gets_304_without_a_body(server):
    first = server.request("GET", "/assets/app-abc123.js")
    etag = first.headers["ETag"]
    assert etag != server.request("GET", "/assets/app-abc123.css").headers["ETag"]
    for condition in (etag, "W/" + etag, '"nope", ' + etag, "*"):
        resp = server.request("GET", "/assets/app-abc123.js", headers={"If-None-Match": condition})
        assert resp.status_code == 304, condition
        assert resp.content == b""
        assert resp.headers["ETag"] == etag
        assert resp.headers["Cache-Control"] == IMMUTABLE
        assert_console_headers(resp)
    index_etag = server.request("GET", "/").headers["ETag"]
    resp = server.request("GET", "/control-planes/x", headers={"If-None-Match": index_etag})
    assert resp.status_code == 304
    changed = server.request("GET", "/assets/app-abc123.js", headers={"If-None-Match": '"0123456789abcdef"'})
    assert changed.status_code == 200 and changed.content == APP_JS


def test_head_sends_the_headers_only(server):
    get = server.request("GET", "/assets/app-abc123.js")
    for _ in range(2):  # on one keep-alive connection: no stray body may follow the headers
        head = server.request("HEAD", "/assets/app-abc123.js")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["Content-Length"] == str(len(APP_JS))
        assert head.headers["ETag"] == get.headers["ETag"]
        assert head.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert_console_headers(head)
    assert server.request("HEAD", "/control-planes/x").headers["Content-Length"] == str(len(INDEX))
    assert_index(server.request("GET", "/"))


def test_head_over_a_raw_connection_has_no_body(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"content-length: %d" % len(INDEX) in head.lower(), head
    assert rest.startswith(b"HTTP/1.1 200"), rest[:200]  # the next response follows at once
    assert rest.endswith(FAVICON)


@pytest.mark.parametrize("path", ["/v2/nope", "/v3/nope", "/v1/whatever", "/konnect-api/nope", "/metrics/x",
                                  "/assets/missing.js", "/missing.png", "/assets/missing"])
def test_api_paths_and_missing_files_stay_problem_json_404s(server, path):
    resp = server.request("GET", path)
    assert_problem(resp, 404)
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" not in resp.headers


@pytest.mark.parametrize("path", ["/../index.html", "/assets/../index.html", "/%2e%2e/etc/passwd",
                                  "/assets/%2E%2E/index.html", "/x/..%2f..%2fetc%2fpasswd", "/./favicon.ico"])
def test_no_path_leaves_the_directory(server, path):
    # Over a raw socket: an HTTP library would remove the dot segments before sending.
    assert_problem(raw_get(server.port, path), 404)


def test_unknown_control_plane_keeps_its_contract(server):
    assert_problem(server.request("GET", "/v2/control-planes/unknown"), 401)
    org = server.create_org("console-org")
    assert_problem(server.request("GET", "/v2/control-planes/unknown", token=org["token"]), 400)
    assert_problem(server.request("GET", "/v2/control-planes/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12,
                                  token=org["token"]), 404)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_do_not_get_the_console(server, method):
    for path in ("/", "/assets/app-abc123.js", "/control-planes/x"):
        assert_problem(server.request(method, path), 404)


def test_console_answers_are_counted_and_logged_as_console(server):
    server.request("GET", "/control-planes/metrics-check")
    metrics = server.request("GET", "/metrics").text
    assert 'openkonnect_http_requests_total{route="console",status="200"}' in metrics
    assert 'openkonnect_http_requests_total{route="console",status="304"}' in metrics
    deadline = time.time() + 3  # the access log is written asynchronously
    while time.time() < deadline:
        if any(line.get("route") == "console" and line.get("status") == 200 for line in server.access_log()):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("no access-log line with route console")
    assert "web console at / from" in server.stderr()


def test_without_a_console_the_root_is_a_404(start_server):
    srv = start_server()
    for path in ("/", "/index.html", "/control-planes/x"):
        resp = srv.request("GET", path)
        assert_problem(resp, 404)
        assert resp.headers["Cache-Control"] == "no-store"
    head = srv.request("HEAD", "/")
    assert head.status_code == 404 and head.content == b""
    assert srv.request("GET", "/healthz").status_code == 200  # the connection is still in step


@pytest.mark.parametrize("layout", ["empty", "missing", "nested"])
def test_a_directory_without_index_html_stops_the_start(tmp_path, layout):
    directory = tmp_path / "dist"
    if layout != "missing":
        (directory / "assets").mkdir(parents=True)
        (directory / "assets" / "app.js").write_bytes(APP_JS)
    if layout == "nested":
        (directory / "assets" / "index.html").write_bytes(INDEX)
    out = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:%d" % free_port(), "--cluster-listen", "off",
                          "--database", "sqlite:%s" % (tmp_path / "db.sqlite"), "--console-dir", str(directory)],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 2, "exit %d; stderr %r" % (out.returncode, out.stderr)
    assert "--console-dir" in out.stderr and str(directory) in out.stderr, out.stderr
    assert not (tmp_path / "db.sqlite").exists()  # refused before the database was touched


def test_the_environment_variable_names_the_directory(start_server, tmp_path):
    console = make_console(tmp_path / "dist")
    srv = start_server(env={"OPENKONNECT_CONSOLE_DIR": str(console)})
    assert_index(srv.request("GET", "/control-planes"))
