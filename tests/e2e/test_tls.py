"""TLS on the API listener (`serve --tls-cert/--tls-key`): tokens over https, TLS 1.2 and 1.3
only with forward-secret AEAD ciphers, plain HTTP on the TLS port closed unanswered, the
transport limits and timeouts unchanged, and clear start-up errors for unusable files.

Certificates and keys are made per run with python3-cryptography, in a temporary directory."""
import datetime
import ipaddress
import signal
import socket
import ssl
import subprocess
import time
import warnings

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import (RawConnection, Server, assert_problem, closed_within, hold_served_connections, ok, raw_request, uniq)

READ_TIMEOUT_MS = 1500


def write_key(key, path):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def self_signed(key):
    """A certificate for 127.0.0.1 and localhost, valid for a day."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openkonnect e2e")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """{"cert", "key", "other_key"}: paths of a self-signed certificate, its key, and a key of
    nothing."""
    d = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    (d / "cert.pem").write_bytes(self_signed(key).public_bytes(serialization.Encoding.PEM))
    write_key(key, d / "key.pem")
    write_key(ec.generate_private_key(ec.SECP256R1()), d / "other_key.pem")
    return {name: str(d / (name + ".pem")) for name in ("cert", "key", "other_key")}


def tls_args(files, *extra):
    return ("--tls-cert", files["cert"], "--tls-key", files["key"], *extra)


@pytest.fixture(scope="module")
def server(tls_files):
    """One TLS server for the module, with a short read timeout and a small body limit."""
    srv = Server(tls_args(tls_files, "--read-timeout-ms", str(READ_TIMEOUT_MS), "--max-body-bytes", "16384"),
                 tls_ca=tls_files["cert"]).start()
    yield srv
    code = srv.stop()
    assert code == 0, "server exited with %s; stderr:\n%s" % (code, srv.stderr()[-4000:])


def client_context(ca, version=None, ciphers=None):
    """A client context that verifies `ca`; `version` pins one TLS version. OpenSSL 3 refuses
    TLS 1.0/1.1 on the client side at its default security level, so pinning an old version
    lowers it: the refusal must then come from the server."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if version is not None:
        with warnings.catch_warnings():  # setting TLS 1.0/1.1 is deprecated: here that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = version
        if version < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class TlsConnection(RawConnection):
    """RawConnection (conftest) over TLS: the same request bytes and response reading."""

    def __init__(self, port, ca, timeout=5.0, version=None, ciphers=None):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            self.sock = client_context(ca, version, ciphers).wrap_socket(raw, server_hostname="127.0.0.1")
        except BaseException:
            raw.close()
            raise
        self.buf = b""
        self.reset = False


def tls_get(server, path="/healthz", **kwargs):
    with TlsConnection(server.port, server.tls_ca, **kwargs) as conn:
        conn.send(raw_request("GET", path, headers=["Connection: close"]))
        return conn.read_response(), conn.sock.version(), conn.sock.cipher()


# --- authenticated API calls over https ------------------------------------------------------


def test_no_token_is_a_problem_json_401_over_https(server):
    assert server.base.startswith("https://")
    assert_problem(server.request("GET", "/v3/users/me"), 401)


def test_token_authenticates_over_https(server):
    org = server.create_org(uniq("tls-org-"))
    me = ok(server.request("GET", "/v3/users/me", token=org["token"]))
    assert me["id"] == org["user_id"]
    cp = ok(server.request("POST", "/v2/control-planes", token=org["token"], json={"name": uniq("tls-cp-")}), 201)
    assert ok(server.request("GET", "/v2/control-planes/" + cp["id"], token=org["token"]))["id"] == cp["id"]


def test_certificate_is_verified_by_the_client(server):
    # The client trusts only the system's CAs: the self-signed certificate must fail, which shows
    # the successful calls above really verified it.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.base + "/healthz", timeout=5, verify=True)


# --- versions and ciphers ----------------------------------------------------------------------


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["TLSv1.0", "TLSv1.1"])
def test_old_tls_versions_are_refused_by_the_server(server, version):
    with pytest.raises(ssl.SSLError) as refused:
        TlsConnection(server.port, server.tls_ca, version=version)
    # The server's protocol_version alert, not a client that never offered the version.
    assert "ALERT_PROTOCOL_VERSION" in str(refused.value) or "alert protocol version" in str(refused.value), \
        refused.value


@pytest.mark.parametrize("version,name", [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")])
def test_tls_1_2_and_1_3_serve_requests(server, version, name):
    resp, negotiated, cipher = tls_get(server, version=version)
    assert resp is not None and resp.status_code == 200, resp
    assert negotiated == name
    if name == "TLSv1.2":
        assert cipher[0].startswith("ECDHE-") and ("GCM" in cipher[0] or "CHACHA20" in cipher[0]), cipher


def test_tls_1_2_without_forward_secrecy_or_aead_is_refused(server):
    # CBC with ECDHE (not AEAD), and AES-GCM with static RSA key exchange (not forward secret).
    for cipher in ("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256:AES256-GCM-SHA384"):
        with pytest.raises(ssl.SSLError):
            TlsConnection(server.port, server.tls_ca, version=ssl.TLSVersion.TLSv1_2, ciphers=cipher)
    resp, _, _ = tls_get(server)
    assert resp.status_code == 200


def test_large_answers_are_not_held_back(server):
    # An answer larger than one TLS record (16 KiB) takes several writes; with Nagle's algorithm
    # on, the last one waited for the client's delayed ACK (40 ms) on every request.
    org = server.create_org(uniq("tls-big-"))
    labels = {"k%02d-%s" % (i, "a" * 58): "v" * 63 for i in range(50)}
    for _ in range(10):
        ok(server.request("POST", "/v2/control-planes", token=org["token"],
                          json={"name": uniq("tls-big-"), "labels": labels}), 201)
    took = {}  # request id -> seconds from sending to the whole answer read
    with TlsConnection(server.port, server.tls_ca) as conn:
        for _ in range(9):
            started = time.monotonic()
            conn.send(raw_request("GET", "/v2/control-planes?page%5Bsize%5D=10", token=org["token"]))
            resp = conn.read_response()
            took[resp.headers["X-Kong-Request-Id"]] = time.monotonic() - started
            assert resp.status_code == 200 and len(resp.content) > 60000, (resp.status_code, len(resp.content))
    # What the transport added: the time seen here less the server's own (its access log), so
    # that a slow build (the sanitizers) or a busy database does not count, a held-back record
    # (40 ms and more on every request) does.
    logged = server.access_lines(took)
    assert logged.keys() == took.keys(), "access lines missing for %s" % (took.keys() - logged.keys())
    added = sorted(took[rid] - logged[rid][0]["duration_ms"] / 1000.0 for rid in took)
    median = added[len(added) // 2]
    assert median < 0.03, "the transport added a median %.1f ms: %s" % (
        median * 1000, ["%.1f" % (a * 1000) for a in added])


# --- what is not TLS ---------------------------------------------------------------------------


def test_plain_http_on_the_tls_port_gets_no_http_answer(server):
    with RawConnection(server.port, timeout=10) as conn:
        conn.send(raw_request("GET", "/healthz", headers=["Connection: close"]))
        started = time.monotonic()
        conn.read_until_eof()
        assert time.monotonic() - started < READ_TIMEOUT_MS / 1000, "closed by the timeout, not the failed handshake"
        assert not conn.buf.startswith(b"HTTP/"), conn.buf[:200]
    resp, _, _ = tls_get(server)
    assert resp.status_code == 200


def test_requests_speaking_http_to_the_tls_port_fail_and_the_server_keeps_serving(server):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://127.0.0.1:%d/healthz" % server.port, timeout=5)
    assert server.request("GET", "/healthz").status_code == 200


def test_silent_client_is_disconnected_after_the_read_timeout(server):
    with RawConnection(server.port) as conn:
        took = closed_within(conn, READ_TIMEOUT_MS / 1000 + 8)
    assert took is not None, "a client that sends nothing was still connected"
    assert took >= READ_TIMEOUT_MS / 1000 * 0.8, "closed after %.2fs, before the read timeout" % took
    assert server.request("GET", "/healthz").status_code == 200


# --- the transport limits on TLS ---------------------------------------------------------------


def test_keep_alive_serves_several_requests_on_one_tls_connection(server):
    with TlsConnection(server.port, server.tls_ca) as conn:
        for _ in range(3):
            conn.send(raw_request("GET", "/healthz"))
            assert conn.read_response().status_code == 200


def test_oversized_header_is_431_over_tls(server):
    with TlsConnection(server.port, server.tls_ca) as conn:
        conn.send(raw_request("GET", "/healthz", headers=["X-Big: " + "a" * 20000]))
        assert_problem(conn.read_response(), 431)
        assert closed_within(conn, 5) is not None


def test_oversized_body_is_413_over_tls_and_the_connection_ends(server):
    with TlsConnection(server.port, server.tls_ca) as conn:
        conn.send(raw_request("POST", "/v2/control-planes", body=b"{" + b" " * 20000 + b"}"))
        assert_problem(conn.read_response(), 413)
        assert closed_within(conn, 5) is not None


def test_upload_still_in_flight_gets_its_413_over_tls(server):
    # The server answers once it has the header and closes with close_notify; this client sends
    # its whole 4 MiB (more than the socket buffers hold) before reading. OpenSSL stops waiting
    # for the client's close_notify at the first record of the rest of the upload, so the server
    # must keep reading (the linger) rather than close: a close with unread data resets the
    # connection, which fails this send and can destroy the answer.
    with TlsConnection(server.port, server.tls_ca, timeout=10) as conn:
        conn.send(raw_request("POST", "/v2/control-planes", body=b"{" + b" " * (4 * 1024 * 1024) + b"}"))
        assert_problem(conn.read_response(), 413)
        assert closed_within(conn, 5) is not None


def test_max_connections_applies_to_tls(start_server, tls_files):
    srv = start_server(*tls_args(tls_files, "--max-connections", "2"), tls_ca=tls_files["cert"])
    held = hold_served_connections(lambda: TlsConnection(srv.port, srv.tls_ca), 2)  # both served, so counted
    try:
        # A third is closed at accept, so its handshake cannot complete (a hang would time out,
        # which is not caught here).
        try:
            TlsConnection(srv.port, srv.tls_ca, timeout=5).close()
        except (ssl.SSLError, ConnectionError):
            pass
        else:
            pytest.fail("a TLS connection beyond --max-connections was served")
    finally:
        held.pop().close()
    deadline = time.monotonic() + 5
    while True:
        try:
            resp, _, _ = tls_get(srv)
            if resp is not None:
                break
        except (ssl.SSLError, OSError):
            pass
        assert time.monotonic() < deadline, "the freed slot was not reused"
        time.sleep(0.05)
    assert resp.status_code == 200
    held.pop().close()


def test_sigterm_closes_idle_and_handshaking_tls_connections_and_exits_0(tls_files):
    srv = Server(tls_args(tls_files, "--shutdown-grace-ms", "8000"), tls_ca=tls_files["cert"]).start()
    try:
        idle = TlsConnection(srv.port, srv.tls_ca)
        idle.send(raw_request("GET", "/healthz"))
        assert idle.read_response().status_code == 200
        handshaking = RawConnection(srv.port)  # connected, no ClientHello yet
        time.sleep(0.2)
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=10) == 0, srv.stderr()[-2000:]
        assert time.monotonic() - started < 6, "shutdown waited for idle connections (grace 8 s)"
        idle.close()
        handshaking.close()
    finally:
        srv.kill()


def test_env_variables_enable_tls(start_server, tls_files):
    srv = start_server(env={"OPENKONNECT_TLS_CERT": tls_files["cert"], "OPENKONNECT_TLS_KEY": tls_files["key"]},
                       tls_ca=tls_files["cert"])
    assert srv.request("GET", "/healthz").status_code == 200
    assert "listening on https://127.0.0.1:%d" % srv.port in srv.stderr()


# --- start-up errors -----------------------------------------------------------------------------


def serve(*args, env=None):
    """Runs `openkonnect serve ARGS` on a free port and a scratch database; it must exit."""
    srv = Server(args, env=env)
    out = subprocess.run(srv.args, capture_output=True, text=True, timeout=30, env=srv.env)
    return out


def assert_clean_failure(out, *expected):
    assert out.returncode != 0, out
    for text in expected:
        assert text in out.stderr, out.stderr
    for leak in ("PRIVATE KEY", "terminate called", "Traceback", "Aborted", "what():"):
        assert leak not in out.stderr, out.stderr
    assert out.returncode > 0, "killed by signal %d" % -out.returncode


def test_cert_without_key_is_a_usage_error(tls_files):
    out = serve("--tls-cert", tls_files["cert"])
    assert_clean_failure(out, "--tls-key")
    assert out.returncode == 2


def test_key_without_cert_is_a_usage_error(tls_files):
    out = serve("--tls-key", tls_files["key"])
    assert_clean_failure(out, "--tls-cert")
    assert out.returncode == 2


def test_missing_key_file_is_a_clear_startup_error(tls_files, tmp_path):
    missing = str(tmp_path / "no-such-key.pem")
    out = serve("--tls-cert", tls_files["cert"], "--tls-key", missing)
    assert_clean_failure(out, "cannot read " + missing, "No such file")


def test_mismatched_key_is_a_clear_startup_error(tls_files):
    out = serve("--tls-cert", tls_files["cert"], "--tls-key", tls_files["other_key"])
    assert_clean_failure(out, "does not match the certificate", tls_files["other_key"])


def test_key_given_as_certificate_is_a_clear_startup_error(tls_files):
    out = serve("--tls-cert", tls_files["key"], "--tls-key", tls_files["key"])
    assert_clean_failure(out, "no usable PEM certificate")
