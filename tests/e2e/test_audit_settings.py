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


def assert_enabled(status):
    """The status of a webhook just enabled: active; or, when delivery already tried its
    endpoint (a name that does not resolve here) and failed, inactive with that attempt shown.
    Which one a request right after the PATCH reads depends on the delivery loop's timing."""
    assert status["webhook_enabled"] is True, status
    if status["webhook_status"] == "inactive":
        assert status["last_attempt_at"] != NEVER, status
    else:
        assert status["webhook_status"] == "active", status


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
    assert_enabled(status)
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
                               ("GET", "/v2/audit-log-replay-job", None), ("PUT", "/v2/audit-log-replay-job", {}),
                               ("GET", "/v2/audit-log-destinations", None),
                               ("POST", "/v2/audit-log-destinations", {})):
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


# --- destinations

def destination(name, **extra):
    return dict({"name": name, "endpoint": "https://siem.example/" + name, "log_format": "json",
                 "authorization": "Bearer " + name}, **extra)


def test_a_destination_is_created_read_changed_and_deleted(server):
    acme = server.create_org(uniq("dest"))
    made = ok(req(server, acme, "POST", "/v2/audit-log-destinations", json=destination("siem")), 201)
    validate_response(made, "AuditLogDestinationSingle", SPEC)
    assert made["name"] == "siem" and made["log_format"] == "json" and made["skip_ssl_verification"] is False
    assert "authorization" not in made and "Bearer siem" not in str(made)
    path = "/v2/audit-log-destinations/" + made["id"]
    assert ok(req(server, acme, "GET", path)) == made

    changed = ok(req(server, acme, "PATCH", path, json={"log_format": "cef", "skip_ssl_verification": True}))
    assert changed["log_format"] == "cef" and changed["skip_ssl_verification"] is True
    assert changed["name"] == "siem" and changed["endpoint"] == made["endpoint"]
    assert changed["created_at"] == made["created_at"]
    validate_response(changed, "AuditLogDestinationSingle", SPEC)

    # Another organization cannot tell it exists.
    other = server.create_org(uniq("dest-other"))
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        assert_problem(req(server, other, method, path, json=body), 404)
    assert ok(req(server, other, "GET", "/v2/audit-log-destinations"))["data"] == []

    ok(req(server, acme, "DELETE", path), 204)
    assert_problem(req(server, acme, "GET", path), 404)
    assert_problem(req(server, acme, "DELETE", path), 404)
    assert_problem(req(server, acme, "GET", "/v2/audit-log-destinations/not-a-uuid"), 400)


def test_every_invalid_field_of_a_destination_is_listed(server):
    acme = server.create_org(uniq("dest-invalid"))
    body = assert_problem(req(server, acme, "POST", "/v2/audit-log-destinations", json={}), 400)
    for field in ("name", "endpoint", "log_format", "authorization"):
        assert param(body, field)["rule"] == "required"
    body = assert_problem(req(server, acme, "POST", "/v2/audit-log-destinations", json={
        "name": "", "endpoint": "ftp://x", "log_format": "xml", "authorization": "", "skip_ssl_verification": "no",
        "id": "mine"}), 400)
    assert param(body, "name")["rule"] == "min_length"
    assert param(body, "endpoint")["rule"] == "invalid"
    assert param(body, "log_format")["rule"] == "enum" and param(body, "log_format")["choices"] == ["cef", "json", "cps"]
    assert param(body, "authorization")["rule"] == "min_length"
    assert param(body, "skip_ssl_verification")["rule"] == "is_boolean"
    assert param(body, "id")["rule"] == "unknown_property"
    assert ok(req(server, acme, "GET", "/v2/audit-log-destinations"))["data"] == []
    made = ok(req(server, acme, "POST", "/v2/audit-log-destinations", json=destination("a")), 201)
    body = assert_problem(req(server, acme, "PATCH", "/v2/audit-log-destinations/" + made["id"],
                              json={"endpoint": "not a url"}), 400)
    assert param(body, "endpoint")["rule"] == "invalid"


def test_names_are_unique_and_a_destination_in_use_is_not_deleted(server):
    acme = server.create_org(uniq("dest-conflict"))
    first = ok(req(server, acme, "POST", "/v2/audit-log-destinations", json=destination("one")), 201)
    second = ok(req(server, acme, "POST", "/v2/audit-log-destinations", json=destination("two")), 201)
    assert_problem(req(server, acme, "POST", "/v2/audit-log-destinations", json=destination("one")), 409)
    assert_problem(req(server, acme, "PATCH", "/v2/audit-log-destinations/" + second["id"], json={"name": "one"}), 409)
    # Renaming to its own name is no conflict.
    ok(req(server, acme, "PATCH", "/v2/audit-log-destinations/" + first["id"], json={"name": "one"}))

    # The webhook points at it (Audit Logs v3's audit_log_destination_id).
    webhook = ok(req(server, acme, "PATCH", "/v2/audit-log-webhook",
                     json={"audit_log_destination_id": first["id"], "enabled": True}))
    assert webhook["audit_log_destination_id"] == first["id"] and webhook["enabled"] is True
    assert_enabled(ok(req(server, acme, "GET", "/v2/audit-log-webhook/status")))
    assert_problem(req(server, acme, "DELETE", "/v2/audit-log-destinations/" + first["id"]), 409)
    body = assert_problem(req(server, acme, "PATCH", "/v2/audit-log-webhook",
                              json={"audit_log_destination_id": "00000000-0000-4000-8000-000000000000"}), 400)
    assert param(body, "audit_log_destination_id")["rule"] == "missing_reference"
    body = assert_problem(req(server, acme, "PATCH", "/v2/audit-log-webhook",
                              json={"audit_log_destination_id": "nope"}), 400)
    assert param(body, "audit_log_destination_id")["rule"] == "is_uuid"
    # Pointed elsewhere (null removes the pointer), it can go.
    ok(req(server, acme, "PATCH", "/v2/audit-log-webhook", json={"audit_log_destination_id": None, "enabled": False}))
    ok(req(server, acme, "DELETE", "/v2/audit-log-destinations/" + first["id"]), 204)


def test_destinations_are_paged_with_cursors_and_filtered_by_name(server):
    acme = server.create_org(uniq("dest-pages"))
    names = ["dest-%02d" % i for i in range(25)] + ["other"]
    for name in names:
        ok(req(server, acme, "POST", "/v2/audit-log-destinations", json=destination(name)), 201)
    seen, page = [], ok(req(server, acme, "GET", "/v2/audit-log-destinations", params={"page[size]": 10}))
    assert page["meta"]["previous"] is None and page["meta"]["size"] == 10
    validate_response(page, "AuditLogDestinationCollection", SPEC)
    pages = [page]
    while True:
        seen += [d["name"] for d in page["data"]]
        if page["meta"]["next"] is None:
            break
        page = ok(req(server, acme, "GET", page["meta"]["next"]))
        pages.append(page)
    assert seen == names and len(pages) == 3
    back = ok(req(server, acme, "GET", pages[2]["meta"]["previous"]))
    assert back["data"] == pages[1]["data"]

    filtered = ok(req(server, acme, "GET", "/v2/audit-log-destinations", params={"filter[name][contains]": "dest-1"}))
    assert [d["name"] for d in filtered["data"]] == ["dest-%02d" % i for i in range(10, 20)]
    exact = ok(req(server, acme, "GET", "/v2/audit-log-destinations", params={"filter[name]": "other"}))
    assert [d["name"] for d in exact["data"]] == ["other"]

    body = assert_problem(req(server, acme, "GET", "/v2/audit-log-destinations", params={
        "page[size]": 0, "page[after]": "!!", "filter[endpoint]": "x"}), 400)
    assert param(body, "page[size]")["rule"] == "min"
    assert param(body, "page[after]")["rule"] == "invalid"
    assert param(body, "filter[endpoint]")["rule"] == "invalid"
