"""Identity API v3 end to end: every route's success answer against the spec's response
schema, the errors each route can give (400 with exact rule names, 401, 403, 404, 409), the
order of checks, filters and paging, and the life cycle of tokens (use, revoke, delete,
expiry) with their secrets kept out of every read and every log line."""
import concurrent.futures
import time

import pytest
import requests

from conftest import (IDENTITY_ROUTES, NO_RATE_LIMITS, assert_problem, module_server, ok, param, rfc3339_in, rnd,
                      route_params, uniq, valid_body, validate_response)

SECRETS = []  # every token secret this module saw; none may leak into reads or logs

IDENTITY_403 = "Insufficient permissions: role [Admin] on [Identity] is required."
SYSTEM_TEAMS = {"Organization Admin", "Organization Admin (Read Only)", "Control Plane Admin", "API Product Admin",
                "API Product Developer", "Portal Admin", "Analytics Admin", "Analytics Viewer"}


# --- builders ------------------------------------------------------------------------------


def invite(server, token, email=None, full_name="Invited User"):
    """Invites a user and returns it (as listed), named full_name unless that is None."""
    email = email or "%s@example.com" % uniq("user")
    resp = server.request("POST", "/v3/invites", token=token, json={"email": email})
    assert resp.status_code == 201 and resp.content == b"", (resp.status_code, resp.text)
    users = ok(server.request("GET", "/v3/users", token=token, params={"filter[email][eq]": email}))["data"]
    assert len(users) == 1, users
    user = users[0]
    if full_name:
        user = ok(server.request("PATCH", "/v3/users/" + user["id"], token=token, json={"full_name": full_name}))
    return user


def new_pat(server, token, user_id, name=None, ttl=86400, **extra):
    body = {"name": name or uniq("pat"), **({"ttl_seconds": ttl} if ttl is not None else {}), **extra}
    created = ok(server.request("POST", "/v3/users/%s/access-tokens" % user_id, token=token, json=body), 201)
    SECRETS.append(created["konnect_token"])
    return created


def new_team(server, token, **body):
    body.setdefault("name", uniq("team "))
    return ok(server.request("POST", "/v3/teams", token=token, json=body), 201)


def new_sa(server, token, name=None):
    return ok(server.request("POST", "/v3/system-accounts", token=token,
                             json={"name": name or uniq("sa-"), "description": "a robot"}), 201)


def new_spat(server, token, account_id, name=None, expires_in=3600):
    created = ok(server.request("POST", "/v3/system-accounts/%s/access-tokens" % account_id, token=token,
                                json={"name": name or uniq("spat-"), "expires_at": rfc3339_in(expires_in)}), 201)
    SECRETS.append(created["token"])
    return created


def assign(server, token, kind_path, role="Viewer", entity_type="Control Planes", entity_id="*", region="*"):
    return server.request("POST", "/v3/%s/assigned-roles" % kind_path, token=token,
                          json={"role_name": role, "entity_type_name": entity_type, "entity_id": entity_id,
                                "entity_region": region})


def system_team(server, token, name):
    teams = ok(server.request("GET", "/v3/teams", token=token, params={"filter[name][eq]": name}))["data"]
    found = [t for t in teams if t["system_team"] and t["name"] == name]
    assert len(found) == 1, teams
    return found[0]


def validate_role(body, name):
    """AssignedRole* schemas declare entity_id `format: uuid`; the house choice (FACTS e.7)
    accepts and returns "*" for "every entity of the type", so "*" is exempt from that format."""
    def exempt(role):
        return dict(role, entity_id="00000000-0000-4000-8000-000000000000") if role.get("entity_id") == "*" else role
    copy = dict(body, data=[exempt(r) for r in body["data"]]) if "data" in body else exempt(body)
    validate_response(copy, name)
    return body


# --- fixtures ------------------------------------------------------------------------------


# This module's server, with rate limits off: it invites many users and sends many bad tokens on purpose.
server = module_server(NO_RATE_LIMITS)


@pytest.fixture(scope="module")
def admin(server, org):
    """The organization's first admin, named (user lists then hold named users only; the
    unnamed case has its own test)."""
    SECRETS.append(org["token"])
    ok(server.request("PATCH", "/v3/users/" + org["user_id"], token=org["token"], json={"full_name": "First Admin"}))
    return org


@pytest.fixture(scope="module")
def plain(server, admin):
    """An invited user without any role, holding a PAT the admin created for them."""
    user = invite(server, admin["token"], full_name="Plain User")
    pat = new_pat(server, admin["token"], user["id"])
    return {"user": user, "token": pat["konnect_token"], "pat": pat}


@pytest.fixture(scope="module")
def world(server, admin):
    """One of each resource, for the 404/403/400 sweeps."""
    tok = admin["token"]
    user = invite(server, tok, full_name="World User")
    pat = new_pat(server, tok, user["id"])
    team = new_team(server, tok)
    ok(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={"id": user["id"]}), 201)
    sa = new_sa(server, tok)
    spat = new_spat(server, tok, sa["id"])
    ok(server.request("POST", "/v3/teams/%s/system-accounts" % team["id"], token=tok, json={"id": sa["id"]}), 201)
    roles = {kind: ok(assign(server, tok, "%s/%s" % (kind, ident)), 201)
             for kind, ident in (("users", user["id"]), ("teams", team["id"]), ("system-accounts", sa["id"]))}
    return {"user": user, "pat": pat, "team": team, "sa": sa, "spat": spat, "roles": roles}


# --- success answers against the spec ------------------------------------------------------


def test_me_and_my_organization(server, admin):
    me = validate_response(ok(server.request("GET", "/v3/users/me", token=admin["token"])), "UserSingle")
    assert me["id"] == admin["user_id"] and me["active"] is True and me["full_name"] == "First Admin"
    o = validate_response(ok(server.request("GET", "/v3/organizations/me", token=admin["token"])), "MeOrganization")
    assert o["id"] == admin["organization_id"] and o["owner_id"] == admin["user_id"]
    assert o["state"] == "active" and o["name"].startswith("org-") and o["login_path"] == ""


def test_users_without_a_name_still_match_the_user_schema(server):
    """The spec's User.full_name has pattern ^[\\w \\W]+$ (at least one character): a user
    whose name was never set must not be sent with full_name ""."""
    fresh = server.create_org(uniq("unnamed"))
    SECRETS.append(fresh["token"])
    me = ok(server.request("GET", "/v3/users/me", token=fresh["token"]))
    validate_response(me, "UserSingle")
    invited = invite(server, fresh["token"], full_name=None)
    validate_response(ok(server.request("GET", "/v3/users/" + invited["id"], token=fresh["token"])), "UserSingle")


def test_invite_creates_a_pending_user_that_a_token_activates(server, admin):
    tok = admin["token"]
    email = "%s@example.com" % uniq("pending")
    user = invite(server, tok, email, full_name=None)
    assert user["email"] == email and user["active"] is False
    # a pending user gets a fresh invitation
    resp = server.request("POST", "/v3/invites", token=tok, json={"email": email})
    assert resp.status_code == 201 and resp.content == b""
    new_pat(server, tok, user["id"])
    assert ok(server.request("GET", "/v3/users/" + user["id"], token=tok))["active"] is True
    # an active user is a conflict
    body = assert_problem(server.request("POST", "/v3/invites", token=tok, json={"email": email}), 409)
    assert email in body["detail"]
    listed = ok(server.request("GET", "/v3/users", token=tok, params={"filter[email][eq]": email}))
    assert len(listed["data"]) == 1


def test_reinvite_with_a_differently_cased_domain_is_the_same_user(server, admin):
    """Domain names are case-insensitive (RFC 5321 2.4): user@EXAMPLE.COM is the mailbox of
    the active user@example.com, so its invitation is the same 409, not a second user."""
    tok = admin["token"]
    local = uniq("casey")
    user = invite(server, tok, local + "@example.com")
    new_pat(server, tok, user["id"])
    body = assert_problem(server.request("POST", "/v3/invites", token=tok,
                                         json={"email": local + "@EXAMPLE.COM"}), 409)
    assert "already active" in body["detail"]
    listed = ok(server.request("GET", "/v3/users", token=tok, params={"filter[email][contains]": local}))
    assert [u["id"] for u in listed["data"]] == [user["id"]]


def test_user_read_update_list_delete(server, admin):
    tok = admin["token"]
    user = invite(server, tok, full_name="Ann Example")
    got = validate_response(ok(server.request("GET", "/v3/users/" + user["id"], token=tok)), "UserSingle")
    assert got["full_name"] == "Ann Example"
    patched = ok(server.request("PATCH", "/v3/users/" + user["id"], token=tok,
                                json={"full_name": "Ann B. Example", "preferred_name": "Annie"}))
    validate_response(patched, "UserSingle")
    assert (patched["full_name"], patched["preferred_name"], patched["email"]) == \
        ("Ann B. Example", "Annie", user["email"])
    assert patched["updated_at"] >= got["updated_at"]
    assert ok(server.request("GET", "/v3/users/" + user["id"], token=tok)) == patched
    listed = validate_response(ok(server.request("GET", "/v3/users", token=tok)), "UserCollection")
    assert user["id"] in {u["id"] for u in listed["data"]}
    assert listed["meta"]["page"] == {"number": 1, "size": 100, "total": len(listed["data"])}
    resp = server.request("DELETE", "/v3/users/" + user["id"], token=tok)
    assert resp.status_code == 204 and resp.content == b""
    assert_problem(server.request("GET", "/v3/users/" + user["id"], token=tok), 404)
    assert_problem(server.request("DELETE", "/v3/users/" + user["id"], token=tok), 404)
    listed = ok(server.request("GET", "/v3/users", token=tok))
    assert user["id"] not in {u["id"] for u in listed["data"]}


def test_user_patch_rejects_read_only_and_bad_values(server, admin, plain):
    tok = admin["token"]
    uid = plain["user"]["id"]
    body = assert_problem(server.request("PATCH", "/v3/users/" + uid, token=tok,
                                         json={"email": "x@example.com", "full_name": "n" * 251, "active": False}), 400)
    assert param(body, "email")["rule"] == "unknown_property"
    assert param(body, "active")["rule"] == "unknown_property"
    p = param(body, "full_name")
    assert p["rule"] == "max_length" and p["maximum"] == 250 and p["source"] == "body"
    body = assert_problem(server.request("PATCH", "/v3/users/" + uid, token=tok, json={"full_name": 7}), 400)
    assert param(body, "full_name")["rule"] == "is_string"
    assert ok(server.request("GET", "/v3/users/" + uid, token=tok))["full_name"] == "Plain User"


def test_a_user_reads_and_renames_themselves(server, plain):
    tok, uid = plain["token"], plain["user"]["id"]
    assert ok(server.request("GET", "/v3/users/" + uid, token=tok))["id"] == uid
    me = ok(server.request("PATCH", "/v3/users/" + uid, token=tok, json={"preferred_name": "Plainy"}))
    assert me["preferred_name"] == "Plainy"
    # without identity read access, lists show the caller only and the teams it belongs to
    listed = validate_response(ok(server.request("GET", "/v3/users", token=tok)), "UserCollection")
    assert [u["id"] for u in listed["data"]] == [uid] and listed["meta"]["page"]["total"] == 1
    teams = ok(server.request("GET", "/v3/teams", token=tok))
    assert teams["data"] == [] and teams["meta"]["page"]["total"] == 0
    assert ok(server.request("GET", "/v3/system-accounts", token=tok))["data"] == []


def test_teams_crud(server, admin):
    tok = admin["token"]
    name = uniq("Team ")
    bare = new_team(server, tok, name=name)
    validate_response(bare, "TeamSingle")
    assert bare["name"] == name and bare["description"] is None and bare["labels"] == {}
    assert bare["system_team"] is False
    full = new_team(server, tok, name=name, description="the same name again", labels={"env": "prod", "tier": "1"})
    validate_response(full, "TeamSingle")
    assert full["id"] != bare["id"], "duplicate team names are allowed"
    got = validate_response(ok(server.request("GET", "/v3/teams/" + full["id"], token=tok)), "TeamSingle")
    assert got == full
    patched = ok(server.request("PATCH", "/v3/teams/" + full["id"], token=tok,
                                json={"description": None, "labels": {"env": "dev", "tier": None, "new": "x"}}))
    validate_response(patched, "TeamSingle")
    assert patched["name"] == name and patched["description"] is None
    assert patched["labels"] == {"env": "dev", "new": "x"}
    patched = ok(server.request("PATCH", "/v3/teams/" + full["id"], token=tok, json={"name": "Renamed " + name}))
    assert patched["name"] == "Renamed " + name and patched["labels"] == {"env": "dev", "new": "x"}
    listed = validate_response(ok(server.request("GET", "/v3/teams", token=tok)), "TeamCollectionResponse")
    by_id = {t["id"]: t for t in listed["data"]}
    assert by_id[full["id"]] == patched and bare["id"] in by_id
    assert {t["name"] for t in listed["data"] if t["system_team"]} == SYSTEM_TEAMS
    for team in (bare, full):
        resp = server.request("DELETE", "/v3/teams/" + team["id"], token=tok)
        assert resp.status_code == 204 and resp.content == b""
        assert_problem(server.request("GET", "/v3/teams/" + team["id"], token=tok), 404)
    assert_problem(server.request("DELETE", "/v3/teams/" + bare["id"], token=tok), 404)


def test_team_members(server, admin):
    tok = admin["token"]
    team = new_team(server, tok)
    user = invite(server, tok, full_name="Member One")
    resp = server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={"id": user["id"]})
    assert resp.status_code == 201 and resp.content == b""
    members = validate_response(ok(server.request("GET", "/v3/teams/%s/users" % team["id"], token=tok)),
                                "UserCollection")
    assert [u["id"] for u in members["data"]] == [user["id"]] and members["meta"]["page"]["total"] == 1
    teams = validate_response(ok(server.request("GET", "/v3/users/%s/teams" % user["id"], token=tok)),
                              "TeamCollection")
    assert [t["id"] for t in teams["data"]] == [team["id"]]
    body = assert_problem(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok,
                                         json={"id": user["id"]}), 409)
    assert "already" in body["detail"]
    assert_problem(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={"id": rnd()}), 404)
    body = assert_problem(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={"id": "nope"}), 400)
    assert param(body, "id")["rule"] == "is_uuid"
    body = assert_problem(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={}), 400)
    assert param(body, "id")["rule"] == "required"
    resp = server.request("DELETE", "/v3/teams/%s/users/%s" % (team["id"], user["id"]), token=tok)
    assert resp.status_code == 204
    assert_problem(server.request("DELETE", "/v3/teams/%s/users/%s" % (team["id"], user["id"]), token=tok), 404)
    assert ok(server.request("GET", "/v3/teams/%s/users" % team["id"], token=tok))["data"] == []


def test_team_system_accounts(server, admin):
    tok = admin["token"]
    team = new_team(server, tok)
    sa = new_sa(server, tok)
    resp = server.request("POST", "/v3/teams/%s/system-accounts" % team["id"], token=tok, json={"id": sa["id"]})
    assert resp.status_code == 201 and resp.content == b""
    listed = validate_response(ok(server.request("GET", "/v3/teams/%s/system-accounts" % team["id"], token=tok)),
                               "SystemAccountCollection")
    assert [a["id"] for a in listed["data"]] == [sa["id"]]
    teams = validate_response(ok(server.request("GET", "/v3/system-accounts/%s/teams" % sa["id"], token=tok)),
                              "TeamCollection")
    assert [t["id"] for t in teams["data"]] == [team["id"]]
    assert_problem(server.request("POST", "/v3/teams/%s/system-accounts" % team["id"], token=tok,
                                  json={"id": sa["id"]}), 409)
    assert_problem(server.request("POST", "/v3/teams/%s/system-accounts" % team["id"], token=tok,
                                  json={"id": rnd()}), 404)
    resp = server.request("DELETE", "/v3/teams/%s/system-accounts/%s" % (team["id"], sa["id"]), token=tok)
    assert resp.status_code == 204
    assert_problem(server.request("DELETE", "/v3/teams/%s/system-accounts/%s" % (team["id"], sa["id"]),
                                  token=tok), 404)
    assert ok(server.request("GET", "/v3/system-accounts/%s/teams" % sa["id"], token=tok))["data"] == []


def test_roles_document(server, admin, plain):
    for tok in (admin["token"], plain["token"]):
        roles = validate_response(ok(server.request("GET", "/v3/roles", token=tok)), "Roles")
        assert set(roles) == {"control_planes", "api_products", "audit_logs", "identity", "mesh_control_planes",
                              "dashboards", "reports"}
        assert roles["control_planes"]["roles"]["creator"]["name"] == "Creator"
        assert roles["mesh_control_planes"]["name"] == "Mesh Control Plane"


@pytest.mark.parametrize("kind", ["users", "teams", "system-accounts"])
def test_assigned_roles_crud(server, admin, kind):
    tok = admin["token"]
    if kind == "users":
        owner = invite(server, tok, full_name="Role Holder")["id"]
    elif kind == "teams":
        owner = new_team(server, tok)["id"]
    else:
        owner = new_sa(server, tok)["id"]
    base = "/v3/%s/%s/assigned-roles" % (kind, owner)
    cp_id = rnd()
    viewer = validate_role(ok(assign(server, tok, "%s/%s" % (kind, owner), "Viewer", entity_id=cp_id,
                                         region="eu"), 201), "AssignedRoleSingle")
    assert viewer == {"id": viewer["id"], "role_name": "Viewer", "entity_id": cp_id,
                      "entity_type_name": "Control Planes", "entity_region": "eu"}
    admin_role = ok(assign(server, tok, "%s/%s" % (kind, owner), "Admin", "API Products", "*", "*"), 201)
    body = assert_problem(assign(server, tok, "%s/%s" % (kind, owner), "Viewer", entity_id=cp_id, region="eu"), 409)
    assert "Viewer" in body["detail"]
    listed = validate_role(ok(server.request("GET", base, token=tok)), "AssignedRoleCollection")
    assert {r["id"] for r in listed["data"]} == {viewer["id"], admin_role["id"]}
    assert listed["meta"]["page"] == {"number": 1, "size": 100, "total": 2}
    filtered = ok(server.request("GET", base, token=tok, params={"filter[role_name][eq]": "Admin"}))
    assert [r["id"] for r in filtered["data"]] == [admin_role["id"]]
    filtered = ok(server.request("GET", base, token=tok, params={"filter[entity_type_name]": "Control Planes"}))
    assert [r["id"] for r in filtered["data"]] == [viewer["id"]]
    if kind != "teams":
        filtered = ok(server.request("GET", base, token=tok, params={"filter[entity_id][eq]": cp_id}))
        assert [r["id"] for r in filtered["data"]] == [viewer["id"]]
    else:  # team assigned-roles filter on role_name and entity_type_name only
        body = assert_problem(server.request("GET", base, token=tok, params={"filter[entity_id][eq]": cp_id}), 400)
        assert param(body, "[filter][entity_id][eq]")["source"] == "query"
    paged = ok(server.request("GET", base, token=tok, params={"page[size]": 1, "page[number]": 2}))
    assert paged["meta"]["page"] == {"number": 2, "size": 1, "total": 2} and len(paged["data"]) == 1
    got = validate_role(ok(server.request("GET", "%s/%s" % (base, viewer["id"]), token=tok)),
                            "AssignedRoleSingle")
    assert got == viewer
    resp = server.request("DELETE", "%s/%s" % (base, viewer["id"]), token=tok)
    assert resp.status_code == 204
    assert_problem(server.request("GET", "%s/%s" % (base, viewer["id"]), token=tok), 404)
    assert_problem(server.request("DELETE", "%s/%s" % (base, viewer["id"]), token=tok), 404)
    assert [r["id"] for r in ok(server.request("GET", base, token=tok))["data"]] == [admin_role["id"]]


def test_assigned_role_of_another_principal_is_404(server, admin, world):
    tok = admin["token"]
    other = invite(server, tok, full_name="Other Holder")
    role = world["roles"]["users"]["id"]
    assert_problem(server.request("GET", "/v3/users/%s/assigned-roles/%s" % (other["id"], role), token=tok), 404)
    assert_problem(server.request("DELETE", "/v3/users/%s/assigned-roles/%s" % (other["id"], role), token=tok), 404)
    # the team's assignment is not reachable under the user who is its member
    team_role = world["roles"]["teams"]["id"]
    assert_problem(server.request("GET", "/v3/users/%s/assigned-roles/%s" % (world["user"]["id"], team_role),
                                  token=tok), 404)
    assert ok(server.request("GET", "/v3/users/%s/assigned-roles/%s" % (world["user"]["id"], role), token=tok))


def test_assigned_role_validation(server, admin, world):
    tok = admin["token"]
    path = "users/" + world["user"]["id"]
    body = assert_problem(assign(server, tok, path, "Creator", "Audit Logs"), 400)
    p = param(body, "role_name")
    assert p["rule"] == "enum" and p["choices"] == ["Admin"] and p["source"] == "body"
    body = assert_problem(assign(server, tok, path, "Viewer", "Control Planes", region="mars"), 400)
    p = param(body, "entity_region")
    assert p["rule"] == "enum" and set(p["choices"]) == {"us", "eu", "au", "me", "in", "sg", "*"}
    body = assert_problem(assign(server, tok, path, "Boss"), 400)
    assert param(body, "role_name")["rule"] == "enum"
    body = assert_problem(assign(server, tok, path, "Viewer", entity_id="cp-1"), 400)
    assert param(body, "entity_id")["rule"] == "matches_regex"
    body = assert_problem(server.request("POST", "/v3/%s/assigned-roles" % path, token=tok,
                                         json={"role_name": "Viewer", "id": rnd(), "extra": 1}), 400)
    for field in ("entity_type_name", "entity_id", "entity_region"):
        assert param(body, field)["rule"] == "required"
    assert param(body, "id")["rule"] == "unknown_property"
    assert param(body, "extra")["rule"] == "unknown_property"


def test_entity_types_for_assignments(server, admin, world):
    """The spec's entity_type_name enum, plus "Identity" (a documented extension: /v3/roles
    lists Identity Admin, and without it no Identity Admin could be appointed)."""
    tok = admin["token"]
    path = "users/" + world["user"]["id"]
    body = assert_problem(assign(server, tok, path, "Admin", "Nope"), 400)
    p = param(body, "entity_type_name")
    assert p["rule"] == "enum"
    assert set(p["choices"]) == {"Add Ons", "APIs", "API Products", "Application Auth Strategies", "Audit Logs",
                                 "Control Planes", "Dashboards", "DCR Providers", "Mesh Control Planes", "Networks",
                                 "Portals", "Reports", "Service Hub", "Auth Servers", "Identity"}
    created = ok(assign(server, tok, path, "Admin", "Identity"), 201)
    listed = ok(server.request("GET", "/v3/%s/assigned-roles" % path, token=tok,
                               params={"filter[entity_type_name][eq]": "Identity"}))
    assert [r["id"] for r in listed["data"]] == [created["id"]]
    ok(server.request("DELETE", "/v3/%s/assigned-roles/%s" % (path, created["id"]), token=tok), 204)


def test_system_accounts_crud(server, admin):
    tok = admin["token"]
    name = uniq("robot-")
    sa = validate_response(new_sa(server, tok, name), "SystemAccountSingle")
    assert sa["name"] == name and sa["description"] == "a robot" and sa["konnect_managed"] is False
    got = validate_response(ok(server.request("GET", "/v3/system-accounts/" + sa["id"], token=tok)),
                            "SystemAccountSingle")
    assert got == sa
    patched = validate_response(ok(server.request("PATCH", "/v3/system-accounts/" + sa["id"], token=tok,
                                                  json={"name": name + "-2", "description": "renamed"})),
                                "SystemAccountSingle")
    assert (patched["name"], patched["description"]) == (name + "-2", "renamed")
    listed = validate_response(ok(server.request("GET", "/v3/system-accounts", token=tok)),
                               "SystemAccountCollection")
    assert patched in listed["data"]
    found = ok(server.request("GET", "/v3/system-accounts", token=tok, params={"filter[name][eq]": name + "-2"}))
    assert [a["id"] for a in found["data"]] == [sa["id"]]
    found = ok(server.request("GET", "/v3/system-accounts", token=tok, params={"filter[description][contains]": "renam"}))
    assert sa["id"] in [a["id"] for a in found["data"]]
    resp = server.request("DELETE", "/v3/system-accounts/" + sa["id"], token=tok)
    assert resp.status_code == 204
    assert_problem(server.request("GET", "/v3/system-accounts/" + sa["id"], token=tok), 404)
    assert_problem(server.request("DELETE", "/v3/system-accounts/" + sa["id"], token=tok), 404)


def test_system_account_validation_and_conflicts(server, admin):
    tok = admin["token"]
    body = assert_problem(server.request("POST", "/v3/system-accounts", token=tok, json={"name": ""}), 400)
    assert param(body, "name")["rule"] == "min_length"
    assert param(body, "description")["rule"] == "required"
    body = assert_problem(server.request("POST", "/v3/system-accounts", token=tok,
                                         json={"name": "x", "description": "d", "konnect_managed": True}), 400)
    assert param(body, "konnect_managed")
    first, second = new_sa(server, tok), new_sa(server, tok)
    body = assert_problem(server.request("POST", "/v3/system-accounts", token=tok,
                                         json={"name": first["name"], "description": "dup"}), 409)
    assert first["name"] in body["detail"]
    body = assert_problem(server.request("PATCH", "/v3/system-accounts/" + second["id"], token=tok,
                                         json={"name": first["name"]}), 409)
    assert first["name"] in body["detail"]
    assert ok(server.request("GET", "/v3/system-accounts/" + second["id"], token=tok))["name"] == second["name"]
    body = assert_problem(server.request("PATCH", "/v3/system-accounts/" + second["id"], token=tok,
                                         json={"konnect_managed": True}), 400)
    assert param(body, "konnect_managed")["rule"] == "unknown_property"


def test_system_account_tokens_crud(server, admin):
    tok = admin["token"]
    sa = new_sa(server, tok)
    base = "/v3/system-accounts/%s/access-tokens" % sa["id"]
    created = validate_response(new_spat(server, tok, sa["id"], "first"), "SystemAccountAccessTokenCreated")
    assert created["token"].startswith("spat_") and created["token"][5:].isalnum()
    assert created["name"] == "first"
    got = validate_response(ok(server.request("GET", "%s/%s" % (base, created["id"]), token=tok)),
                            "SystemAccountAccessTokenSingle")
    assert "token" not in got and got["id"] == created["id"] and got["expires_at"] == created["expires_at"]
    second = new_spat(server, tok, sa["id"], "second")
    body = assert_problem(server.request("POST", base, token=tok,
                                         json={"name": "first", "expires_at": rfc3339_in(600)}), 409)
    assert "first" in body["detail"]
    body = assert_problem(server.request("PATCH", "%s/%s" % (base, second["id"]), token=tok,
                                         json={"name": "first"}), 409)
    renamed = validate_response(ok(server.request("PATCH", "%s/%s" % (base, second["id"]), token=tok,
                                                  json={"name": "second-renamed"})),
                                "SystemAccountAccessTokenSingle")
    assert renamed["name"] == "second-renamed"
    listed = validate_response(ok(server.request("GET", base, token=tok)), "SystemAccountAccessTokenCollection")
    assert [t["id"] for t in listed["data"]] == [created["id"], second["id"]]
    assert listed["meta"]["page"] == {"number": 1, "size": 100, "total": 2}
    assert all("token" not in t for t in listed["data"])
    found = ok(server.request("GET", base, token=tok, params={"filter[name][contains]": "renamed"}))
    assert [t["id"] for t in found["data"]] == [second["id"]]
    # the same name under another account is fine
    new_spat(server, tok, new_sa(server, tok)["id"], "first")
    resp = server.request("DELETE", "%s/%s" % (base, created["id"]), token=tok)
    assert resp.status_code == 204
    assert_problem(server.request("GET", "%s/%s" % (base, created["id"]), token=tok), 404)


def test_system_account_token_validation(server, admin):
    tok = admin["token"]
    base = "/v3/system-accounts/%s/access-tokens" % new_sa(server, tok)["id"]
    body = assert_problem(server.request("POST", base, token=tok, json={"name": "n"}), 400)
    assert param(body, "expires_at")["rule"] == "required"
    body = assert_problem(server.request("POST", base, token=tok, json={"name": "n", "expires_at": "tomorrow"}), 400)
    assert param(body, "expires_at")["rule"] == "is_date_time"
    body = assert_problem(server.request("POST", base, token=tok,
                                         json={"name": "n", "expires_at": "2001-01-01T00:00:00Z"}), 400)
    assert param(body, "expires_at")
    body = assert_problem(server.request("POST", base, token=tok,
                                         json={"name": "n", "expires_at": rfc3339_in(60), "token": "spat_x"}), 400)
    assert param(body, "token")["rule"] == "unknown_property"


def test_personal_access_tokens_crud(server, admin):
    tok = admin["token"]
    user = invite(server, tok, full_name="Pat Owner")
    base = "/v3/users/%s/access-tokens" % user["id"]
    created = validate_response(new_pat(server, tok, user["id"], "Laptop token", ttl=2592000),
                                "PersonalAccessTokenCreateResponse")
    secret = created["konnect_token"]
    assert secret.startswith("kpat_") and secret[5:].isalnum()
    assert created["state"] == "ACTIVE" and created["user_id"] == user["id"] and created["revoked_at"] is None
    got = validate_response(ok(server.request("GET", "%s/%s" % (base, created["id"]), token=tok)),
                            "PersonalAccessTokenResponse")
    assert "konnect_token" not in got and got["name"] == "Laptop token" and got["expires_at"] == created["expires_at"]
    renamed = validate_response(ok(server.request("PATCH", "%s/%s" % (base, created["id"]), token=tok,
                                                  json={"name": "Desktop token"})), "PersonalAccessTokenResponse")
    assert renamed["name"] == "Desktop token"
    # using a token records it
    assert ok(server.request("GET", "/v3/users/me", token=secret))["id"] == user["id"]
    # (recorded in the background, without holding up the request: allow it a moment)
    deadline = time.time() + 3
    while True:
        used = ok(server.request("GET", "%s/%s" % (base, created["id"]), token=tok))
        if used["last_used_at"] is not None or time.time() > deadline:
            break
        time.sleep(0.02)
    assert used["last_used_at"] is not None and used["last_used_at"] >= created["created_at"]
    # the owner manages their own tokens with their own token
    own = new_pat(server, secret, user["id"], "self made")
    listed = validate_response(ok(server.request("GET", base, token=secret)), "PersonalAccessTokenListResponse")
    assert [t["id"] for t in listed["data"]] == [created["id"], own["id"]]
    assert listed["meta"] == {"number": 1, "size": 2, "total": 2}
    assert all("konnect_token" not in t for t in listed["data"])
    body = assert_problem(server.request("POST", base, token=tok, json={"name": "self made", "ttl_seconds": 86400}),
                          409)
    assert "self made" in body["detail"]
    body = assert_problem(server.request("PATCH", "%s/%s" % (base, created["id"]), token=tok,
                                         json={"name": "self made"}), 409)
    assert "self made" in body["detail"]
    resp = server.request("DELETE", "%s/%s" % (base, own["id"]), token=secret)
    assert resp.status_code == 204
    assert_problem(server.request("GET", "%s/%s" % (base, own["id"]), token=tok), 404)
    assert [t["id"] for t in ok(server.request("GET", base, token=tok))["data"]] == [created["id"]]


def test_personal_access_token_validation(server, admin, plain):
    tok = admin["token"]
    base = "/v3/users/%s/access-tokens" % plain["user"]["id"]
    body = assert_problem(server.request("POST", base, token=tok, json={"name": "short", "ttl_seconds": 100}), 400)
    p = param(body, "ttl_seconds")
    assert p["rule"] == "min" and p["minimum"] == 86400 and p["source"] == "body"
    body = assert_problem(server.request("POST", base, token=tok, json={"name": "long", "ttl_seconds": 31536001}), 400)
    p = param(body, "ttl_seconds")
    assert p["rule"] == "max" and p["maximum"] == 31536000
    for bad in ("-bad", "bad-", "x", "no/slash"):
        body = assert_problem(server.request("POST", base, token=tok, json={"name": bad, "ttl_seconds": 86400}), 400)
        assert param(body, "name")["rule"] == "matches_regex", bad
    body = assert_problem(server.request("POST", base, token=tok, json={"name": "both", "ttl_seconds": 86400,
                                                                      "expires_at": rfc3339_in(90000)}), 400)
    p = param(body, "ttl_seconds")
    assert p["rule"] == "dependent_fields" and p["dependents"] == ["expires_at"]
    body = assert_problem(server.request("POST", base, token=tok, json={"name": "neither"}), 400)
    assert param(body, "ttl_seconds")["rule"] == "required"
    body = assert_problem(server.request("POST", base, token=tok, json={"ttl_seconds": 86400, "extra": True}), 400)
    assert param(body, "name")["rule"] == "required"
    assert param(body, "extra")["rule"] == "unknown_property"
    body = assert_problem(server.request("PATCH", "%s/%s" % (base, plain["pat"]["id"]), token=tok,
                                         json={"name": "-bad"}), 400)
    assert param(body, "name")["rule"] == "matches_regex"
    # unicode letters are letters
    new_pat(server, tok, plain["user"]["id"], "Jörg's token.v2")


def test_eleventh_personal_access_token_is_refused(server, admin):
    tok = admin["token"]
    user = invite(server, tok, full_name="Token Hoarder")
    made = [new_pat(server, tok, user["id"], "t%02d" % i) for i in range(10)]
    body = assert_problem(server.request("POST", "/v3/users/%s/access-tokens" % user["id"], token=tok,
                                         json={"name": "t11", "ttl_seconds": 86400}), 400)
    assert any(p["reason"] == "usage limits reached" for p in body["invalid_parameters"]), body
    assert "10" in body["detail"]
    assert len(ok(server.request("GET", "/v3/users/%s/access-tokens" % user["id"], token=tok))["data"]) == 10
    ok(server.request("DELETE", "/v3/users/%s/access-tokens/%s" % (user["id"], made[0]["id"]), token=tok), 204)
    new_pat(server, tok, user["id"], "t11")


# --- token life cycle -----------------------------------------------------------------------


def test_token_formats_match_konnect(server, admin):
    """Konnect's PATs are kpat_ + 49 alphanumerics and its system account tokens spat_ + 50
    characters (FACTS e.1, the spec's examples); clients that check the shape rely on it."""
    pat = new_pat(server, admin["token"], admin["user_id"])["konnect_token"]
    spat = new_spat(server, admin["token"], new_sa(server, admin["token"])["id"])["token"]
    assert len(pat) == 5 + 49, pat
    assert len(spat) == 5 + 50, spat
    assert len(admin["token"]) == 5 + 49 and admin["token"].startswith("kpat_"), "the token of `org create`"


def test_revoked_pat_fails_on_the_very_next_request(server, admin):
    tok = admin["token"]
    user = invite(server, tok, full_name="Revokee")
    pat = new_pat(server, tok, user["id"])
    secret = pat["konnect_token"]
    assert ok(server.request("GET", "/v3/users/me", token=secret))["id"] == user["id"]
    revoked = validate_response(ok(server.request("PATCH", "/v3/users/%s/access-tokens/%s/revoke" % (
        user["id"], pat["id"]), token=tok)), "PersonalAccessTokenResponse")
    assert revoked["state"] == "REVOKED" and revoked["revoked_by"] == admin["user_id"]
    assert revoked["revoked_at"] is not None
    assert_problem(server.request("GET", "/v3/users/me", token=secret), 401, "Invalid credentials.")
    got = ok(server.request("GET", "/v3/users/%s/access-tokens/%s" % (user["id"], pat["id"]), token=tok))
    assert got["state"] == "REVOKED" and got["revoked_at"] == revoked["revoked_at"]
    # the owner revokes their own token: revoked_by is the owner
    own = new_pat(server, tok, user["id"])
    revoked = ok(server.request("PATCH", "/v3/users/%s/access-tokens/%s/revoke" % (user["id"], own["id"]),
                                token=own["konnect_token"]))
    assert revoked["revoked_by"] == user["id"] and revoked["state"] == "REVOKED"
    assert_problem(server.request("GET", "/v3/users/me", token=own["konnect_token"]), 401, "Invalid credentials.")
    # revoking again changes nothing
    again = ok(server.request("PATCH", "/v3/users/%s/access-tokens/%s/revoke" % (user["id"], own["id"]), token=tok))
    assert again == revoked


def test_deleted_pat_fails_on_the_very_next_request(server, admin):
    tok = admin["token"]
    user = invite(server, tok, full_name="Deletee")
    pat = new_pat(server, tok, user["id"])
    ok(server.request("GET", "/v3/users/me", token=pat["konnect_token"]))
    ok(server.request("DELETE", "/v3/users/%s/access-tokens/%s" % (user["id"], pat["id"]), token=tok), 204)
    assert_problem(server.request("GET", "/v3/users/me", token=pat["konnect_token"]), 401, "Invalid credentials.")


def test_deleting_a_user_kills_their_tokens_at_once(server, admin):
    tok = admin["token"]
    user = invite(server, tok, full_name="Leaver")
    pats = [new_pat(server, tok, user["id"]) for _ in range(2)]
    for p in pats:
        ok(server.request("GET", "/v3/users/me", token=p["konnect_token"]))
    ok(server.request("DELETE", "/v3/users/" + user["id"], token=tok), 204)
    for p in pats:
        assert_problem(server.request("GET", "/v3/users/me", token=p["konnect_token"]), 401, "Invalid credentials.")
        assert_problem(server.request("GET", "/v3/roles", token=p["konnect_token"]), 401, "Invalid credentials.")
    # the same email invited again is a new user: the old tokens stay dead
    again = invite(server, tok, user["email"])
    assert again["id"] != user["id"]
    new_pat(server, tok, again["id"])
    for p in pats:
        assert_problem(server.request("GET", "/v3/users/me", token=p["konnect_token"]), 401, "Invalid credentials.")


def test_system_account_token_use_and_deletion(server, admin):
    tok = admin["token"]
    sa = new_sa(server, tok)
    spat = new_spat(server, tok, sa["id"])
    secret = spat["token"]
    assert ok(server.request("GET", "/v3/system-accounts/" + sa["id"], token=secret))["id"] == sa["id"]
    assert ok(server.request("GET", "/v3/roles", token=secret))
    body = assert_problem(server.request("GET", "/v3/users/me", token=secret), 403)
    assert "personal access token" in body["detail"]
    assert_problem(server.request("GET", "/v3/users/%s/access-tokens" % admin["user_id"], token=secret), 403)
    ok(server.request("DELETE", "/v3/system-accounts/%s/access-tokens/%s" % (sa["id"], spat["id"]), token=tok), 204)
    assert_problem(server.request("GET", "/v3/roles", token=secret), 401, "Invalid credentials.")
    # deleting the account kills its other tokens at once
    other = new_spat(server, tok, sa["id"])
    ok(server.request("GET", "/v3/roles", token=other["token"]))
    ok(server.request("DELETE", "/v3/system-accounts/" + sa["id"], token=tok), 204)
    assert_problem(server.request("GET", "/v3/roles", token=other["token"]), 401, "Invalid credentials.")


def test_expired_tokens_are_401(server, admin):
    # Both tokens live 5 s: time enough for the checks that they work before they expire, even
    # on a loaded machine against the sanitized build.
    tok = admin["token"]
    sa = new_sa(server, tok)
    user = invite(server, tok, full_name="Shortlived")
    spat = new_spat(server, tok, sa["id"], expires_in=5)
    pat_expires_at = rfc3339_in(5)
    last_expiry = time.monotonic() + 5  # the PAT's, the later one
    pat = new_pat(server, tok, user["id"], ttl=None, expires_at=pat_expires_at)
    assert ok(server.request("GET", "/v3/roles", token=spat["token"]))
    assert ok(server.request("GET", "/v3/users/me", token=pat["konnect_token"]))
    time.sleep(max(0.0, last_expiry + 0.3 - time.monotonic()))
    assert_problem(server.request("GET", "/v3/roles", token=spat["token"]), 401, "Invalid credentials.")
    assert_problem(server.request("GET", "/v3/users/me", token=pat["konnect_token"]), 401, "Invalid credentials.")
    got = ok(server.request("GET", "/v3/users/%s/access-tokens/%s" % (user["id"], pat["id"]), token=tok))
    assert got["state"] == "EXPIRED"


def test_token_secrets_never_appear_in_reads(server, admin, world, plain):
    tok = admin["token"]
    sa, user = world["sa"], world["user"]
    reads = ["/v3/users", "/v3/users/me", "/v3/users/" + user["id"], "/v3/users/%s/access-tokens" % user["id"],
             "/v3/users/%s/access-tokens/%s" % (user["id"], world["pat"]["id"]), "/v3/teams", "/v3/system-accounts",
             "/v3/system-accounts/" + sa["id"], "/v3/system-accounts/%s/access-tokens" % sa["id"],
             "/v3/system-accounts/%s/access-tokens/%s" % (sa["id"], world["spat"]["id"]),
             "/v3/users/%s/access-tokens" % plain["user"]["id"], "/v3/users/%s/access-tokens" % admin["user_id"],
             "/v3/organizations/me"]
    texts = []
    for path in reads:
        resp = server.request("GET", path, token=tok)
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
        texts.append(resp.text)
    assert SECRETS
    for secret in SECRETS:
        for path, text in zip(reads, texts):
            assert secret not in text, "secret of a token appears in GET %s" % path
            assert secret[5:] not in text


# --- 400, 401, 403, 404 sweeps ---------------------------------------------------------------


def _fill(template, ids):
    return template.format(**{p: ids[p] for p in route_params(template)})


def _body_for(method, template, world):
    body = valid_body(method, template, uniq())
    if body is None and method == "POST" and template.startswith("/v3/teams/{teamId}/"):
        body = {"id": world["user"]["id"] if template.endswith("/users") else world["sa"]["id"]}
    return body


@pytest.mark.parametrize("method,template", IDENTITY_ROUTES, ids=lambda v: v)
def test_every_route_needs_a_valid_token(server, world, method, template):
    ids = {p: "not-a-uuid" for p in route_params(template)}
    path = _fill(template, ids)
    body = _body_for(method, template, world)
    assert_problem(server.request(method, path, json=body), 401, "A valid token is required.")
    for bad in ("kpat_" + "Z" * 49, "spat_" + "Z" * 50, "garbage", "kpat_"):
        assert_problem(server.request(method, path, token=bad, json=body), 401, "Invalid credentials.")
    assert_problem(server.request(method, path, json=body, headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)


ID_ROUTES = [(m, t) for m, t in IDENTITY_ROUTES if route_params(t)]


@pytest.mark.parametrize("method,template", ID_ROUTES, ids=lambda v: v)
def test_malformed_path_ids_are_400_before_anything_else(server, admin, world, method, template):
    """Each path id, malformed while the others are random (nonexistent) UUIDs: 400 with
    source path, never 404 (order of checks: 400 path id -> 404)."""
    for bad_param in route_params(template):
        ids = {p: rnd() for p in route_params(template)}
        ids[bad_param] = "not-a-uuid"
        resp = server.request(method, _fill(template, ids), token=admin["token"],
                              json=_body_for(method, template, world))
        body = assert_problem(resp, 400)
        p = param(body, bad_param)
        assert p["source"] == "path" and p["reason"] == "invalid ID format", body


@pytest.mark.parametrize("method,template", ID_ROUTES, ids=lambda v: v)
def test_unknown_ids_are_404(server, admin, world, method, template):
    """Random UUIDs: 404 for the first unknown id; the parent existing and the child random
    is 404 too."""
    names = route_params(template)
    ids = {p: rnd() for p in names}
    resp = server.request(method, _fill(template, ids), token=admin["token"], json=_body_for(method, template, world))
    body = assert_problem(resp, 404)
    assert body["detail"].startswith("The ") and body["detail"].endswith(".")
    if len(names) == 2:
        parent = {"userId": world["user"]["id"], "teamId": world["team"]["id"], "accountId": world["sa"]["id"]}
        ids[names[0]] = parent[names[0]]
        resp = server.request(method, _fill(template, ids), token=admin["token"],
                              json=_body_for(method, template, world))
        assert_problem(resp, 404)


def test_pat_of_another_user_is_404(server, admin, world, plain):
    tok = admin["token"]
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "stolen"} if method == "PATCH" else None
        assert_problem(server.request(method, "/v3/users/%s/access-tokens/%s" % (plain["user"]["id"],
                                                                                 world["pat"]["id"]),
                                      token=tok, json=body), 404)
    assert_problem(server.request("PATCH", "/v3/users/%s/access-tokens/%s/revoke" % (
        plain["user"]["id"], world["pat"]["id"]), token=tok), 404)
    assert ok(server.request("GET", "/v3/users/me", token=world["pat"]["konnect_token"]))


def test_sa_token_of_another_account_is_404(server, admin, world):
    tok = admin["token"]
    other = new_sa(server, tok)
    path = "/v3/system-accounts/%s/access-tokens/%s" % (other["id"], world["spat"]["id"])
    assert_problem(server.request("GET", path, token=tok), 404)
    assert_problem(server.request("PATCH", path, token=tok, json={"name": "stolen"}), 404)
    assert_problem(server.request("DELETE", path, token=tok), 404)
    assert ok(server.request("GET", "/v3/roles", token=world["spat"]["token"]))


# Every Identity route but the reads any member may make (oneself, the organization, the lists, the roles).
MEMBER_READS = {("GET", "/v3/organizations/me"), ("GET", "/v3/users/me"), ("GET", "/v3/users"), ("GET", "/v3/teams"),
                ("GET", "/v3/roles"), ("GET", "/v3/system-accounts")}
PLAIN_USER_FORBIDDEN = [route for route in IDENTITY_ROUTES if route not in MEMBER_READS]


@pytest.mark.parametrize("method,template", PLAIN_USER_FORBIDDEN, ids=lambda v: v)
def test_a_plain_user_cannot_administer_identity(server, admin, world, plain, method, template):
    """Existing ids of other principals (the world user is not the caller): 403 naming the role."""
    kind = template.split("/")[2]
    ids = {"userId": world["user"]["id"], "teamId": world["team"]["id"], "accountId": world["sa"]["id"],
           "tokenId": world["spat"]["id"] if kind == "system-accounts" else world["pat"]["id"],
           "roleId": world["roles"][kind]["id"] if "assigned-roles" in template else None}
    body = _body_for(method, template, world)
    resp = server.request(method, _fill(template, ids), token=plain["token"], json=body)
    assert_problem(resp, 403, IDENTITY_403)


def test_a_plain_user_cannot_grant_themselves_roles(server, plain):
    resp = assign(server, plain["token"], "users/" + plain["user"]["id"], "Admin", "Control Planes")
    assert_problem(resp, 403, IDENTITY_403)
    assert ok(server.request("GET", "/v3/users/%s/assigned-roles" % plain["user"]["id"], token=plain["token"]))[
        "data"] == []


def test_forbidden_writes_changed_nothing(server, admin, world, plain):
    tok = admin["token"]
    assert ok(server.request("GET", "/v3/users/" + world["user"]["id"], token=tok))["full_name"] == "World User"
    assert ok(server.request("GET", "/v3/teams/" + world["team"]["id"], token=tok))["name"] == world["team"]["name"]
    assert ok(server.request("GET", "/v3/system-accounts/" + world["sa"]["id"], token=tok)) == world["sa"]
    assert ok(server.request("GET", "/v3/users/me", token=world["pat"]["konnect_token"]))
    assert ok(server.request("GET", "/v3/roles", token=world["spat"]["token"]))
    for kind, role in world["roles"].items():
        owner = {"users": world["user"], "teams": world["team"], "system-accounts": world["sa"]}[kind]["id"]
        assert ok(server.request("GET", "/v3/%s/%s/assigned-roles/%s" % (kind, owner, role["id"]), token=tok)) == role


# --- order of checks ---------------------------------------------------------------------------


def test_order_401_before_path_400(server):
    assert_problem(server.request("GET", "/v3/teams/not-a-uuid"), 401)
    assert_problem(server.request("GET", "/v3/system-accounts/x/access-tokens/y", token="kpat_nope"), 401)


def test_order_path_400_before_404_on_system_account_tokens(server, admin):
    """A malformed token id under an account id that does not exist: the malformed id (400,
    source path) comes before the unknown account (404)."""
    for method, body in (("GET", None), ("PATCH", {"name": "n"}), ("DELETE", None)):
        resp = server.request(method, "/v3/system-accounts/%s/access-tokens/not-a-uuid" % rnd(),
                              token=admin["token"], json=body)
        body = assert_problem(resp, 400)
        assert param(body, "tokenId")["source"] == "path"


def test_order_404_before_403(server, plain, admin):
    tok = plain["token"]
    assert_problem(server.request("GET", "/v3/teams/" + rnd(), token=tok), 404)
    assert_problem(server.request("DELETE", "/v3/users/" + rnd(), token=tok), 404)
    assert_problem(server.request("PATCH", "/v3/system-accounts/" + rnd(), token=tok, json={"name": "x"}), 404)
    assert_problem(server.request("GET", "/v3/users/%s/assigned-roles/%s" % (admin["user_id"], rnd()), token=tok),
                   404)


def test_order_404_before_403_on_personal_access_tokens(server, plain, admin, world):
    """A token id that does not exist under another user: 404 (not visible) before 403."""
    for method, body in (("GET", None), ("PATCH", {"name": "nn"}), ("DELETE", None)):
        resp = server.request(method, "/v3/users/%s/access-tokens/%s" % (admin["user_id"], rnd()),
                              token=plain["token"], json=body)
        assert_problem(resp, 404)
    resp = server.request("PATCH", "/v3/users/%s/access-tokens/%s/revoke" % (admin["user_id"], rnd()),
                          token=plain["token"])
    assert_problem(resp, 404)
    resp = server.request("GET", "/v3/users/%s/access-tokens/%s" % (admin["user_id"], rnd()),
                          token=world["spat"]["token"])
    assert_problem(resp, 404)


def test_order_403_before_body_400(server, plain, world):
    tok = plain["token"]
    assert_problem(server.request("POST", "/v3/teams", token=tok, json={"name": 5, "bogus": 1}), 403)
    assert_problem(server.request("POST", "/v3/invites", token=tok, json={}), 403)
    assert_problem(server.request("PATCH", "/v3/teams/" + world["team"]["id"], token=tok, json={"labels": 3}), 403)
    assert_problem(server.request("GET", "/v3/system-accounts/%s/access-tokens" % world["sa"]["id"], token=tok,
                                  params={"filter[bogus]": "x"}), 403)


def test_order_body_400_before_409(server, admin, world):
    tok = admin["token"]
    body = assert_problem(server.request("POST", "/v3/system-accounts", token=tok,
                                         json={"name": world["sa"]["name"], "description": 5}), 400)
    assert param(body, "description")["rule"] == "is_string"
    body = assert_problem(server.request("POST", "/v3/system-accounts/%s/access-tokens" % world["sa"]["id"],
                                         token=tok, json={"name": world["spat"]["name"], "expires_at": "soon"}), 400)
    assert param(body, "expires_at")["rule"] == "is_date_time"
    # the world user already holds Viewer on every control plane
    body = assert_problem(assign(server, tok, "users/" + world["user"]["id"], region="mars"), 400)
    assert param(body, "entity_region")["rule"] == "enum"
    assert_problem(assign(server, tok, "users/" + world["user"]["id"]), 409)


# --- teams: validation, system teams, the last admin ------------------------------------------


def test_team_validation(server, admin):
    tok = admin["token"]
    body = assert_problem(server.request("POST", "/v3/teams", token=tok, json={"name": "n" * 251}), 400)
    p = param(body, "name")
    assert p["rule"] == "max_length" and p["maximum"] == 250 and p["source"] == "body"
    body = assert_problem(server.request("POST", "/v3/teams", token=tok, json={"description": "d"}), 400)
    assert param(body, "name")["rule"] == "required"
    body = assert_problem(server.request("POST", "/v3/teams", token=tok,
                                         json={"name": "t", "labels": {"kong-x": "v", "ok": "bad value!"}}), 400)
    assert param(body, "labels.kong-x")["rule"] == "is_label"
    assert param(body, "labels.ok")["rule"] == "is_label"
    body = assert_problem(server.request("POST", "/v3/teams", token=tok,
                                         json={"name": "t", "labels": {"k%d" % i: "v" for i in range(51)}}), 400)
    p = param(body, "labels")
    assert p["rule"] == "max_items" and p["maximum"] == 50
    body = assert_problem(server.request("POST", "/v3/teams", token=tok,
                                         json={"name": "t", "id": rnd(), "system_team": True}), 400)
    assert param(body, "id")["rule"] == "unknown_property"
    assert param(body, "system_team")["rule"] == "unknown_property"
    team = new_team(server, tok)
    body = assert_problem(server.request("PATCH", "/v3/teams/" + team["id"], token=tok,
                                         json={"labels": {"_private": "v"}, "name": ""}), 400)
    assert param(body, "labels._private")["rule"] == "is_label"
    assert param(body, "name")["rule"] == "min_length"


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_system_teams_cannot_be_modified(server, admin, method):
    tok = admin["token"]
    team = system_team(server, tok, "Analytics Viewer")
    resp = server.request(method, "/v3/teams/" + team["id"], token=tok,
                          json={"name": "Hijacked"} if method == "PATCH" else None)
    body = assert_problem(resp, 400)
    p = param(body, "teamID")
    assert p["reason"] == "system teams cannot be modified"
    assert ok(server.request("GET", "/v3/teams/" + team["id"], token=tok)) == team


def test_the_last_organization_admin_stays(server):
    """Deleting, or removing from the team, the last member of Organization Admin is 409;
    with a second admin both work."""
    o = server.create_org(uniq("lastadmin"))
    tok = o["token"]
    SECRETS.append(tok)
    team = system_team(server, tok, "Organization Admin")
    body = assert_problem(server.request("DELETE", "/v3/users/" + o["user_id"], token=tok), 409)
    assert "Organization Admin" in body["detail"]
    body = assert_problem(server.request("DELETE", "/v3/teams/%s/users/%s" % (team["id"], o["user_id"]),
                                         token=tok), 409)
    assert "Organization Admin" in body["detail"]
    assert ok(server.request("GET", "/v3/users/me", token=tok))["id"] == o["user_id"]
    second = invite(server, tok, full_name="Second Admin")
    second_pat = new_pat(server, tok, second["id"])
    ok(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={"id": second["id"]}), 201)
    ok(server.request("DELETE", "/v3/teams/%s/users/%s" % (team["id"], o["user_id"]), token=tok), 204)
    # the first admin lost the team's rights on the very next request
    assert_problem(server.request("POST", "/v3/teams", token=tok, json={"name": "x"}), 403)
    stok = second_pat["konnect_token"]
    body = assert_problem(server.request("DELETE", "/v3/users/" + second["id"], token=stok), 409)
    ok(server.request("DELETE", "/v3/users/" + o["user_id"], token=stok), 204)
    assert_problem(server.request("GET", "/v3/users/me", token=tok), 401)
    members = ok(server.request("GET", "/v3/teams/%s/users" % team["id"], token=stok))["data"]
    assert [u["id"] for u in members] == [second["id"]]


def test_invite_validation(server, admin):
    tok = admin["token"]
    body = assert_problem(server.request("POST", "/v3/invites", token=tok, json={}), 400)
    assert param(body, "email")["rule"] == "required"
    for bad in ("not-an-email", "a@b", "two@@example.com", "sp ace@example.com"):
        body = assert_problem(server.request("POST", "/v3/invites", token=tok, json={"email": bad}), 400)
        assert param(body, "email")["rule"] == "matches_regex", bad
    body = assert_problem(server.request("POST", "/v3/invites", token=tok, json={"email": 3}), 400)
    assert param(body, "email")["rule"] == "is_string"
    resp = server.request("POST", "/v3/invites", token=tok, data=b"email=a@b.c",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(resp, 415)


# --- filters and paging --------------------------------------------------------------------------


def test_user_filters(server, admin):
    tok = admin["token"]
    domain = uniq("flt") + ".example.org"
    alice = invite(server, tok, "alice@" + domain, full_name="Alice Zed")
    bob = invite(server, tok, "bob@" + domain, full_name="Bob Zed")
    carol = invite(server, tok, "carol@" + domain, full_name="Carol Young")
    new_pat(server, tok, alice["id"])  # alice is active, bob and carol pending

    def ids(**params):
        return {u["id"] for u in ok(server.request("GET", "/v3/users", token=tok, params=params))["data"]}

    assert ids(**{"filter[email][eq]": "bob@" + domain}) == {bob["id"]}
    assert ids(**{"filter[email]": "bob@" + domain}) == {bob["id"]}
    assert ids(**{"filter[email][contains]": domain}) == {alice["id"], bob["id"], carol["id"]}
    assert ids(**{"filter[full_name][eq]": "Carol Young"}) == {carol["id"]}
    assert ids(**{"filter[full_name][contains]": "Zed", "filter[email][contains]": domain}) == {alice["id"], bob["id"]}
    assert ids(**{"filter[active]": "true", "filter[email][contains]": domain}) == {alice["id"]}
    assert ids(**{"filter[active]": "false", "filter[email][contains]": domain}) == {bob["id"], carol["id"]}
    assert ids(**{"filter[id][eq]": carol["id"]}) == {carol["id"]}
    assert ids(**{"filter[email][eq]": "nobody@" + domain}) == set()
    # contains is a substring match: % and _ are literal characters, not wildcards
    odd = invite(server, tok, "dave@" + domain, full_name="Dave 100% Under_score")
    assert ids(**{"filter[full_name][contains]": "%", "filter[email][contains]": domain}) == {odd["id"]}
    assert ids(**{"filter[full_name][contains]": "_", "filter[email][contains]": domain}) == {odd["id"]}
    assert ids(**{"filter[full_name][contains]": "e_Y", "filter[email][contains]": domain}) == set()
    # team users take the same filters
    team = new_team(server, tok)
    for u in (alice, carol):
        ok(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={"id": u["id"]}), 201)
    members = ok(server.request("GET", "/v3/teams/%s/users" % team["id"], token=tok,
                                params={"filter[full_name][contains]": "Alice"}))["data"]
    assert [u["id"] for u in members] == [alice["id"]]


@pytest.mark.parametrize("path", ["/v3/users", "/v3/teams", "/v3/system-accounts"])
def test_unsupported_filters_are_400(server, admin, path):
    tok = admin["token"]
    field = "email" if path == "/v3/users" else "name"
    body = assert_problem(server.request("GET", path, token=tok, params={"filter[%s][gt]" % field: "x"}), 400)
    p = param(body, "[filter][%s][gt]" % field)
    assert p["source"] == "query" and "gt" in p["reason"]
    body = assert_problem(server.request("GET", path, token=tok, params={"filter[nope]": "x"}), 400)
    assert param(body, "[filter][nope]")["source"] == "query"
    body = assert_problem(server.request("GET", path, token=tok,
                                         params={"filter[%s][neq]" % field: "x", "filter[bogus][eq]": "y"}), 400)
    assert {p["field"] for p in body["invalid_parameters"]} == {"[filter][%s][neq]" % field, "[filter][bogus][eq]"}


def test_boolean_and_uuid_filter_values_are_checked(server, admin):
    tok = admin["token"]
    body = assert_problem(server.request("GET", "/v3/users", token=tok, params={"filter[active]": "yes"}), 400)
    assert param(body, "[filter][active]")["rule"] == "is_boolean"
    body = assert_problem(server.request("GET", "/v3/users", token=tok, params={"filter[id][eq]": "nope"}), 400)
    assert param(body, "[filter][id][eq]")["rule"] == "is_uuid"


def test_team_filters(server, admin):
    tok = admin["token"]
    tag = uniq("squad")
    prod = new_team(server, tok, name=tag + " prod", labels={"env": "prod", "owner": tag})
    dev = new_team(server, tok, name=tag + " dev", labels={"env": "development", "owner": tag})
    plain_team = new_team(server, tok, name=tag + " plain")

    def ids(**params):
        return {t["id"] for t in ok(server.request("GET", "/v3/teams", token=tok, params=params))["data"]}

    assert ids(**{"filter[name][eq]": tag + " prod"}) == {prod["id"]}
    assert ids(**{"filter[name][contains]": tag}) == {prod["id"], dev["id"], plain_team["id"]}
    assert ids(**{"filter[labels.env][eq]": "prod", "filter[name][contains]": tag}) == {prod["id"]}
    assert ids(**{"filter[labels.owner][eq]": tag}) == {prod["id"], dev["id"]}
    assert ids(**{"filter[labels.env][contains]": "dev", "filter[name][contains]": tag}) == {dev["id"]}
    assert ids(**{"filter[labels.owner][exists]": "true", "filter[name][contains]": tag}) == {prod["id"], dev["id"]}
    assert ids(**{"filter[labels.env][eq]": "staging", "filter[name][contains]": tag}) == set()
    # user teams and account teams filter on name
    user = invite(server, tok, full_name="Squad Member")
    for team in (prod, dev):
        ok(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={"id": user["id"]}), 201)
    mine = ok(server.request("GET", "/v3/users/%s/teams" % user["id"], token=tok,
                             params={"filter[name][contains]": "dev"}))["data"]
    assert [t["id"] for t in mine] == [dev["id"]]


def test_numbered_paging(server, admin):
    tok = admin["token"]
    domain = uniq("page") + ".example.org"
    made = [invite(server, tok, "u%d@%s" % (i, domain), full_name="Pager %d" % i)["id"] for i in range(5)]
    seen = []
    for number, expected in ((1, 2), (2, 2), (3, 1), (4, 0)):
        page = ok(server.request("GET", "/v3/users", token=tok, params={
            "filter[email][contains]": domain, "page[size]": 2, "page[number]": number}))
        validate_response(page, "UserCollection")
        assert page["meta"]["page"] == {"number": number, "size": 2, "total": 5}
        assert len(page["data"]) == expected
        seen += [u["id"] for u in page["data"]]
    assert sorted(seen) == sorted(made) and len(set(seen)) == 5
    teams = ok(server.request("GET", "/v3/teams", token=tok, params={"page[size]": 3}))
    assert teams["meta"]["page"]["size"] == 3 and len(teams["data"]) == 3 and teams["meta"]["page"]["total"] >= 8
    default = ok(server.request("GET", "/v3/system-accounts", token=tok))
    assert default["meta"]["page"]["number"] == 1 and default["meta"]["page"]["size"] == 100


@pytest.mark.parametrize("path", ["/v3/users", "/v3/teams", "/v3/system-accounts"])
def test_paging_bounds(server, admin, path):
    tok = admin["token"]
    body = assert_problem(server.request("GET", path, token=tok, params={"page[size]": 1001}), 400)
    p = param(body, "page[size]")
    assert p["rule"] == "max" and p["maximum"] == 1000 and p["source"] == "query"
    body = assert_problem(server.request("GET", path, token=tok, params={"page[number]": 0}), 400)
    p = param(body, "page[number]")
    assert p["rule"] == "min" and p["minimum"] == 1 and p["source"] == "query"
    body = assert_problem(server.request("GET", path, token=tok, params={"page[size]": "ten"}), 400)
    assert param(body, "page[size]")["rule"] == "is_integer"
    assert ok(server.request("GET", path, token=tok, params={"page[size]": 1000}))["meta"]["page"]["size"] == 1000


# --- races ---------------------------------------------------------------------------------------


def _parallel(server, calls):
    """Runs (method, path, token, body) calls at once, each on its own connection."""
    def one(call):
        method, path, token, body = call
        return requests.request(method, server.base + path, json=body, timeout=10,
                                headers={"Authorization": "Bearer " + token})
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def test_concurrent_token_creation_respects_the_limit(server, admin):
    tok = admin["token"]
    user = invite(server, tok, full_name="Racer")
    answers = _parallel(server, [("POST", "/v3/users/%s/access-tokens" % user["id"], tok,
                                  {"name": "race %d" % i, "ttl_seconds": 86400}) for i in range(16)])
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 10 + [400] * 6, codes
    SECRETS.extend(r.json()["konnect_token"] for r in answers if r.status_code == 201)
    assert ok(server.request("GET", "/v3/users/%s/access-tokens" % user["id"], token=tok))["meta"]["total"] == 10


def test_concurrent_duplicates_conflict(server, admin):
    tok = admin["token"]
    name = uniq("same-")
    answers = _parallel(server, [("POST", "/v3/system-accounts", tok, {"name": name, "description": "d"})] * 8)
    assert sorted(r.status_code for r in answers) == [201] + [409] * 7
    user = invite(server, tok, full_name="Race Member")
    team = new_team(server, tok)
    answers = _parallel(server, [("POST", "/v3/teams/%s/users" % team["id"], tok, {"id": user["id"]})] * 8)
    assert sorted(r.status_code for r in answers) == [201] + [409] * 7
    answers = _parallel(server, [("POST", "/v3/users/%s/assigned-roles" % user["id"], tok, {
        "role_name": "Viewer", "entity_type_name": "Control Planes", "entity_id": "*", "entity_region": "*"})] * 8)
    assert sorted(r.status_code for r in answers) == [201] + [409] * 7


def test_two_last_admins_deleting_each_other_at_once(server):
    o = server.create_org(uniq("duel"))
    tok = o["token"]
    SECRETS.append(tok)
    team = system_team(server, tok, "Organization Admin")
    second = invite(server, tok, full_name="Duelist")
    second_tok = new_pat(server, tok, second["id"])["konnect_token"]
    ok(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={"id": second["id"]}), 201)
    answers = _parallel(server, [("DELETE", "/v3/users/" + second["id"], tok, None),
                                 ("DELETE", "/v3/users/" + o["user_id"], second_tok, None)])
    codes = sorted(r.status_code for r in answers)
    # one deletion wins; the other request finds its caller gone (401), stripped of the
    # team (403) or the target the last admin (409), depending on the interleaving
    assert codes[0] == 204 and codes[1] in (401, 403, 409), codes
    survivors = [t for t in (tok, second_tok) if server.request("GET", "/v3/users/me", token=t).status_code == 200]
    assert len(survivors) == 1
    members = ok(server.request("GET", "/v3/teams/%s/users" % team["id"], token=survivors[0]))["data"]
    assert len(members) == 1


# --- last: nothing secret was logged --------------------------------------------------------------


def test_no_secret_in_the_logs(server, admin):
    """Every secret this module created (run last, it sees them all), after the server
    handled requests carrying them: successes, 401s of revoked tokens, 403s, 404s."""
    tok = admin["token"]
    user = invite(server, tok, full_name="Logged")
    pat = new_pat(server, tok, user["id"])
    sa = new_sa(server, tok)
    spat = new_spat(server, tok, sa["id"])
    assert ok(server.request("GET", "/v3/users/me", token=pat["konnect_token"]))
    assert_problem(server.request("GET", "/v3/users/me", token=spat["token"]), 403)
    assert_problem(server.request("GET", "/v3/teams/" + rnd(), token=spat["token"]), 404)
    ok(server.request("PATCH", "/v3/users/%s/access-tokens/%s/revoke" % (user["id"], pat["id"]), token=tok))
    assert_problem(server.request("GET", "/v3/users/me", token=pat["konnect_token"]), 401)
    logs = server.stdout() + server.stderr()
    assert '"route":"/v3/users/{userId}/access-tokens"' in server.stdout(), "the access log is missing"
    for secret in SECRETS:
        assert secret not in logs, "a token secret appears in the server's logs"
        assert secret[5:] not in logs
