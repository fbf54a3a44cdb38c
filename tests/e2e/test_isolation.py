"""Tenant isolation: two organizations on one server. Every id of organization A, on every
id-bearing route (identity and control planes, nested routes included), answers organization
B exactly as an id that never existed does (the same 404 body except `instance`); B's lists
never show A's ids; names and emails are unique per organization only; and A's data is
unchanged at the end."""
import pytest

from conftest import (CONTROL_PLANE_ID_ROUTES, IDENTITY_ROUTES, NO_RATE_LIMITS, assert_problem, module_server, ok,
                      rfc3339_in, rnd, route_params, uniq, valid_body)

ID_ROUTES = [(m, t) for m, t in IDENTITY_ROUTES + CONTROL_PLANE_ID_ROUTES if route_params(t)]
PAT_ROUTES = {t for _, t in IDENTITY_ROUTES if t.startswith("/v3/users/{userId}/access-tokens")}


server = module_server(NO_RATE_LIMITS)


def build_org(server, label):
    """An organization with one of everything: a user with a PAT, a team with the user and a
    system account as members, the account's token, role assignments on the user, the team
    and the account, a control plane; and a system account in Organization Admin whose
    token is a second kind of caller."""
    o = server.create_org(uniq(label))
    tok = o["token"]
    email = "%s@%s.example.com" % (uniq("member"), label)
    ok(server.request("POST", "/v3/invites", token=tok, json={"email": email}), 201)
    user = ok(server.request("GET", "/v3/users", token=tok, params={"filter[email][eq]": email}))["data"][0]
    user = ok(server.request("PATCH", "/v3/users/" + user["id"], token=tok, json={"full_name": label + " member"}))
    pat = ok(server.request("POST", "/v3/users/%s/access-tokens" % user["id"], token=tok,
                            json={"name": "member token", "ttl_seconds": 86400}), 201)
    team = ok(server.request("POST", "/v3/teams", token=tok,
                             json={"name": uniq(label + " team "), "labels": {"org": label}}), 201)
    sa = ok(server.request("POST", "/v3/system-accounts", token=tok,
                           json={"name": uniq(label + "-robot-"), "description": "robot of " + label}), 201)
    spat = ok(server.request("POST", "/v3/system-accounts/%s/access-tokens" % sa["id"], token=tok,
                             json={"name": "robot token", "expires_at": rfc3339_in(3600)}), 201)
    ok(server.request("POST", "/v3/teams/%s/users" % team["id"], token=tok, json={"id": user["id"]}), 201)
    ok(server.request("POST", "/v3/teams/%s/system-accounts" % team["id"], token=tok, json={"id": sa["id"]}), 201)
    cp = ok(server.request("POST", "/v2/control-planes", token=tok, json={"name": uniq(label + "-cp-")}), 201)
    roles = {}
    for kind, ident in (("users", user["id"]), ("teams", team["id"]), ("system-accounts", sa["id"])):
        roles[kind] = ok(server.request("POST", "/v3/%s/%s/assigned-roles" % (kind, ident), token=tok, json={
            "role_name": "Viewer", "entity_type_name": "Control Planes", "entity_id": cp["id"],
            "entity_region": "*"}), 201)
    # a system account administering the organization: a caller that is not a user
    robot = ok(server.request("POST", "/v3/system-accounts", token=tok,
                              json={"name": uniq(label + "-admin-robot-"), "description": "admin"}), 201)
    robot_token = ok(server.request("POST", "/v3/system-accounts/%s/access-tokens" % robot["id"], token=tok,
                                    json={"name": "admin robot", "expires_at": rfc3339_in(3600)}), 201)
    admin_team = [t for t in ok(server.request("GET", "/v3/teams", token=tok,
                                               params={"filter[name][eq]": "Organization Admin"}))["data"]
                  if t["system_team"]][0]
    ok(server.request("POST", "/v3/teams/%s/system-accounts" % admin_team["id"], token=tok,
                      json={"id": robot["id"]}), 201)
    return {"org": o, "token": tok, "user": user, "pat": pat, "team": team, "sa": sa, "spat": spat, "cp": cp,
            "roles": roles, "robot": robot, "robot_token": robot_token["token"], "admin_team": admin_team}


def snapshot(server, w):
    """Everything of an organization as its admin sees it (last_used_at aside)."""
    tok = w["token"]
    paths = ["/v3/organizations/me", "/v3/users/me", "/v3/users", "/v3/teams", "/v3/system-accounts",
             "/v2/control-planes",
             "/v3/users/" + w["user"]["id"], "/v3/users/%s/teams" % w["user"]["id"],
             "/v3/users/%s/access-tokens" % w["user"]["id"],
             "/v3/users/%s/access-tokens/%s" % (w["user"]["id"], w["pat"]["id"]),
             "/v3/teams/" + w["team"]["id"], "/v3/teams/%s/users" % w["team"]["id"],
             "/v3/teams/%s/system-accounts" % w["team"]["id"],
             "/v3/system-accounts/" + w["sa"]["id"], "/v3/system-accounts/%s/teams" % w["sa"]["id"],
             "/v3/system-accounts/%s/access-tokens" % w["sa"]["id"],
             "/v3/system-accounts/%s/access-tokens/%s" % (w["sa"]["id"], w["spat"]["id"]),
             "/v2/control-planes/" + w["cp"]["id"]]
    owners = {"users": w["user"]["id"], "teams": w["team"]["id"], "system-accounts": w["sa"]["id"]}
    for kind, role in w["roles"].items():
        paths.append("/v3/%s/%s/assigned-roles" % (kind, owners[kind]))
        paths.append("/v3/%s/%s/assigned-roles/%s" % (kind, owners[kind], role["id"]))

    def scrub(v):
        if isinstance(v, dict):
            return {k: scrub(x) for k, x in v.items() if k not in ("last_used_at",)}
        if isinstance(v, list):
            return [scrub(x) for x in v]
        return v

    return {p: scrub(ok(server.request("GET", p, token=tok))) for p in paths}


def ids_of(w):
    """Every id of the organization, by path parameter name."""
    return {"userId": w["user"]["id"], "teamId": w["team"]["id"], "accountId": w["sa"]["id"],
            "controlPlaneId": w["cp"]["id"]}


@pytest.fixture(scope="module")
def orgs(server):
    a = build_org(server, "alpha")
    b = build_org(server, "beta")
    a["before"] = snapshot(server, a)
    return a, b


def child_id(w, template):
    """The id of the nested resource a two-id route names, in organization `w`."""
    last = route_params(template)[-1]
    base = template.split("/")[2]
    if last == "tokenId":
        return w["spat"]["id"] if base == "system-accounts" else w["pat"]["id"]
    if last == "roleId":
        return w["roles"][base]["id"]
    if last == "userId":
        return w["user"]["id"]
    if last == "accountId":
        return w["sa"]["id"]
    raise AssertionError(template)


def body_for(method, template, w):
    body = valid_body(method, template, uniq())
    if body is None and method == "POST" and template.startswith("/v3/teams/{teamId}/"):
        body = {"id": w["user"]["id"] if template.endswith("/users") else w["sa"]["id"]}
    return body


def fill(template, values):
    return template.format(**dict(zip(route_params(template), values)))


def same_404(server, method, template, token, foreign, unknown, body):
    """`foreign` (ids including another organization's) answers exactly like `unknown`
    (ids including one that never existed): 404, same body but for `instance`."""
    got = server.request(method, fill(template, foreign), token=token, json=body)
    ref = server.request(method, fill(template, unknown), token=token, json=body)
    ref_body = assert_problem(ref, 404)
    got_body = assert_problem(got, 404)
    assert got.headers["Content-Type"] == ref.headers["Content-Type"]
    assert got_body["instance"] != ref_body["instance"]
    got_body.pop("instance")
    ref_body.pop("instance")
    assert got_body == ref_body, "%s %s: %s != %s" % (method, template, got_body, ref_body)


def _cases(w_a, w_b, template):
    """(foreign ids, unknown ids) pairs for a route: every id from A, and for nested routes
    B's parent with A's child, and A's parent with B's child."""
    names = route_params(template)
    a_ids, b_ids = ids_of(w_a), ids_of(w_b)
    if len(names) == 1:
        return [([a_ids[names[0]]], [rnd()])]
    a_parent, a_child = a_ids[names[0]], child_id(w_a, template)
    b_parent, b_child = b_ids[names[0]], child_id(w_b, template)
    return [([a_parent, a_child], [rnd(), rnd()]),
            ([b_parent, a_child], [b_parent, rnd()]),
            ([a_parent, b_child], [rnd(), b_child])]


@pytest.mark.parametrize("method,template", ID_ROUTES, ids=lambda v: v)
def test_foreign_ids_are_indistinguishable_from_unknown_ones(server, orgs, method, template):
    a, b = orgs
    for foreign, unknown in _cases(a, b, template):
        same_404(server, method, template, b["token"], foreign, unknown, body_for(method, template, b))


@pytest.mark.parametrize("method,template", [r for r in ID_ROUTES if r[1] not in PAT_ROUTES], ids=lambda v: v)
def test_foreign_ids_for_a_system_account_caller(server, orgs, method, template):
    """The same with B's Organization Admin system account token. (The PAT routes refuse
    system account tokens with 403; their order of checks is covered in test_identity.)"""
    a, b = orgs
    for foreign, unknown in _cases(a, b, template):
        same_404(server, method, template, b["robot_token"], foreign, unknown, body_for(method, template, b))


@pytest.mark.parametrize("kind", ["users", "system-accounts"])
def test_foreign_members_cannot_join_a_team(server, orgs, kind):
    a, b = orgs
    member = a["user"]["id"] if kind == "users" else a["sa"]["id"]
    path = "/v3/teams/%s/%s" % (b["team"]["id"], kind)
    got = server.request("POST", path, token=b["token"], json={"id": member})
    ref = server.request("POST", path, token=b["token"], json={"id": rnd()})
    got_body, ref_body = assert_problem(got, 404), assert_problem(ref, 404)
    got_body.pop("instance")
    ref_body.pop("instance")
    assert got_body == ref_body


def test_a_role_on_a_foreign_control_plane_grants_nothing(server, orgs):
    a, b = orgs
    # B's member holds Viewer on B's control plane; give them Admin on A's id as well
    grant = ok(server.request("POST", "/v3/users/%s/assigned-roles" % b["user"]["id"], token=b["token"], json={
        "role_name": "Admin", "entity_type_name": "Control Planes", "entity_id": a["cp"]["id"],
        "entity_region": "*"}), 201)
    member = b["pat"]["konnect_token"]
    assert ok(server.request("GET", "/v2/control-planes/" + b["cp"]["id"], token=member))["id"] == b["cp"]["id"]
    for method, body in (("GET", None), ("PATCH", {"name": "stolen"}), ("DELETE", None)):
        same_404(server, method, "/v2/control-planes/{controlPlaneId}", member, [a["cp"]["id"]], [rnd()], body)
    listed = ok(server.request("GET", "/v2/control-planes", token=member))
    assert [cp["id"] for cp in listed["data"]] == [b["cp"]["id"]]
    ok(server.request("DELETE", "/v3/users/%s/assigned-roles/%s" % (b["user"]["id"], grant["id"]),
                      token=b["token"]), 204)


def all_ids(w):
    ids = {w["org"]["organization_id"], w["org"]["user_id"], w["user"]["id"], w["pat"]["id"], w["team"]["id"],
           w["sa"]["id"], w["spat"]["id"], w["cp"]["id"], w["robot"]["id"], w["admin_team"]["id"]}
    ids |= {r["id"] for r in w["roles"].values()}
    return ids


def test_lists_never_show_another_organizations_ids(server, orgs):
    a, b = orgs
    foreign = all_ids(a)
    foreign_names = {a["user"]["email"], a["team"]["name"], a["sa"]["name"], a["cp"]["name"]}
    lists = ["/v3/users", "/v3/teams", "/v3/system-accounts", "/v2/control-planes", "/v3/users/me",
             "/v3/organizations/me",
             "/v3/users/%s/teams" % b["user"]["id"], "/v3/users/%s/access-tokens" % b["user"]["id"],
             "/v3/users/%s/access-tokens" % b["org"]["user_id"],
             "/v3/teams/%s/users" % b["team"]["id"], "/v3/teams/%s/system-accounts" % b["team"]["id"],
             "/v3/teams/%s/users" % b["admin_team"]["id"],
             "/v3/teams/%s/system-accounts" % b["admin_team"]["id"],
             "/v3/system-accounts/%s/access-tokens" % b["sa"]["id"], "/v3/system-accounts/%s/teams" % b["sa"]["id"],
             "/v3/users/%s/assigned-roles" % b["user"]["id"], "/v3/teams/%s/assigned-roles" % b["team"]["id"],
             "/v3/system-accounts/%s/assigned-roles" % b["sa"]["id"],
             "/v3/teams/%s/assigned-roles" % b["admin_team"]["id"]]
    for path in lists:
        for token in (b["token"], b["robot_token"]):
            resp = server.request("GET", path, token=token, params={"page[size]": 1000} if "/me" not in path and
                                  "access-tokens" not in path else None)
            if path == "/v3/users/me" and token == b["robot_token"]:
                assert resp.status_code == 403
                continue
            if path.startswith("/v3/users/") and "/access-tokens" in path and token == b["robot_token"]:
                assert resp.status_code == 403
                continue
            assert resp.status_code == 200, (path, resp.status_code, resp.text)
            for ident in foreign | foreign_names:
                assert ident not in resp.text, "GET %s shows %s of the other organization" % (path, ident)
    # B's own things are there (the lists are not simply empty)
    users = ok(server.request("GET", "/v3/users", token=b["token"]))["data"]
    assert {u["id"] for u in users} == {b["org"]["user_id"], b["user"]["id"]}
    teams = ok(server.request("GET", "/v3/teams", token=b["token"]))["data"]
    assert b["team"]["id"] in {t["id"] for t in teams} and len(teams) == 9
    cps = ok(server.request("GET", "/v2/control-planes", token=b["token"]))["data"]
    assert [cp["id"] for cp in cps] == [b["cp"]["id"]]
    accounts = ok(server.request("GET", "/v3/system-accounts", token=b["token"]))["data"]
    assert {x["id"] for x in accounts} == {b["sa"]["id"], b["robot"]["id"]}


@pytest.mark.parametrize("path,params", [
    ("/v3/users", "filter[email][eq]={email}"),
    ("/v3/users", "filter[id][eq]={user}"),
    ("/v3/users", "filter[email][contains]=alpha.example.com"),
    ("/v3/teams", "filter[name][eq]={team}"),
    ("/v3/teams", "filter[labels.org][eq]=alpha"),
    ("/v3/system-accounts", "filter[name][eq]={sa}"),
    ("/v3/system-accounts", "filter[description][contains]=alpha"),
    ("/v2/control-planes", "filter[id][eq]={cp}"),
    ("/v2/control-planes", "filter[name][eq]={cp_name}"),
])
def test_filters_do_not_reach_across_organizations(server, orgs, path, params):
    a, b = orgs
    query = params.format(email=a["user"]["email"], user=a["user"]["id"], team=a["team"]["name"],
                          sa=a["sa"]["name"], cp=a["cp"]["id"], cp_name=a["cp"]["name"])
    listed = ok(server.request("GET", path + "?" + query, token=b["token"]))
    assert listed["data"] == [] and listed["meta"]["page"]["total"] == 0
    # the same filter finds it in A
    assert len(ok(server.request("GET", path + "?" + query, token=a["token"]))["data"]) == 1


def test_names_and_emails_are_unique_per_organization_only(server, orgs):
    a, b = orgs
    tok = b["token"]
    # A's member is active in A; in B the email is new: 201, not 409
    resp = server.request("POST", "/v3/invites", token=tok, json={"email": a["user"]["email"]})
    assert resp.status_code == 201, resp.text
    invited = ok(server.request("GET", "/v3/users", token=tok, params={"filter[email][eq]": a["user"]["email"]}))
    assert len(invited["data"]) == 1 and invited["data"][0]["id"] != a["user"]["id"]
    assert invited["data"][0]["active"] is False
    sa = ok(server.request("POST", "/v3/system-accounts", token=tok,
                           json={"name": a["sa"]["name"], "description": "same name"}), 201)
    assert sa["id"] != a["sa"]["id"]
    cp = ok(server.request("POST", "/v2/control-planes", token=tok, json={"name": a["cp"]["name"]}), 201)
    assert cp["id"] != a["cp"]["id"]
    # within B the names now conflict
    assert_problem(server.request("POST", "/v3/system-accounts", token=tok,
                                  json={"name": a["sa"]["name"], "description": "again"}), 409)
    assert_problem(server.request("POST", "/v2/control-planes", token=tok, json={"name": a["cp"]["name"]}), 409)
    # clean up B, so that later checks of B's lists stay exact
    for path in ("/v3/users/" + invited["data"][0]["id"], "/v3/system-accounts/" + sa["id"],
                 "/v2/control-planes/" + cp["id"]):
        ok(server.request("DELETE", path, token=tok), 204)


def test_tokens_work_only_in_their_own_organization(server, orgs):
    a, b = orgs
    me = ok(server.request("GET", "/v3/users/me", token=a["pat"]["konnect_token"]))
    assert me["id"] == a["user"]["id"]
    assert ok(server.request("GET", "/v3/organizations/me", token=a["token"]))["id"] == a["org"]["organization_id"]
    assert ok(server.request("GET", "/v3/organizations/me", token=b["token"]))["id"] == b["org"]["organization_id"]
    # A's robot (Organization Admin of A) sees none of B
    for path in ("/v3/users/" + b["user"]["id"], "/v3/teams/" + b["team"]["id"],
                 "/v2/control-planes/" + b["cp"]["id"]):
        assert_problem(server.request("GET", path, token=a["robot_token"]), 404)


def test_organization_a_is_unchanged(server, orgs):
    a, _ = orgs
    after = snapshot(server, a)
    for path, before in a["before"].items():
        assert after[path] == before, "GET %s changed" % path
    assert ok(server.request("GET", "/v3/users/me", token=a["pat"]["konnect_token"]))["id"] == a["user"]["id"]
    assert ok(server.request("GET", "/v3/system-accounts/" + a["sa"]["id"], token=a["spat"]["token"]))
