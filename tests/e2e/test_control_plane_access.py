"""Who reaches which control plane. Across organizations: every control plane route (group
routes included) answers another organization's ids exactly like ids that never existed, and
lists and filters never show them. Within one: Creator, Viewer on one, Admin on one, Admin on
all, and the Organization Admin (Read Only) team, on every control plane route, with 403s
that name the role needed."""
import pytest

from conftest import (NO_RATE_LIMITS, assert_problem, assign_role, invite_user_with_pat, module_server, ok, param,
                      rnd, uniq)

CP = "/v2/control-planes"
GROUP = "CLUSTER_TYPE_CONTROL_PLANE_GROUP"
NEED = "Insufficient permissions: role [%s] on [Control Planes] is required."


server = module_server(NO_RATE_LIMITS)


class Org:
    def __init__(self, server, label):
        self.server = server
        o = server.create_org(uniq(label))
        self.token, self.admin_id = o["token"], o["user_id"]

    def req(self, method, path, token=None, **kw):
        return self.server.request(method, path, token=token or self.token, **kw)

    def cp(self, **body):
        body.setdefault("name", uniq("cp-"))
        return ok(self.req("POST", CP, json=body), 201)

    def group(self, members=()):
        g = self.cp(cluster_type=GROUP, name=uniq("group-"))
        if members:
            ok(self.req("PUT", "%s/%s/group-memberships" % (CP, g["id"]),
                        json={"members": [{"id": m} for m in members]}), 204)
        return g

    def user(self, *grants):
        """A user holding the given (role, entity id) grants on Control Planes; returns its token."""
        user_id, token = invite_user_with_pat(self.server, self.token)
        for role, entity in grants:
            ok(assign_role(self.server, self.token, "users/" + user_id, role, entity), 201)
        return token

    def team_member(self, team_name):
        user_id, token = invite_user_with_pat(self.server, self.token)
        teams = ok(self.req("GET", "/v3/teams", params={"filter[name][eq]": team_name}))["data"]
        team = [t for t in teams if t["system_team"] and t["name"] == team_name][0]
        ok(self.req("POST", "/v3/teams/%s/users" % team["id"], json={"id": user_id}), 201)
        return token

    def listed(self, token=None, **params):
        params.setdefault("page[size]", 1000)
        return ok(self.req("GET", CP, token=token, params=params))

    def members(self, group_id, token=None):
        return {m["id"] for m in ok(self.req("GET", "%s/%s/group-memberships" % (CP, group_id), token=token,
                                             params={"page[size]": 1000}))["data"]}


def members_body(*ids):
    return {"members": [{"id": i} for i in ids]}


# --- across organizations -------------------------------------------------------------------


@pytest.fixture(scope="module")
def two(server):
    a, b = Org(server, "alpha"), Org(server, "beta")
    a.member = a.cp(labels={"org": "alpha"})["id"]
    a.spare = a.cp()["id"]
    a.grp = a.group([a.member])["id"]
    b.own = b.cp(labels={"org": "beta"})["id"]
    b.grp = b.group([b.own])["id"]
    return a, b


def snapshot(o, ids, groups):
    state = {i: ok(o.req("GET", "%s/%s" % (CP, i))) for i in ids}
    for g in groups:
        state[g + "/members"] = sorted(o.members(g))
        state[g + "/status"] = ok(o.req("GET", "%s/%s/group-status" % (CP, g)))
    for i in ids:
        state[i + "/member"] = ok(o.req("GET", "%s/%s/group-member-status" % (CP, i)))
    return state


# (method, path tail, which of A's ids, body)
FOREIGN_ROUTES = [
    ("GET", "", "member", None),
    ("PATCH", "", "member", {"description": "stolen"}),
    ("DELETE", "", "spare", None),
    ("GET", "", "grp", None),
    ("DELETE", "", "grp", None),
    ("GET", "/group-memberships", "grp", None),
    ("PUT", "/group-memberships", "grp", "b-own"),
    ("POST", "/group-memberships/add", "grp", "b-own"),
    ("POST", "/group-memberships/remove", "grp", "a-member"),
    ("GET", "/group-member-status", "member", None),
    ("GET", "/group-status", "grp", None),
]


def body_of(kind, a, b):
    if kind == "b-own":
        return members_body(b.own)
    if kind == "a-member":
        return members_body(a.member)
    return kind


@pytest.mark.parametrize("method,tail,which,body", FOREIGN_ROUTES, ids=lambda v: v if isinstance(v, str) else "")
def test_foreign_ids_answer_like_unknown_ones(server, two, method, tail, which, body):
    a, b = two
    before = snapshot(a, [a.member, a.spare, a.grp], [a.grp])
    foreign = b.req(method, "%s/%s%s" % (CP, getattr(a, which), tail), json=body_of(body, a, b))
    unknown = b.req(method, "%s/%s%s" % (CP, rnd(), tail), json=body_of(body, a, b))
    got, ref = assert_problem(foreign, 404), assert_problem(unknown, 404)
    assert foreign.headers["Content-Type"] == unknown.headers["Content-Type"]
    assert got.pop("instance") != ref.pop("instance")
    assert got == ref, "%s %s: %s != %s" % (method, tail, got, ref)
    assert snapshot(a, [a.member, a.spare, a.grp], [a.grp]) == before


@pytest.mark.parametrize("how", ["put", "add", "remove"])
def test_foreign_members_in_bodies_are_unknown(server, two, how):
    a, b = two
    path = "%s/%s/group-memberships%s" % (CP, b.grp, "" if how == "put" else "/" + how)
    method = "PUT" if how == "put" else "POST"
    if how == "remove":
        # removing what is not a member is a no-op, foreign or not: nothing of A changes
        ok(b.req(method, path, json=members_body(a.member)), 204)
    else:
        unknown = rnd()
        got = assert_problem(b.req(method, path, json=members_body(b.own, a.member)), 400)
        ref = assert_problem(b.req(method, path, json=members_body(b.own, unknown)), 400)
        assert param(got, "members[1].id")["rule"] == "missing_reference"
        got.pop("instance")
        ref.pop("instance")
        assert str(got).replace(a.member, "<id>") == str(ref).replace(unknown, "<id>")
    assert b.members(b.grp) == {b.own}
    assert a.members(a.grp) == {a.member}


def test_lists_and_filters_never_show_another_organization(server, two):
    a, b = two
    a_ids = {a.member, a.spare, a.grp}
    a_names = {ok(a.req("GET", "%s/%s" % (CP, i)))["name"] for i in a_ids}
    assert {c["id"] for c in b.listed()["data"]} == {b.own, b.grp}
    queries = [{"filter[id][eq]": a.member}, {"filter[id][oeq]": ",".join(a_ids)},
               {"filter[name][contains]": "cp-"}, {"labels": "org:alpha"}, {"labels": "org"},
               {"filter[cluster_type][eq]": GROUP}, {"filter[cloud_gateway]": "false"}]
    for q in queries:
        body = b.listed(**q)
        for cp in body["data"]:
            assert cp["id"] not in a_ids and cp["name"] not in a_names, (q, cp)
        assert body["meta"]["page"]["total"] == len(body["data"])
    assert b.listed(**{"filter[id][eq]": a.member})["data"] == []
    assert [c["id"] for c in b.listed(labels="org")["data"]] == [b.own]
    assert [c["id"] for c in b.listed(**{"filter[cluster_type][eq]": GROUP})["data"]] == [b.grp]
    assert b.members(b.grp) == {b.own}
    # and the same queries find A's in A
    assert [c["id"] for c in a.listed(**{"filter[id][eq]": a.member})["data"]] == [a.member]
    assert [c["id"] for c in a.listed(labels="org:alpha")["data"]] == [a.member]


def test_same_names_in_two_organizations(server, two):
    a, b = two
    name = ok(a.req("GET", "%s/%s" % (CP, a.member)))["name"]
    twin = b.cp(name=name)
    assert twin["id"] != a.member
    assert_problem(b.req("POST", CP, json={"name": name}), 409, "Control plane with name [%s] already exists." % name)
    ok(b.req("DELETE", "%s/%s" % (CP, twin["id"])), 204)
    assert ok(a.req("GET", "%s/%s" % (CP, a.member)))["name"] == name


# --- roles within one organization ----------------------------------------------------------


@pytest.fixture(scope="module")
def org(server):
    return Org(server, "roles")


def expect_403(resp, role):
    return assert_problem(resp, 403, NEED % role)


def writes(o, token, cp_id, group_id, member_id):
    """Every write on cp_id / group_id (membership writes add member_id), as responses."""
    return {
        "patch": o.req("PATCH", "%s/%s" % (CP, cp_id), token=token, json={"description": "by " + token[-6:]}),
        "put": o.req("PUT", "%s/%s/group-memberships" % (CP, group_id), token=token, json=members_body(member_id)),
        "add": o.req("POST", "%s/%s/group-memberships/add" % (CP, group_id), token=token,
                     json=members_body(member_id)),
        "remove": o.req("POST", "%s/%s/group-memberships/remove" % (CP, group_id), token=token,
                        json=members_body(member_id)),
    }


def reads(o, token, cp_id, group_id):
    return {
        "get": o.req("GET", "%s/%s" % (CP, cp_id), token=token),
        "get-group": o.req("GET", "%s/%s" % (CP, group_id), token=token),
        "memberships": o.req("GET", "%s/%s/group-memberships" % (CP, group_id), token=token),
        "member-status": o.req("GET", "%s/%s/group-member-status" % (CP, cp_id), token=token),
        "group-status": o.req("GET", "%s/%s/group-status" % (CP, group_id), token=token),
    }


def test_no_role_at_all(org):
    cp, member = org.cp()["id"], org.cp()["id"]
    group = org.group([member])["id"]
    tok = org.user()
    for resp in reads(org, tok, cp, group).values():
        expect_403(resp, "Viewer")
    for resp in writes(org, tok, cp, group, cp).values():
        expect_403(resp, "Admin")
    expect_403(org.req("DELETE", "%s/%s" % (CP, cp), token=tok), "Admin")
    expect_403(org.req("POST", CP, token=tok, json={"name": uniq("c-")}), "Creator")
    # 404 comes before 403, and 403 before the body's 400
    assert_problem(org.req("GET", "%s/%s" % (CP, rnd()), token=tok), 404)
    expect_403(org.req("PATCH", "%s/%s" % (CP, cp), token=tok, json={"name": "x", "bogus": 1}), "Admin")
    expect_403(org.req("POST", CP, token=tok, json={"name": "x"}), "Creator")
    listed = org.listed(tok)
    assert listed["data"] == [] and listed["meta"]["page"]["total"] == 0
    assert org.members(group) == {member}


def test_creator(org):
    others, other_member = org.cp()["id"], org.cp()["id"]
    others_group = org.group([other_member])["id"]
    tok = org.user(("Creator", "*"))
    mine = ok(org.req("POST", CP, token=tok, json={"name": uniq("mine-")}), 201)["id"]
    my_group = ok(org.req("POST", CP, token=tok, json={"name": uniq("mygroup-"), "cluster_type": GROUP}), 201)["id"]
    # what it created, it administers
    assert ok(org.req("PATCH", "%s/%s" % (CP, mine), token=tok, json={"description": "mine"}))["description"] == "mine"
    for name, resp in reads(org, tok, mine, my_group).items():
        assert resp.status_code == 200, (name, resp.text)
    ok(org.req("PUT", "%s/%s/group-memberships" % (CP, my_group), token=tok, json=members_body(mine)), 204)
    assert org.members(my_group, tok) == {mine}
    ok(org.req("POST", "%s/%s/group-memberships/remove" % (CP, my_group), token=tok, json=members_body(mine)), 204)
    # not what others created
    for resp in reads(org, tok, others, others_group).values():
        expect_403(resp, "Viewer")
    for resp in writes(org, tok, others, others_group, mine).values():
        expect_403(resp, "Admin")
    expect_403(org.req("DELETE", "%s/%s" % (CP, others), token=tok), "Admin")
    listed = org.listed(tok)
    assert {c["id"] for c in listed["data"]} == {mine, my_group} and listed["meta"]["page"]["total"] == 2
    ok(org.req("DELETE", "%s/%s" % (CP, mine), token=tok), 204)
    ok(org.req("DELETE", "%s/%s" % (CP, my_group), token=tok), 204)
    assert org.listed(tok)["data"] == []
    assert ok(org.req("GET", "%s/%s" % (CP, others)))["description"] == ""
    assert org.members(others_group) == {other_member}


def test_viewer_on_one(org):
    seen, unseen, member = org.cp()["id"], org.cp()["id"], org.cp()["id"]
    group = org.group([member])["id"]
    tok = org.user(("Viewer", seen), ("Viewer", group))
    assert ok(org.req("GET", "%s/%s" % (CP, seen), token=tok))["id"] == seen
    assert ok(org.req("GET", "%s/%s/group-member-status" % (CP, seen), token=tok)) == {"is_member": False}
    assert org.members(group, tok) == {member}
    assert ok(org.req("GET", "%s/%s/group-status" % (CP, group), token=tok))["item"]["state"] == "OK"
    for resp in writes(org, tok, seen, group, seen).values():
        expect_403(resp, "Admin")
    expect_403(org.req("DELETE", "%s/%s" % (CP, seen), token=tok), "Admin")
    expect_403(org.req("DELETE", "%s/%s" % (CP, group), token=tok), "Admin")
    expect_403(org.req("GET", "%s/%s" % (CP, unseen), token=tok), "Viewer")
    expect_403(org.req("GET", "%s/%s/group-member-status" % (CP, unseen), token=tok), "Viewer")
    expect_403(org.req("POST", CP, token=tok, json={"name": uniq("v-")}), "Creator")
    assert {c["id"] for c in org.listed(tok)["data"]} == {seen, group}
    assert ok(org.req("GET", "%s/%s" % (CP, seen)))["description"] == ""
    assert org.members(group) == {member}


def test_admin_on_one(org):
    mine, other, member = org.cp()["id"], org.cp()["id"], org.cp()["id"]
    my_group = org.group()["id"]
    tok = org.user(("Admin", mine), ("Admin", my_group))
    assert ok(org.req("PATCH", "%s/%s" % (CP, mine), token=tok, json={"labels": {"by": "admin"}}))["labels"] == \
        {"by": "admin"}
    # Adding a member needs Admin on the member too (joining a group exposes it to the
    # group's readers); removing one needs only Admin on the group.
    expect_403(org.req("PUT", "%s/%s/group-memberships" % (CP, my_group), token=tok,
                       json=members_body(mine, member)), "Admin")
    expect_403(org.req("POST", "%s/%s/group-memberships/add" % (CP, my_group), token=tok,
                       json=members_body(member)), "Admin")
    assert org.members(my_group, tok) == set()
    ok(org.req("PUT", "%s/%s/group-memberships" % (CP, my_group), json=members_body(mine, member)), 204)
    ok(org.req("POST", "%s/%s/group-memberships/remove" % (CP, my_group), token=tok, json=members_body(member)), 204)
    assert org.members(my_group, tok) == {mine}
    # not the others
    expect_403(org.req("GET", "%s/%s" % (CP, other), token=tok), "Viewer")
    expect_403(org.req("PATCH", "%s/%s" % (CP, other), token=tok, json={"description": "x"}), "Admin")
    expect_403(org.req("DELETE", "%s/%s" % (CP, other), token=tok), "Admin")
    expect_403(org.req("POST", CP, token=tok, json={"name": uniq("a-")}), "Creator")
    assert {c["id"] for c in org.listed(tok)["data"]} == {mine, my_group}
    ok(org.req("POST", "%s/%s/group-memberships/remove" % (CP, my_group), token=tok, json=members_body(mine)), 204)
    ok(org.req("DELETE", "%s/%s" % (CP, mine), token=tok), 204)
    ok(org.req("DELETE", "%s/%s" % (CP, my_group), token=tok), 204)
    assert ok(org.req("GET", "%s/%s" % (CP, other)))["id"] == other


def test_admin_on_all(org):
    existing, member = org.cp()["id"], org.cp()["id"]
    group = org.group([member])["id"]
    tok = org.user(("Admin", "*"))
    created = ok(org.req("POST", CP, token=tok, json={"name": uniq("all-")}), 201)["id"]
    for name, resp in reads(org, tok, existing, group).items():
        assert resp.status_code == 200, (name, resp.text)
    for name, resp in writes(org, tok, existing, group, created).items():
        assert resp.status_code in (200, 204), (name, resp.text)
    assert org.members(group) == set()  # PUT [created] replaced member, add kept it, remove took it out
    assert {c["id"] for c in org.listed(tok)["data"]} == {c["id"] for c in org.listed()["data"]}
    ok(org.req("POST", "%s/%s/group-memberships/remove" % (CP, group), token=tok, json=members_body(member)), 204)
    for i in (existing, member, group, created):
        ok(org.req("DELETE", "%s/%s" % (CP, i), token=tok), 204)
    # no identity powers come with it
    assert_problem(org.req("POST", "/v3/teams", token=tok, json={"name": "x"}), 403)


def test_organization_admin_read_only(org):
    cp, member = org.cp(description="untouched")["id"], org.cp()["id"]
    group = org.group([member])["id"]
    tok = org.team_member("Organization Admin (Read Only)")
    before = ok(org.req("GET", "%s/%s" % (CP, cp)))
    for name, resp in reads(org, tok, cp, group).items():
        assert resp.status_code == 200, (name, resp.text)
    assert ok(org.req("GET", "%s/%s/group-member-status" % (CP, member), token=tok)) == {"is_member": True}
    assert org.members(group, tok) == {member}
    assert {c["id"] for c in org.listed(tok)["data"]} == {c["id"] for c in org.listed()["data"]}
    for resp in writes(org, tok, cp, group, cp).values():
        expect_403(resp, "Admin")
    expect_403(org.req("DELETE", "%s/%s" % (CP, cp), token=tok), "Admin")
    expect_403(org.req("POST", CP, token=tok, json={"name": uniq("ro-")}), "Creator")
    assert ok(org.req("GET", "%s/%s" % (CP, cp))) == before
    assert org.members(group) == {member}


@pytest.mark.parametrize("role", ["Deployer", "Plugin Admin", "Gateway Service Admin"])
def test_other_roles_on_an_id_grant_reading_it(org, role):
    """docs/API.md: any other control-plane role on an id grants read access to that id."""
    cp, other = org.cp()["id"], org.cp()["id"]
    tok = org.user((role, cp))
    assert ok(org.req("GET", "%s/%s" % (CP, cp), token=tok))["id"] == cp
    assert [c["id"] for c in org.listed(tok)["data"]] == [cp]
    expect_403(org.req("PATCH", "%s/%s" % (CP, cp), token=tok, json={"description": "x"}), "Admin")
    expect_403(org.req("DELETE", "%s/%s" % (CP, cp), token=tok), "Admin")
    expect_403(org.req("GET", "%s/%s" % (CP, other), token=tok), "Viewer")
    expect_403(org.req("POST", CP, token=tok, json={"name": uniq("d-")}), "Creator")


def test_cached_pages_follow_every_write_and_every_reader(org):
    """Rendered list pages are cached (api/generation_cache.hpp): the same query must still
    answer each reader with what it may see, and reflect a write as soon as it is acknowledged."""
    tag = uniq("cache-")
    a, b = org.cp(name=tag + "-a")["id"], org.cp(name=tag + "-b")["id"]
    only_a, only_b = org.user(("Viewer", a)), org.user(("Viewer", b))
    query = {"filter[name][contains]": tag, "page[size]": 10}
    for _ in range(2):  # the second round is answered from the cache
        assert [c["id"] for c in org.listed(only_a, **query)["data"]] == [a]
        assert [c["id"] for c in org.listed(only_b, **query)["data"]] == [b]
        assert {c["id"] for c in org.listed(**query)["data"]} == {a, b}
    # a rename, a new control plane, a new grant and a delete each show on the next read
    ok(org.req("PATCH", "%s/%s" % (CP, a), json={"name": tag + "-renamed"}))
    assert {c["name"] for c in org.listed(**query)["data"]} == {tag + "-renamed", tag + "-b"}
    c = org.cp(name=tag + "-c")["id"]
    assert org.listed(**query)["meta"]["page"]["total"] == 3
    assert [x["id"] for x in org.listed(only_a, **query)["data"]] == [a]
    only_a_id = ok(org.req("GET", "/v3/users/me", token=only_a))["id"]
    ok(assign_role(org.server, org.token, "users/" + only_a_id, "Viewer", c), 201)
    assert {x["id"] for x in org.listed(only_a, **query)["data"]} == {a, c}
    ok(org.req("DELETE", "%s/%s" % (CP, b)), 204)
    assert org.listed(only_b, **query)["data"] == []
    assert {x["id"] for x in org.listed(**query)["data"]} == {a, c}


def test_lists_without_the_page_cache(start_server):
    """--list-cache-mib 0: every list is read from the database, with the same answers."""
    srv = start_server("--list-cache-mib", "0")
    o = Org(srv, "nocache")
    first = o.cp()["id"]
    assert [c["id"] for c in o.listed()["data"]] == [first]
    second = o.cp()["id"]
    assert {c["id"] for c in o.listed()["data"]} == {first, second}
    assert o.listed(**{"filter[name][contains]": "zzz-none"})["meta"]["page"]["total"] == 0
