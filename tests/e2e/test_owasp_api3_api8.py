"""OWASP API3 (object property level authorization) and API8 (security misconfiguration)."""
import json
import re
import time

import pytest

from conftest import assert_problem, execute_sql, param


def make_user_with_token(server, admin_token, email):
    assert server.request("POST", "/v3/invites", token=admin_token, json={"email": email}).status_code == 201
    user = server.request("GET", "/v3/users", token=admin_token, params={"filter[email][eq]": email}).json()["data"][0]
    created = server.request("POST", "/v3/users/%s/access-tokens" % user["id"], token=admin_token,
                             json={"name": "api3", "ttl_seconds": 86400})
    assert created.status_code == 201, created.text
    return user, created.json()


# --- API3: read-only properties are refused, secrets never come back ----------------------

READ_ONLY_CASES = [
    ("POST", "/v2/control-planes", {"name": "ro-cp"}),
    ("POST", "/v3/teams", {"name": "ro-team"}),
    ("POST", "/v3/system-accounts", {"name": "ro-sa", "description": "d"}),
]


@pytest.mark.parametrize("method,path,valid", READ_ONLY_CASES, ids=[c[1] for c in READ_ONLY_CASES])
@pytest.mark.parametrize("key,value", [("id", "7f9fd312-a987-4628-b4c5-bb4f4fddd5f7"),
                                       ("created_at", "2022-01-01T00:00:00Z"),
                                       ("updated_at", "2022-01-01T00:00:00Z")])
def test_read_only_keys_in_create_bodies_are_refused(server, org, method, path, valid, key, value):
    body = dict(valid, **{key: value})
    resp = server.request(method, path, token=org["token"], json=body)
    p = param(assert_problem(resp, 400), key)
    assert p["rule"] == "unknown_property"


def test_read_only_keys_in_update_bodies_are_refused(server, org):
    tok = org["token"]
    cp = server.request("POST", "/v2/control-planes", token=tok, json={"name": "ro-upd"}).json()
    team = server.request("POST", "/v3/teams", token=tok, json={"name": "ro-upd"}).json()
    sa = server.request("POST", "/v3/system-accounts", token=tok, json={"name": "ro-upd", "description": "d"}).json()
    me = server.request("GET", "/v3/users/me", token=tok).json()
    cases = [("/v2/control-planes/" + cp["id"], ["id", "created_at", "config", "cluster_type", "cloud_gateway"]),
             ("/v3/teams/" + team["id"], ["id", "created_at", "system_team"]),
             ("/v3/system-accounts/" + sa["id"], ["id", "created_at", "konnect_managed"]),
             ("/v3/users/" + me["id"], ["id", "email", "active", "created_at"])]
    for path, keys in cases:
        for key in keys:
            resp = server.request("PATCH", path, token=tok, json={key: "x"})
            assert param(assert_problem(resp, 400), key)["rule"] == "unknown_property", (path, key)
    # and nothing changed
    assert server.request("GET", "/v3/users/" + me["id"], token=tok).json()["email"] == me["email"]


def walk_keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from walk_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_keys(v)


def test_no_secret_or_hash_in_any_read(server, org):
    tok = org["token"]
    user, pat = make_user_with_token(server, tok, "api3-secret@example.com")
    sa = server.request("POST", "/v3/system-accounts", token=tok, json={"name": "api3-sa", "description": "d"}).json()
    spat = server.request("POST", "/v3/system-accounts/%s/access-tokens" % sa["id"], token=tok,
                          json={"name": "t", "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                          time.gmtime(time.time() + 86400))}).json()
    secrets = [org["token"], pat["konnect_token"], spat["token"]]
    reads = ["/v3/users", "/v3/users/me", "/v3/users/" + user["id"], "/v3/users/%s/access-tokens" % user["id"],
             "/v3/users/%s/access-tokens/%s" % (user["id"], pat["id"]), "/v3/system-accounts",
             "/v3/system-accounts/" + sa["id"], "/v3/system-accounts/%s/access-tokens" % sa["id"],
             "/v3/system-accounts/%s/access-tokens/%s" % (sa["id"], spat["id"]), "/v3/teams", "/v3/organizations/me",
             "/v3/roles", "/v2/control-planes"]
    forbidden_keys = {"token", "konnect_token", "token_hash", "hash", "secret", "password"}
    for path in reads:
        resp = server.request("GET", path, token=tok)
        assert resp.status_code == 200, (path, resp.text)
        for secret in secrets:
            assert secret not in resp.text, path
        assert not (set(walk_keys(resp.json())) & forbidden_keys), (path, resp.json())
        # a SHA-256 hex digest would be a 64-character hex string
        assert not re.search(r"\b[0-9a-f]{64}\b", resp.text), path
    # revoking returns the token without its secret
    revoked = server.request("PATCH", "/v3/users/%s/access-tokens/%s/revoke" % (user["id"], pat["id"]), token=tok)
    assert revoked.status_code == 200 and "konnect_token" not in revoked.json()


# --- API8: no internals in 500s, security headers everywhere ------------------------------

def test_security_headers_on_api_responses(server, org):
    for method, path, token in [("GET", "/v2/control-planes", org["token"]), ("GET", "/v2/nope", None),
                                ("GET", "/v3/users/me", None), ("GET", "/healthz", None)]:
        resp = server.request(method, path, token=token)
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", path
        assert resp.headers.get("Cache-Control") == "no-store", path


def test_500_carries_no_internals_and_its_trace_id_is_logged(start_server):
    srv = start_server()
    org = srv.create_org("api8")
    cp = srv.request("POST", "/v2/control-planes", token=org["token"], json={"name": "corrupt-me"}).json()
    # Damage the stored row behind the server's back (a fault injection through the real
    # database): its labels column no longer holds JSON.
    execute_sql(srv.database, "UPDATE control_planes SET labels = 'not json {' WHERE id = ?", cp["id"])
    resp = srv.request("GET", "/v2/control-planes/" + cp["id"], token=org["token"])
    body = assert_problem(resp, 500)
    text = json.dumps(body).lower()
    for leak in ("sqlite", "json", "labels", "parse", "exception", "select", "boost", "what()", "line"):
        assert leak not in text, (leak, body)
    trace = body["instance"].split(":")[-1]
    deadline = time.time() + 5
    while time.time() < deadline and trace not in srv.stderr():
        time.sleep(0.05)
    lines = [json.loads(l) for l in srv.stderr().splitlines() if trace in l]
    assert lines and lines[0]["level"] == "error" and lines[0]["trace_id"] == trace
    assert lines[0].get("detail"), "the log line should carry the cause"
