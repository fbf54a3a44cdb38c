"""Who may read and write a control plane's configuration, what another control plane or
organization sees of it (nothing: byte-identical 404s), control plane groups, and what deletes
take with them or refuse."""
import uuid

import pytest

from conftest import NO_RATE_LIMITS, assert_problem, assign_role, invite_user_with_pat, module_server
from config_support import (ControlPlaneClient, make_certificate, make_consumer, make_route, make_service, new_ca,
                            new_control_plane, pem, slug)

server = module_server(env=NO_RATE_LIMITS)


@pytest.fixture(scope="module")
def admin(server):
    return server.create_org("config-access")


@pytest.fixture(scope="module")
def cp(server, admin):
    return new_control_plane(server, admin["token"])


@pytest.fixture(scope="module")
def c(server, admin, cp):
    return ControlPlaneClient(server, admin["token"], cp["id"])


def strip_instance(resp):
    body = resp.json()
    body.pop("instance")
    return body


def test_other_control_planes_and_organizations_see_nothing(server, admin, c):
    svc = make_service(c)
    other_cp = ControlPlaneClient(server, admin["token"], new_control_plane(server, admin["token"])["id"])
    missing = other_cp.get("/services/%s" % uuid.uuid4())
    foreign = other_cp.get("/services/%s" % svc["id"])
    assert_problem(foreign, 404)
    assert strip_instance(foreign) == strip_instance(missing)
    assert other_cp.get("/services/%s" % svc["name"]).status_code == 404
    assert other_cp.get("/services").json() == {"data": []}
    # The same id may live in two control planes: they are two entities.
    twin = other_cp.put("/services/%s" % svc["id"], {"host": "twin.internal"})
    assert twin.status_code == 200 and c.get("/services/%s" % svc["id"]).json()["host"] == "backend.internal"
    # Another organization: its token under this control plane's path gets the control plane's 404,
    # byte-identical (but for `instance`) to a control plane that does not exist.
    stranger = server.create_org("config-access-other")
    s = ControlPlaneClient(server, stranger["token"], c.cp_id)
    nowhere = ControlPlaneClient(server, stranger["token"], str(uuid.uuid4()))
    for method, path in (("GET", "/services"), ("GET", "/services/%s" % svc["id"]), ("POST", "/services"),
                         ("PUT", "/services/%s" % svc["id"]), ("DELETE", "/services/%s" % svc["id"]),
                         ("GET", "/schemas/plugins/key-auth"), ("GET", "/v1/available-plugins")):
        kwargs = {"json": {"host": "x"}} if method in ("POST", "PUT") else {}
        theirs, none = s.request(method, path, **kwargs), nowhere.request(method, path, **kwargs)
        assert_problem(theirs, 404)
        assert strip_instance(theirs) == strip_instance(none), (method, path)
    assert c.get("/services/%s" % svc["id"]).status_code == 200  # untouched
    assert_problem(c.server.request("GET", "/v2/control-planes/not-a-uuid/core-entities/services", token=c.token), 400)


def test_a_control_plane_group_is_read_only(server, admin):
    group = new_control_plane(server, admin["token"], cluster_type="CLUSTER_TYPE_CONTROL_PLANE_GROUP")
    g = ControlPlaneClient(server, admin["token"], group["id"])
    assert g.get("/services").json() == {"data": []}
    assert_problem(g.post("/services", {"host": "x"}), 409)
    assert_problem(g.put("/services/%s" % uuid.uuid4(), {"host": "x"}), 409)
    assert_problem(g.delete("/services/%s" % uuid.uuid4()), 409)
    # Validation still comes first (400 before 409).
    assert_problem(g.post("/services", {}), 400)


def test_deleting_a_service_with_routes_needs_force(c):
    svc = make_service(c)
    r1, r2 = make_route(c, svc["id"]), make_route(c, svc["id"])
    plugin = c.create("/routes/%s/plugins" % r1["id"], {"name": "cors"})
    svc_plugin = c.create("/services/%s/plugins" % svc["id"], {"name": "cors"})
    body = assert_problem(c.delete("/services/%s" % svc["name"]), 409)
    assert r1["id"] in body["detail"] and r2["id"] in body["detail"] and "force=true" in body["detail"]
    assert c.get("/services/%s" % svc["id"]).status_code == 200  # nothing was deleted
    assert c.delete("/services/%s?force=true" % svc["id"]).status_code == 204
    for path in ("/services/%s" % svc["id"], "/routes/%s" % r1["id"], "/routes/%s" % r2["id"],
                 "/plugins/%s" % plugin["id"], "/plugins/%s" % svc_plugin["id"]):
        assert_problem(c.get(path), 404)


def test_cascades_as_in_kong(c):
    consumer = make_consumer(c)
    creds = [c.create("/consumers/%s/%s" % (consumer["id"], kind), body)["id"]
             for kind, body in (("key-auth", {}), ("acls", {"group": "g"}), ("jwt", {}))]
    plugin = c.create("/consumers/%s/plugins" % consumer["id"], {"name": "rate-limiting", "config": {"minute": 1}})
    assert c.delete("/consumers/%s" % consumer["username"]).status_code == 204
    assert_problem(c.get("/plugins/%s" % plugin["id"]), 404)
    for plural, cid in zip(("key-auths", "acls", "jwts"), creds):
        assert_problem(c.get("/%s/%s" % (plural, cid)), 404)
    up = c.create("/upstreams", {"name": slug("u") + ".internal"})
    target = c.create("/upstreams/%s/targets" % up["id"], {"target": "10.1.1.1:80"})
    assert c.delete("/upstreams/%s" % up["name"]).status_code == 204
    assert target["id"] not in {t["id"] for t in c.list_all("/targets")}
    key_set = c.create("/key-sets", {"name": slug("ks")})
    key = c.create("/key-sets/%s/keys" % key_set["id"], {"kid": slug("k"), "pem": {"public_key": pem()["public_key"]}})
    assert c.delete("/key-sets/%s" % key_set["id"]).status_code == 204
    assert_problem(c.get("/keys/%s" % key["id"]), 404)


def test_references_that_refuse_a_delete(c):
    cert = make_certificate(c)
    svc = make_service(c, protocol="https", client_certificate={"id": cert["id"]})
    body = assert_problem(c.delete("/certificates/%s" % cert["id"]), 409)
    assert svc["id"] in body["detail"]
    assert_problem(c.delete("/certificates/%s?force=true" % cert["id"]), 409)  # force is for services only
    ca = c.create("/ca_certificates", {"cert": new_ca()})
    svc2 = make_service(c, protocol="https", ca_certificates=[ca["id"]])
    assert_problem(c.delete("/ca_certificates/%s" % ca["id"]), 409)
    mtls_ca = c.create("/ca_certificates", {"cert": new_ca()})
    c.create("/consumers/%s/mtls-auth" % make_consumer(c)["id"], {"subject_name": "cn", "ca_certificate": {"id": mtls_ca["id"]}})
    assert_problem(c.delete("/ca_certificates/%s" % mtls_ca["id"]), 409)
    # Once the referrer is gone, the delete goes through.
    assert c.delete("/services/%s" % svc2["id"]).status_code == 204
    assert c.delete("/ca_certificates/%s" % ca["id"]).status_code == 204
    # A reference to a certificate that does not exist is refused on write.
    body = assert_problem(c.post("/services", {"host": "x", "protocol": "https",
                                               "ca_certificates": [str(uuid.uuid4())]}), 400)
    assert body["invalid_parameters"][0]["rule"] == "missing_reference"


def test_deleting_a_control_plane_deletes_its_configuration(server, admin):
    cp = new_control_plane(server, admin["token"])
    c = ControlPlaneClient(server, admin["token"], cp["id"])
    svc = make_service(c)
    make_route(c, svc["id"])
    assert server.request("DELETE", "/v2/control-planes/%s" % cp["id"], token=admin["token"]).status_code == 204
    assert_problem(c.get("/services"), 404)
    # A new control plane never sees the old one's entities, even with the same ids.
    again = ControlPlaneClient(server, admin["token"], new_control_plane(server, admin["token"])["id"])
    assert_problem(again.get("/services/%s" % svc["id"]), 404)


# (role, entity type, readable, writable collections) — the control-plane roles of /v3/roles.
ROLES = [
    ("Viewer", set()),
    ("Admin", {"services", "routes", "plugins", "consumers", "certificates", "snis", "upstreams", "keys", "vaults"}),
    ("Deployer", {"services", "routes", "plugins"}),
    ("Gateway Service Admin", {"services"}),
    ("Route Admin", {"routes"}),
    ("Plugin Admin", {"plugins"}),
    ("Consumer Admin", {"consumers"}),
    ("Certificate Admin", {"certificates"}),
    ("SNI Admin", {"snis"}),
    ("Upstream Admin", {"upstreams"}),
]

WRITE_PROBES = {
    "services": ("/services", lambda c: {"host": "x.internal"}),
    "routes": ("/routes", lambda c: {"paths": ["/" + slug("r")]}),
    "plugins": ("/plugins", lambda c: {"name": "cors", "service": {"id": c.service_id}}),
    "consumers": ("/consumers", lambda c: {"username": slug("u")}),
    "certificates": ("/ca_certificates", lambda c: {"cert": new_ca()}),
    "snis": ("/snis", lambda c: {"name": slug("s") + ".example.com", "certificate": {"id": c.cert_id}}),
    "upstreams": ("/upstreams", lambda c: {"name": slug("u") + ".internal"}),
    "keys": ("/key-sets", lambda c: {"name": slug("ks")}),
    "vaults": ("/vaults", lambda c: {"name": "env", "prefix": slug("v")}),
}


@pytest.mark.parametrize("role,writes", ROLES, ids=[r[0] for r in ROLES])
def test_role_matrix(server, admin, cp, c, role, writes):
    user_id, token = invite_user_with_pat(server, admin["token"])
    other_cp = new_control_plane(server, admin["token"])
    assert assign_role(server, admin["token"], "users/%s" % user_id, role, entity_id=cp["id"]).status_code == 201
    u = ControlPlaneClient(server, token, cp["id"])
    u.cert_id = make_certificate(c)["id"]
    u.service_id = make_service(c)["id"]
    # Every role on the control plane reads all of its configuration; nothing of another one.
    assert u.get("/services").status_code == 200 and u.get("/consumers").status_code == 200
    assert_problem(ControlPlaneClient(server, token, other_cp["id"]).get("/services"), 403)
    for family, (path, body) in WRITE_PROBES.items():
        resp = u.post(path, body(u))
        if family in writes:
            assert resp.status_code == 201, (role, family, resp.text)
        else:
            problem = assert_problem(resp, 403)
            assert "Control Planes" in problem["detail"], problem


def test_no_role_at_all_is_403_and_validation_waits_for_permission(server, admin, cp):
    user_id, token = invite_user_with_pat(server, admin["token"])
    u = ControlPlaneClient(server, token, cp["id"])
    assert_problem(u.get("/services"), 403, "Insufficient permissions: role [Viewer] on [Control Planes] is required.")
    # 403 comes before the body's 400 (the contract's order), and before whether an entity exists.
    assert_problem(u.post("/services", {"bad": 1}), 403)
    assert_problem(u.get("/services/%s" % uuid.uuid4()), 403)
    assert_problem(u.get("/services/no-such-service/routes"), 403)  # not even a parent's existence
    viewer_id, viewer = invite_user_with_pat(server, admin["token"])
    assign_role(server, admin["token"], "users/%s" % viewer_id, "Viewer", entity_id=cp["id"])
    assert_problem(ControlPlaneClient(server, viewer, cp["id"]).post("/services", {"host": "x"}), 403,
                   "Insufficient permissions: role [Admin] or [Gateway Service Admin] on [Control Planes] is required.")


def test_missing_and_bad_tokens(server, c):
    assert_problem(server.request("GET", c.prefix + "/services"), 401)
    assert_problem(server.request("GET", c.prefix + "/services", token="kpat_" + "x" * 49), 401)
