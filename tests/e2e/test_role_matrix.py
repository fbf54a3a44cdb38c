"""Who may do what: a member of each predefined system team against a set of identity and
control plane reads and writes, then roles assigned directly (Control Planes Creator,
Viewer on one control plane, Admin on one or on all, the unassignable Identity Admin),
through a team, and to a system account. Every 403 names the role it needs."""
import pytest

from conftest import NO_RATE_LIMITS, assert_problem, module_server, ok, rfc3339_in, uniq

IDENTITY_403 = "Insufficient permissions: role [Admin] on [Identity] is required."
CP_403 = "Insufficient permissions: role [%s] on [Control Planes] is required."

# identity writes, identity reads, control plane writes, control plane reads
FULL = dict(identity_write=True, identity_read=True, cp_write=True, cp_read=True)
NONE = dict(identity_write=False, identity_read=False, cp_write=False, cp_read=False)
EXPECTED = {
    "Organization Admin": FULL,
    "Organization Admin (Read Only)": dict(NONE, identity_read=True, cp_read=True),
    "Control Plane Admin": dict(NONE, cp_write=True, cp_read=True),
    "API Product Admin": NONE,
    "API Product Developer": NONE,
    "Portal Admin": NONE,
    "Analytics Admin": NONE,
    "Analytics Viewer": NONE,
}


server = module_server(NO_RATE_LIMITS)


class Org:
    """An organization and the admin's helpers to populate it."""

    def __init__(self, server):
        self.server = server
        o = server.create_org(uniq("matrix"))
        self.token, self.admin_id = o["token"], o["user_id"]

    def req(self, method, path, token=None, **kw):
        return self.server.request(method, path, token=token or self.token, **kw)

    def user(self):
        email = "%s@example.com" % uniq("u")
        ok(self.req("POST", "/v3/invites", json={"email": email}), 201)
        user = ok(self.req("GET", "/v3/users", params={"filter[email][eq]": email}))["data"][0]
        pat = ok(self.req("POST", "/v3/users/%s/access-tokens" % user["id"],
                          json={"name": "matrix", "ttl_seconds": 86400}), 201)
        return user["id"], pat["konnect_token"]

    def teams(self):
        return ok(self.req("GET", "/v3/teams", params={"page[size]": 1000}))["data"]

    def team(self):
        return ok(self.req("POST", "/v3/teams", json={"name": uniq("custom ")}), 201)["id"]

    def cp(self):
        return ok(self.req("POST", "/v2/control-planes", json={"name": uniq("cp-")}), 201)["id"]

    def sa(self):
        return ok(self.req("POST", "/v3/system-accounts", json={"name": uniq("sa-"), "description": "d"}), 201)["id"]

    def assign(self, path, role, entity_id="*", entity_type="Control Planes"):
        return self.req("POST", "/v3/%s/assigned-roles" % path, json={
            "role_name": role, "entity_type_name": entity_type, "entity_id": entity_id, "entity_region": "*"})

    def join(self, team_id, user_id):
        ok(self.req("POST", "/v3/teams/%s/users" % team_id, json={"id": user_id}), 201)


@pytest.fixture(scope="module")
def org(server):
    return Org(server)


def test_the_predefined_teams(org):
    system = {t["name"]: t for t in org.teams() if t["system_team"]}
    assert set(system) == set(EXPECTED)
    for t in system.values():
        assert t["description"] and t["labels"] == {}


def expect(resp, allowed, status, detail):
    if allowed:
        return ok(resp, status)
    return assert_problem(resp, 403, detail)


@pytest.mark.parametrize("team_name", list(EXPECTED))
def test_system_team_member_powers(org, team_name):
    e = EXPECTED[team_name]
    team_id = [t["id"] for t in org.teams() if t["system_team"] and t["name"] == team_name][0]
    member_id, tok = org.user()
    org.join(team_id, member_id)
    other_id, _ = org.user()
    custom, disposable = org.team(), org.team()
    sa = org.sa()
    cp, disposable_cp = org.cp(), org.cp()

    # identity writes
    w = e["identity_write"]
    expect(org.req("POST", "/v3/teams", token=tok, json={"name": uniq("t ")}), w, 201, IDENTITY_403)
    expect(org.req("POST", "/v3/invites", token=tok, json={"email": "%s@example.com" % uniq("i")}), w, 201,
           IDENTITY_403)
    expect(org.req("POST", "/v3/system-accounts", token=tok, json={"name": uniq("s-"), "description": "d"}), w, 201,
           IDENTITY_403)
    expect(org.req("POST", "/v3/users/%s/assigned-roles" % other_id, token=tok, json={
        "role_name": "Viewer", "entity_type_name": "Control Planes", "entity_id": cp, "entity_region": "*"}),
        w, 201, IDENTITY_403)
    roles_of_other = ok(org.req("GET", "/v3/users/%s/assigned-roles" % other_id))["data"]
    assert len(roles_of_other) == (1 if w else 0)
    expect(org.req("PATCH", "/v3/teams/" + custom, token=tok, json={"description": "changed"}), w, 200, IDENTITY_403)
    expect(org.req("DELETE", "/v3/teams/" + disposable, token=tok), w, 204, IDENTITY_403)
    expect(org.req("POST", "/v3/teams/%s/users" % custom, token=tok, json={"id": other_id}), w, 201, IDENTITY_403)
    # the writes took effect exactly when allowed
    assert ok(org.req("GET", "/v3/teams/" + custom))["description"] == ("changed" if w else None)
    assert org.req("GET", "/v3/teams/" + disposable).status_code == (404 if w else 200)

    # identity reads
    r = e["identity_read"]
    expect(org.req("GET", "/v3/users/" + other_id, token=tok), r, 200, IDENTITY_403)
    expect(org.req("GET", "/v3/teams/" + custom, token=tok), r, 200, IDENTITY_403)
    expect(org.req("GET", "/v3/system-accounts/" + sa, token=tok), r, 200, IDENTITY_403)
    expect(org.req("GET", "/v3/users/%s/assigned-roles" % other_id, token=tok), r, 200, IDENTITY_403)
    users = ok(org.req("GET", "/v3/users", token=tok))
    if r:
        assert {other_id, member_id, org.admin_id} <= {u["id"] for u in users["data"]}
    else:
        assert [u["id"] for u in users["data"]] == [member_id]
    teams = ok(org.req("GET", "/v3/teams", token=tok))["data"]
    assert (custom in {t["id"] for t in teams}) == r
    assert team_id in {t["id"] for t in teams}, "a member always sees its own team"
    # a member reads its own team even without identity read access
    assert ok(org.req("GET", "/v3/teams/" + team_id, token=tok))["name"] == team_name

    # control planes
    cw, cr = e["cp_write"], e["cp_read"]
    created = expect(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("mine-")}), cw, 201,
                     CP_403 % "Creator")
    expect(org.req("PATCH", "/v2/control-planes/" + cp, token=tok, json={"description": "changed"}), cw, 200,
           CP_403 % "Admin")
    expect(org.req("DELETE", "/v2/control-planes/" + disposable_cp, token=tok), cw, 204, CP_403 % "Admin")
    expect(org.req("GET", "/v2/control-planes/" + cp, token=tok), cr, 200, CP_403 % "Viewer")
    assert ok(org.req("GET", "/v2/control-planes/" + cp))["description"] == ("changed" if cw else "")
    listed = {c["id"] for c in ok(org.req("GET", "/v2/control-planes", token=tok,
                                          params={"page[size]": 1000}))["data"]}
    if cr:
        assert {cp} | ({created["id"]} if cw else set()) <= listed
    else:
        assert listed == set()


def test_leaving_a_team_drops_its_powers_on_the_next_request(org):
    team_id = [t["id"] for t in org.teams() if t["name"] == "Control Plane Admin"][0]
    member_id, tok = org.user()
    org.join(team_id, member_id)
    cp = org.cp()
    ok(org.req("GET", "/v2/control-planes/" + cp, token=tok))
    ok(org.req("DELETE", "/v3/teams/%s/users/%s" % (team_id, member_id)), 204)
    assert_problem(org.req("GET", "/v2/control-planes/" + cp, token=tok), 403, CP_403 % "Viewer")
    assert_problem(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("x-")}), 403,
                   CP_403 % "Creator")


def test_identity_admin(org):
    """GET /v3/roles lists identity.admin. The spec's entity_type_name enum lacks "Identity";
    openkonnect accepts it (a documented extension) so that an Identity Admin can exist: it
    manages users, teams and system accounts, and nothing else."""
    roles = ok(org.req("GET", "/v3/roles"))
    assert roles["identity"]["roles"]["admin"]["name"] == "Admin"
    user_id, tok = org.user()
    assert_problem(org.req("POST", "/v3/teams", token=tok, json={"name": "x"}), 403, IDENTITY_403)
    # only Admin exists for Identity
    body = assert_problem(org.assign("users/" + user_id, "Viewer", entity_type="Identity"), 400)
    item = [p for p in body["invalid_parameters"] if p["field"] == "role_name"][0]
    assert item["rule"] == "enum" and item["choices"] == ["Admin"]
    ok(org.assign("users/" + user_id, "Admin", entity_type="Identity"), 201)
    ok(org.req("POST", "/v3/teams", token=tok, json={"name": uniq("idm-")}), 201)
    ok(org.req("POST", "/v3/system-accounts", token=tok, json={"name": uniq("sa-"), "description": "d"}), 201)
    ok(org.req("GET", "/v3/users", token=tok))
    assert_problem(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("c-")}), 403,
                   CP_403 % "Creator")
    # it works through a team and for system accounts too
    for path in ("teams/" + org.team(), "system-accounts/" + org.sa()):
        ok(org.assign(path, "Admin", entity_type="Identity"), 201)


def test_control_planes_creator(org):
    user_id, tok = org.user()
    others = org.cp()
    assert_problem(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("c-")}), 403,
                   CP_403 % "Creator")
    ok(org.assign("users/" + user_id, "Creator"), 201)
    mine = ok(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("c-")}), 201)
    second = ok(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("c-")}), 201)
    # the creator became Admin of what it created
    grants = ok(org.req("GET", "/v3/users/%s/assigned-roles" % user_id,
                        params={"filter[role_name][eq]": "Admin"}))["data"]
    assert {(g["entity_id"], g["entity_type_name"]) for g in grants} == \
        {(mine["id"], "Control Planes"), (second["id"], "Control Planes")}
    assert ok(org.req("GET", "/v2/control-planes/" + mine["id"], token=tok))["id"] == mine["id"]
    assert ok(org.req("PATCH", "/v2/control-planes/" + mine["id"], token=tok,
                      json={"description": "mine"}))["description"] == "mine"
    # not on the others'
    assert_problem(org.req("GET", "/v2/control-planes/" + others, token=tok), 403, CP_403 % "Viewer")
    assert_problem(org.req("PATCH", "/v2/control-planes/" + others, token=tok, json={"description": "x"}), 403,
                   CP_403 % "Admin")
    assert_problem(org.req("DELETE", "/v2/control-planes/" + others, token=tok), 403, CP_403 % "Admin")
    listed = ok(org.req("GET", "/v2/control-planes", token=tok))
    assert {c["id"] for c in listed["data"]} == {mine["id"], second["id"]}
    assert listed["meta"]["page"]["total"] == 2
    ok(org.req("DELETE", "/v2/control-planes/" + mine["id"], token=tok), 204)
    listed = ok(org.req("GET", "/v2/control-planes", token=tok))
    assert [c["id"] for c in listed["data"]] == [second["id"]]
    grants = ok(org.req("GET", "/v3/users/%s/assigned-roles" % user_id,
                        params={"filter[role_name][eq]": "Admin"}))["data"]
    assert [g["entity_id"] for g in grants] == [second["id"]]
    assert ok(org.req("GET", "/v2/control-planes/" + others))["description"] == ""


def test_control_planes_viewer_on_one(org):
    user_id, tok = org.user()
    seen, unseen = org.cp(), org.cp()
    ok(org.assign("users/" + user_id, "Viewer", seen), 201)
    assert ok(org.req("GET", "/v2/control-planes/" + seen, token=tok))["id"] == seen
    assert_problem(org.req("PATCH", "/v2/control-planes/" + seen, token=tok, json={"description": "x"}), 403,
                   CP_403 % "Admin")
    assert_problem(org.req("DELETE", "/v2/control-planes/" + seen, token=tok), 403, CP_403 % "Admin")
    assert_problem(org.req("GET", "/v2/control-planes/" + unseen, token=tok), 403, CP_403 % "Viewer")
    assert_problem(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("v-")}), 403,
                   CP_403 % "Creator")
    assert [c["id"] for c in ok(org.req("GET", "/v2/control-planes", token=tok))["data"]] == [seen]
    assert_problem(org.req("POST", "/v3/teams", token=tok, json={"name": "x"}), 403, IDENTITY_403)


def test_control_planes_admin_on_one(org):
    user_id, tok = org.user()
    mine, other, spare = org.cp(), org.cp(), org.cp()
    ok(org.assign("users/" + user_id, "Admin", mine), 201)
    assert ok(org.req("PATCH", "/v2/control-planes/" + mine, token=tok, json={"description": "a"}))
    assert_problem(org.req("PATCH", "/v2/control-planes/" + other, token=tok, json={"description": "x"}), 403,
                   CP_403 % "Admin")
    assert_problem(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("a-")}), 403,
                   CP_403 % "Creator")
    ok(org.req("DELETE", "/v2/control-planes/" + mine, token=tok), 204)
    assert ok(org.req("GET", "/v2/control-planes/" + spare))


def test_control_planes_admin_on_all(org):
    user_id, tok = org.user()
    existing = org.cp()
    ok(org.assign("users/" + user_id, "Admin", "*"), 201)
    created = ok(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("all-")}), 201)
    assert ok(org.req("PATCH", "/v2/control-planes/" + existing, token=tok, json={"description": "b"}))
    listed = {c["id"] for c in ok(org.req("GET", "/v2/control-planes", token=tok,
                                          params={"page[size]": 1000}))["data"]}
    admin_listed = {c["id"] for c in ok(org.req("GET", "/v2/control-planes", params={"page[size]": 1000}))["data"]}
    assert listed == admin_listed and {existing, created["id"]} <= listed
    ok(org.req("DELETE", "/v2/control-planes/" + existing, token=tok), 204)
    ok(org.req("DELETE", "/v2/control-planes/" + created["id"], token=tok), 204)
    # no identity powers come with it
    assert_problem(org.req("POST", "/v3/invites", token=tok, json={"email": "z@example.com"}), 403, IDENTITY_403)
    assert_problem(org.req("GET", "/v3/users/" + org.admin_id, token=tok), 403, IDENTITY_403)


def test_roles_through_a_custom_team_and_their_removal(org):
    user_id, tok = org.user()
    team = org.team()
    org.join(team, user_id)
    role = ok(org.assign("teams/" + team, "Creator"), 201)
    created = ok(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("t-")}), 201)
    # the creator's Admin grant goes to the caller itself, not to the team
    assert ok(org.req("GET", "/v2/control-planes/" + created["id"], token=tok))
    ok(org.req("DELETE", "/v3/teams/%s/assigned-roles/%s" % (team, role["id"])), 204)
    assert_problem(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("t-")}), 403,
                   CP_403 % "Creator")
    assert ok(org.req("PATCH", "/v2/control-planes/" + created["id"], token=tok, json={"description": "kept"}))


def test_direct_role_removal_applies_on_the_next_request(org):
    user_id, tok = org.user()
    cp = org.cp()
    role = ok(org.assign("users/" + user_id, "Viewer", cp), 201)
    ok(org.req("GET", "/v2/control-planes/" + cp, token=tok))
    ok(org.req("DELETE", "/v3/users/%s/assigned-roles/%s" % (user_id, role["id"])), 204)
    assert_problem(org.req("GET", "/v2/control-planes/" + cp, token=tok), 403, CP_403 % "Viewer")


def test_system_account_roles(org):
    sa = org.sa()
    token = ok(org.req("POST", "/v3/system-accounts/%s/access-tokens" % sa,
                       json={"name": "robot", "expires_at": rfc3339_in(3600)}), 201)["token"]
    cp = org.cp()
    assert_problem(org.req("GET", "/v2/control-planes/" + cp, token=token), 403, CP_403 % "Viewer")
    ok(org.assign("system-accounts/" + sa, "Viewer", cp), 201)
    assert ok(org.req("GET", "/v2/control-planes/" + cp, token=token))["id"] == cp
    assert_problem(org.req("PATCH", "/v2/control-planes/" + cp, token=token, json={"description": "x"}), 403,
                   CP_403 % "Admin")
    # through a system team
    cp_admins = [t["id"] for t in org.teams() if t["name"] == "Control Plane Admin"][0]
    ok(org.req("POST", "/v3/teams/%s/system-accounts" % cp_admins, json={"id": sa}), 201)
    assert ok(org.req("PATCH", "/v2/control-planes/" + cp, token=token, json={"description": "robot"}))
    assert_problem(org.req("POST", "/v3/teams", token=token, json={"name": "x"}), 403, IDENTITY_403)
    # an account reads itself and its own teams and roles without identity read access
    assert ok(org.req("GET", "/v3/system-accounts/" + sa, token=token))["id"] == sa
    assert cp_admins in {t["id"] for t in ok(org.req("GET", "/v3/system-accounts/%s/teams" % sa,
                                                     token=token))["data"]}
    assert len(ok(org.req("GET", "/v3/system-accounts/%s/assigned-roles" % sa, token=token))["data"]) == 1


def test_deleting_a_team_drops_its_roles_on_the_next_request(org):
    user_id, tok = org.user()
    team = org.team()
    org.join(team, user_id)
    ok(org.assign("teams/" + team, "Creator"), 201)
    ok(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("d-")}), 201)
    ok(org.req("DELETE", "/v3/teams/" + team), 204)
    assert_problem(org.req("POST", "/v2/control-planes", token=tok, json={"name": uniq("d-")}), 403,
                   CP_403 % "Creator")
    assert ok(org.req("GET", "/v3/users/%s/teams" % user_id))["data"] == []
