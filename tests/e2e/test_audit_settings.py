"""Audit Logs API v2 settings: the webhook (defaults, PATCH, every invalid field in one 400,
authorization never shown), its status, the public JWKS of Ed25519 keys, the replay job (a
window within the last 7 days, 409 while one runs), and who may see them: organization admins
and Audit Logs admins only, each organization its own settings."""
import base64
import datetime

import pytest

from conftest import (NO_RATE_LIMITS, assert_problem, execute_sql, module_server, ok, param, uniq,
                      validate_response)

server = module_server(NO_RATE_LIMITS)
SPEC = "audit-logs_v2.yaml"
NEVER = "0001-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def org(server):
    return server.create_org(uniq("audit"))


def req(server, org, method, path, **kw):
    return server.request(method, path, token=org["token"], **kw)


def rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def test_a_webhook_never_set_reads_as_konnect_s_defaults(server):
    fresh = server.create_org(uniq("audit-fresh"))
    body = ok(req(server, fresh, "GET", "/v2/audit-log-webhook"))
    assert body == {"endpoint": "", "enabled": False, "log_format": "cef", "skip_ssl_verification": False,
                    "updated_at": NEVER}
    validate_response(body, "AuditLogWebhook", SPEC)
    status = ok(req(server, fresh, "GET", "/v2/audit-log-webhook/status"))
    assert status == {"webhook_enabled": False, "webhook_status": "unconfigured", "last_attempt_at": NEVER,
                      "last_response_code": 0, "last_response_message": ""}


def test_patch_sets_the_webhook_and_never_shows_its_authorization(server, org):
    body = ok(req(server, org, "PATCH", "/v2/audit-log-webhook", json={
        "endpoint": "https://receiver.example/audit", "authorization": "Bearer secret-value",
        "log_format": "json", "enabled": True}))
    assert body["endpoint"] == "https://receiver.example/audit" and body["enabled"] is True
    assert body["log_format"] == "json" and body["skip_ssl_verification"] is False
    assert "authorization" not in body and "secret-value" not in str(body)
    assert body["updated_at"] != NEVER
    validate_response(body, "AuditLogWebhook", SPEC)
    assert ok(req(server, org, "GET", "/v2/audit-log-webhook")) == body
    status = ok(req(server, org, "GET", "/v2/audit-log-webhook/status"))
    assert status["webhook_enabled"] is True and status["webhook_status"] == "active"
    validate_response(status, "AuditLogWebhookStatus", SPEC)

    # Partial: what is not sent stays.
    body = ok(req(server, org, "PATCH", "/v2/audit-log-webhook", json={"enabled": False}))
    assert body["endpoint"] == "https://receiver.example/audit" and body["log_format"] == "json"
    assert ok(req(server, org, "GET", "/v2/audit-log-webhook/status"))["webhook_status"] == "inactive"


def test_every_invalid_field_of_a_webhook_is_listed_and_nothing_changes(server, org):
    before = ok(req(server, org, "GET", "/v2/audit-log-webhook"))
    resp = req(server, org, "PATCH", "/v2/audit-log-webhook", json={
        "endpoint": "not a url", "authorization": "", "log_format": "xml", "enabled": "yes",
        "skip_ssl_verification": 1, "colour": "red", "updated_at": "x"})
    body = assert_problem(resp, 400)
    assert param(body, "endpoint")["rule"] == "invalid"
    assert param(body, "authorization")["rule"] == "min_length"
    assert param(body, "log_format")["rule"] == "enum" and param(body, "log_format")["choices"] == ["cef", "json", "cps"]
    assert param(body, "enabled")["rule"] == "is_boolean"
    assert param(body, "skip_ssl_verification")["rule"] == "is_boolean"
    assert param(body, "colour")["rule"] == "unknown_property"
    assert param(body, "updated_at")["rule"] == "unknown_property"
    assert ok(req(server, org, "GET", "/v2/audit-log-webhook")) == before
    for url in ("ftp://files.example/x", "https://", "/relative"):
        resp = req(server, org, "PATCH", "/v2/audit-log-webhook", json={"endpoint": url})
        assert param(assert_problem(resp, 400), "endpoint")["rule"] == "invalid", url


def test_enabling_a_webhook_without_an_endpoint_is_refused(server):
    fresh = server.create_org(uniq("audit-none"))
    body = assert_problem(req(server, fresh, "PATCH", "/v2/audit-log-webhook", json={"enabled": True}), 400)
    p = param(body, "enabled")
    assert p["rule"] == "dependent_fields" and p["dependents"] == ["endpoint"]


def test_the_jwks_is_public_and_lists_ed25519_keys_that_stay(server, org):
    first = server.request("GET", "/v2/audit-log-webhook/jwks.json")
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("application/json")
    keys = first.json()["keys"]
    assert keys and all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and k["alg"] == "EdDSA" for k in keys)
    for k in keys:
        raw = base64.urlsafe_b64decode(k["x"] + "=" * (-len(k["x"]) % 4))
        assert len(raw) == 32 and len(k["kid"]) == 40, k
    validate_response(first.json(), "JWKS", SPEC)
    assert req(server, org, "GET", "/v2/audit-log-webhook/jwks.json").json() == first.json()  # one key set


def test_a_replay_job_takes_a_window_of_the_last_seven_days(server, org):
    fresh = server.create_org(uniq("audit-replay"))
    body = ok(req(server, fresh, "GET", "/v2/audit-log-replay-job"))
    assert body == {"start_at": NEVER, "end_at": NEVER, "status": "unconfigured", "updated_at": NEVER}

    start, end = rfc3339(now() - datetime.timedelta(days=2)), rfc3339(now() - datetime.timedelta(hours=1))
    body = ok(req(server, org, "PUT", "/v2/audit-log-replay-job", json={"start_at": start, "end_at": end}), 202)
    assert body["start_at"].startswith(start[:19]) and body["end_at"].startswith(end[:19])
    assert body["status"] == "accepted"
    validate_response(body, "AuditLogReplayJob", SPEC)
    assert ok(req(server, org, "GET", "/v2/audit-log-replay-job")) == body

    old = rfc3339(now() - datetime.timedelta(days=8))
    body = assert_problem(req(server, org, "PUT", "/v2/audit-log-replay-job", json={"start_at": old, "end_at": end}), 400)
    assert param(body, "start_at")["reason"] == "must be within the last 7 days"
    body = assert_problem(req(server, org, "PUT", "/v2/audit-log-replay-job", json={"start_at": end, "end_at": start}), 400)
    assert param(body, "end_at")["reason"] == "must be after start_at"
    body = assert_problem(req(server, org, "PUT", "/v2/audit-log-replay-job", json={"start_at": "yesterday"}), 400)
    assert param(body, "start_at")["rule"] == "is_date_time" and param(body, "end_at")["rule"] == "required"


def test_a_replay_job_is_not_replaced_while_it_runs(server, org):
    window = {"start_at": rfc3339(now() - datetime.timedelta(days=1)), "end_at": rfc3339(now())}
    ok(req(server, org, "PUT", "/v2/audit-log-replay-job", json=window), 202)
    # The delivery side marks a job running; here, behind the server's back.
    execute_sql(server.database, "UPDATE audit_settings SET body = "
                "'{\"start_at\":1,\"end_at\":2,\"status\":\"running\",\"updated_at\":3}' WHERE kind = 'replay_job'")
    assert_problem(req(server, org, "PUT", "/v2/audit-log-replay-job", json=window), 409,
                   "A replay job is currently running.")
    assert ok(req(server, org, "GET", "/v2/audit-log-replay-job"))["status"] == "running"


def test_only_admins_see_audit_settings_and_each_organization_its_own(server, org):
    ok(req(server, org, "PATCH", "/v2/audit-log-webhook", json={"endpoint": "https://mine.example/audit"}))
    other = server.create_org(uniq("audit-other"))
    assert ok(req(server, other, "GET", "/v2/audit-log-webhook"))["endpoint"] == ""

    # A member of the organization with no role, then one of the read-only admins.
    email = "%s@example.com" % uniq("member")
    ok(req(server, org, "POST", "/v3/invites", json={"email": email}), 201)
    user = ok(req(server, org, "GET", "/v3/users", params={"filter[email][eq]": email}))["data"][0]
    member = {"token": ok(req(server, org, "POST", "/v3/users/%s/access-tokens" % user["id"],
                                  json={"name": "audit", "ttl_seconds": 86400}), 201)["konnect_token"]}
    denied = "Insufficient permissions: role [Admin] on [Audit Logs] is required."
    for method, path, body in (("GET", "/v2/audit-log-webhook", None), ("PATCH", "/v2/audit-log-webhook", {}),
                               ("GET", "/v2/audit-log-webhook/status", None),
                               ("GET", "/v2/audit-log-replay-job", None), ("PUT", "/v2/audit-log-replay-job", {})):
        assert_problem(req(server, member, method, path, json=body), 403, denied)
    teams = ok(req(server, org, "GET", "/v3/teams", params={"page[size]": 1000}))["data"]
    read_only = next(t for t in teams if t["name"] == "Organization Admin (Read Only)")
    ok(req(server, org, "POST", "/v3/teams/%s/users" % read_only["id"], json={"id": user["id"]}), 201)
    assert_problem(req(server, member, "GET", "/v2/audit-log-webhook"), 403, denied)

    # The Audit Logs Admin role is enough.
    ok(req(server, org, "POST", "/v3/users/%s/assigned-roles" % user["id"], json={
        "role_name": "Admin", "entity_type_name": "Audit Logs", "entity_id": "*", "entity_region": "*"}), 201)
    assert ok(req(server, member, "GET", "/v2/audit-log-webhook"))["endpoint"] == "https://mine.example/audit"
    assert_problem(server.request("GET", "/v2/audit-log-webhook"), 401)
