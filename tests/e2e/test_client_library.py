"""The C++ client library (libopenkonnect-client) against the real server: runs the
client_e2e_tests GoogleTest program (tests/client/e2e/client_e2e_test.cpp) with the servers'
URLs and tokens in its environment, and the docs/CLIENT.md example program."""
import os
import pathlib
import subprocess
import time

import pytest

from conftest import BIN
from test_tls import self_signed, write_key
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

BUILD = pathlib.Path(os.environ.get("OPENKONNECT_CLIENT_BUILD", pathlib.Path(BIN).parent))
E2E = BUILD / "client_e2e_tests"
EXAMPLE = BUILD / "client_example_create_control_plane"

pytestmark = pytest.mark.skipif(not E2E.exists(), reason="client_e2e_tests not built in %s" % BUILD)


def tls_files(directory):
    """A self-signed certificate for 127.0.0.1 and localhost, and its key: {"cert", "key"}."""
    key = ec.generate_private_key(ec.SECP256R1())
    (directory / "cert.pem").write_bytes(self_signed(key).public_bytes(serialization.Encoding.PEM))
    write_key(key, directory / "key.pem")
    return {"cert": str(directory / "cert.pem"), "key": str(directory / "key.pem")}


def test_client_library_against_the_server(start_server, tmp_path):
    # A short idle timeout, so that the client meets a keep-alive connection the server closed.
    srv = start_server("--idle-timeout-ms", "300")
    admin = srv.create_org("client-lib")
    # 3 per 3 s for the 429 test: a burst of three, then one a second, so Retry-After is short.
    limited = start_server("--rate-limit-token", "3/3", "--rate-limit-org", "0")
    limited_admin = limited.create_org("client-lib-limited")
    tls = tls_files(tmp_path)
    secure = start_server("--tls-cert", tls["cert"], "--tls-key", tls["key"], tls_ca=tls["cert"])
    secure_admin = secure.create_org("client-lib-tls")
    env = dict(os.environ,
               OPENKONNECT_CLIENT_TLS_URL=secure.base, OPENKONNECT_CLIENT_TLS_CA=tls["cert"],
               OPENKONNECT_CLIENT_TLS_TOKEN=secure_admin["token"],
               OPENKONNECT_CLIENT_URL=srv.base, OPENKONNECT_CLIENT_TOKEN=admin["token"],
               OPENKONNECT_CLIENT_LIMITED_URL=limited.base,
               OPENKONNECT_CLIENT_LIMITED_TOKEN=limited_admin["token"])
    started = time.monotonic()
    out = subprocess.run([str(E2E), "--gtest_brief=0"], env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    # Every test ran: none skipped (the environment reached it) and none failed.
    assert "[  PASSED  ] 13 tests." in out.stdout, out.stdout[-3000:]
    assert "SKIPPED" not in out.stdout, out.stdout[-3000:]
    assert elapsed < 60, elapsed

    # The server saw what the client claims: the 250 control planes and the core entities.
    resp = srv.request("GET", "/v2/control-planes", token=admin["token"],
                       params={"filter[name][contains]": "many-", "page[size]": 1})
    assert resp.status_code == 200 and resp.json()["meta"]["page"]["total"] == 250, resp.text


def test_the_docs_show_the_compiled_example_verbatim_in_ten_lines():
    root = pathlib.Path(__file__).resolve().parents[2]
    source = (root / "client/examples/create_control_plane.cpp").read_text()
    marked = source.split("// --- example ---\n")[1].split("  // --- end of example ---")[0]
    lines = [line[2:] for line in marked.rstrip("\n").split("\n")]
    assert len(lines) == 10, lines
    for doc in ("README.md", "docs/CLIENT.md"):
        assert "```cpp\n" + "\n".join(lines) + "\n```" in (root / doc).read_text(), doc


def test_docs_example_program(start_server):
    srv = start_server()
    admin = srv.create_org("client-example")
    run = lambda token, name: subprocess.run([str(EXAMPLE), srv.base, token, name],  # noqa: E731
                                             capture_output=True, text=True, timeout=30)
    created = run(admin["token"], "from-the-example")
    assert created.returncode == 0 and created.stdout.startswith("created "), created
    cp_id = created.stdout.split()[1]
    assert srv.request("GET", "/v2/control-planes/" + cp_id, token=admin["token"]).json()["name"] == "from-the-example"
    taken = run(admin["token"], "from-the-example")
    assert taken.returncode == 1 and taken.stdout == \
        "the name is taken: Control plane with name [from-the-example] already exists.\n", taken
    blank = run(admin["token"], "")
    assert blank.returncode == 1 and blank.stdout.startswith("name ("), blank
    unauthorized = run("kpat_" + "x" * 49, "x")
    assert unauthorized.stdout == "the token is invalid, expired or revoked\n", unauthorized
