"""Gateway configuration entities, table-driven: every path and method of every entity the
server implements (Control Plane Configuration v2), with every 2xx body checked against the
spec's response schema."""
import pytest

from conftest import NO_RATE_LIMITS, assert_problem, module_server, param
from config_support import (BASE, ControlPlaneClient, credentials, make_consumer, make_service, new_control_plane,
                            new_ca, pem, slug, top_level_entities, validate_config)

server = module_server(env=NO_RATE_LIMITS)


@pytest.fixture(scope="module")
def admin(server):
    return server.create_org("config-entities")


@pytest.fixture(scope="module")
def c(server, admin):
    cp = new_control_plane(server, admin["token"])
    return ControlPlaneClient(server, admin["token"], cp["id"])


ENTITIES = top_level_entities()


@pytest.mark.parametrize("path,item,factory,key", ENTITIES, ids=[e[0] for e in ENTITIES])
def test_create_read_list_replace_delete(c, path, item, factory, key):
    body = factory(c)
    created = c.create("/" + path, body, BASE + "/" + path)
    assert isinstance(created["created_at"], int) and isinstance(created["updated_at"], int)
    eid = created["id"]
    item_template = "%s/%s/{%s}" % (BASE, path, item)

    got = c.get("/%s/%s" % (path, eid))
    assert got.status_code == 200, got.text
    if path == "consumer_groups":
        validate_config(got.json(), "GET", item_template, 200)
        assert got.json()["consumer_group"] == created
    else:
        validate_config(got.json(), "GET", item_template, 200)
        assert got.json() == created
    if key:
        by_key = c.get("/%s/%s" % (path, created[key]))
        assert by_key.status_code == 200 and by_key.json() == created, by_key.text

    listed = c.get("/" + path)
    assert listed.status_code == 200
    validate_config(listed.json(), "GET", BASE + "/" + path, 200)
    assert eid in [e["id"] for e in listed.json()["data"]]

    # PUT replaces the whole entity: what it leaves out goes back to its default (here: no tags).
    tagged = c.put("/%s/%s" % (path, eid), dict(body, tags=["blue", "green"]))
    assert tagged.status_code == 200, tagged.text
    validate_config(tagged.json(), "PUT", item_template, 200)
    assert tagged.json()["tags"] == ["blue", "green"]
    assert tagged.json()["id"] == eid and tagged.json()["created_at"] == created["created_at"]
    replaced = c.put("/%s/%s" % (path, eid), body)
    assert replaced.status_code == 200 and "tags" not in replaced.json(), replaced.text

    assert c.delete("/%s/%s" % (path, eid)).status_code == 204
    assert_problem(c.get("/%s/%s" % (path, eid)), 404)
    assert c.delete("/%s/%s" % (path, eid)).status_code == 204  # deleting nothing is 204 too


@pytest.mark.parametrize("path,item,factory,key", ENTITIES, ids=[e[0] for e in ENTITIES])
def test_put_creates_with_the_id_or_key_of_the_path(c, path, item, factory, key):
    import uuid
    eid = str(uuid.uuid4())
    body = factory(c)
    resp = c.put("/%s/%s" % (path, eid), body)
    assert resp.status_code == 200, resp.text
    validate_config(resp.json(), "PUT", "%s/%s/{%s}" % (BASE, path, item), 200)
    assert resp.json()["id"] == eid
    if key:
        body = factory(c)
        value = body[key] + "-by-key"
        by_key = c.put("/%s/%s" % (path, value), dict(body, **{key: value}))
        assert by_key.status_code == 200, by_key.text
        assert by_key.json()[key] == value
        again = c.put("/%s/%s" % (path, value), dict(body, **{key: value}, tags=["t"]))
        assert again.json()["id"] == by_key.json()["id"], "a PUT by key replaces what the key names"
        mismatch = c.put("/%s/%s" % (path, value), dict(body, **{key: value + "-other"}))
        assert param(assert_problem(mismatch, 400), key)["rule"] == "invalid"


@pytest.mark.parametrize("path,item,factory,key", ENTITIES, ids=[e[0] for e in ENTITIES])
def test_unknown_and_misplaced_members_are_400(c, path, item, factory, key):
    body = dict(factory(c), frobnicate=1)
    problem = assert_problem(c.post("/" + path, body), 400)
    assert param(problem, "frobnicate")["rule"] == "unknown_property"
    assert_problem(c.post("/" + path, [1, 2]), 400)
    resp = c.request("POST", "/" + path, data="not json", headers={"Content-Type": "application/json"})
    assert_problem(resp, 400)
    resp = c.request("POST", "/" + path, data="x=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(resp, 415)


def test_post_with_an_existing_id_is_a_conflict(c):
    svc = make_service(c)
    again = c.post("/services", {"id": svc["id"], "host": "other.internal"})
    assert_problem(again, 409)


def test_path_ids_that_cannot_name_anything_are_400(c):
    # Certificates, CA certificates and plugins have no name to be found by: only ids.
    for path, param_name in (("certificates", "CertificateId"), ("ca_certificates", "CACertificateId")):
        problem = assert_problem(c.get("/%s/not-a-uuid" % path), 400)
        assert problem["invalid_parameters"][0]["field"] == param_name
        assert problem["invalid_parameters"][0]["source"] == "path"
    assert_problem(c.get("/services/no-such-service"), 404)


@pytest.mark.parametrize("segment,plural,item,factory", credentials(), ids=[x[0] for x in credentials()])
def test_credentials_nested_under_their_consumer(c, segment, plural, item, factory):
    consumer = make_consumer(c)
    body = factory()
    if segment == "mtls-auth":
        body["ca_certificate"] = {"id": c.create("/ca_certificates", {"cert": new_ca()})["id"]}
    nested = "/consumers/%s/%s" % (consumer["username"], segment)
    nested_template = BASE + "/consumers/{ConsumerIdForNestedEntities}/" + segment
    created = c.create(nested, body, nested_template)
    assert created["consumer"] == {"id": consumer["id"]}
    assert "updated_at" not in created  # credentials have none (the spec's schemas)
    one = c.get("%s/%s" % (nested, created["id"]))
    assert one.status_code == 200 and one.json() == created
    validate_config(one.json(), "GET", "%s/{%s}" % (nested_template, item), 200)
    # Read-only at the top level.
    listed = c.get("/" + plural)
    validate_config(listed.json(), "GET", BASE + "/" + plural, 200)
    assert created["id"] in [x["id"] for x in listed.json()["data"]]
    top = c.get("/%s/%s" % (plural, created["id"]))
    assert top.status_code == 200 and top.json() == created
    assert_problem(c.post("/" + plural, body), 405)
    # PUT under the consumer replaces; DELETE; a credential of another consumer is not found here.
    replaced = c.put("%s/%s" % (nested, created["id"]), dict(body, tags=["x"]))
    assert replaced.status_code == 200 and replaced.json()["tags"] == ["x"], replaced.text
    other = make_consumer(c)
    assert_problem(c.get("/consumers/%s/%s/%s" % (other["id"], segment, created["id"])), 404)
    assert c.delete("%s/%s" % (nested, created["id"])).status_code == 204
    assert_problem(c.get("/%s/%s" % (plural, created["id"])), 404)


def test_generated_credential_secrets(c):
    consumer = make_consumer(c)
    key = c.create("/consumers/%s/key-auth" % consumer["id"], {})
    assert len(key["key"]) == 32
    jwt = c.create("/consumers/%s/jwt" % consumer["id"], {})
    assert len(jwt["key"]) == 32 and len(jwt["secret"]) == 32 and jwt["algorithm"] == "HS256"
    hmac = c.create("/consumers/%s/hmac-auth" % consumer["id"], {"username": slug("h")})
    assert len(hmac["secret"]) == 32
    basic = c.create("/consumers/%s/basic-auth" % consumer["id"], {"username": slug("b"), "password": "pw"})
    assert basic["password"] != "pw" and len(basic["password"]) == 40  # stored as Kong stores it
    # Sending the stored value back (a dump written again) keeps it.
    same = c.put("/consumers/%s/basic-auth/%s" % (consumer["id"], basic["id"]),
                 {"username": basic["username"], "password": basic["password"]})
    assert same.json()["password"] == basic["password"]


def test_routes_and_plugins_nested_under_a_service(c):
    svc = make_service(c)
    route = c.create("/services/%s/routes" % svc["name"], {"name": slug("r"), "paths": ["/a"]},
                     BASE + "/services/{ServiceId}/routes")
    assert route["service"] == {"id": svc["id"]}
    nested = c.get("/services/%s/routes" % svc["id"])
    validate_config(nested.json(), "GET", BASE + "/services/{ServiceId}/routes", 200)
    assert [r["id"] for r in nested.json()["data"]] == [route["id"]]
    assert c.get("/services/%s/routes/%s" % (svc["id"], route["name"])).json() == route
    # A route of another service is not found under this one.
    other = make_service(c)
    assert_problem(c.get("/services/%s/routes/%s" % (other["id"], route["id"])), 404)
    assert_problem(c.get("/services/%s/routes" % "no-such-service"), 404)
    plugin = c.create("/routes/%s/plugins" % route["id"], {"name": "cors"}, BASE + "/routes/{RouteId}/plugins")
    assert plugin["route"] == {"id": route["id"]}
    svc_plugin = c.create("/services/%s/plugins" % svc["id"], {"name": "rate-limiting", "config": {"minute": 5}})
    assert [p["id"] for p in c.get("/services/%s/plugins" % svc["id"]).json()["data"]] == [svc_plugin["id"]]


def test_targets_live_under_their_upstream(c):
    up = c.create("/upstreams", {"name": slug("up") + ".internal"})
    t = c.create("/upstreams/%s/targets" % up["name"], {"target": "10.0.0.7"},
                 BASE + "/upstreams/{UpstreamIdForTarget}/targets")
    assert t["target"] == "10.0.0.7:8000" and t["weight"] == 100 and t["upstream"] == {"id": up["id"]}
    assert isinstance(t["created_at"], float)  # targets keep milliseconds
    by_target = c.get("/upstreams/%s/targets/10.0.0.7:8000" % up["id"])
    assert by_target.status_code == 200 and by_target.json()["id"] == t["id"]
    v6 = c.create("/upstreams/%s/targets" % up["id"], {"target": "[::1]:9000", "weight": 5})
    assert v6["target"] == "[0000:0000:0000:0000:0000:0000:0000:0001]:9000"
    # One target per upstream: the same backend twice is a conflict; in another upstream it is not.
    assert_problem(c.post("/upstreams/%s/targets" % up["id"], {"target": "10.0.0.7:8000"}), 409)
    other = c.create("/upstreams", {"name": slug("up") + ".internal"})
    c.create("/upstreams/%s/targets" % other["id"], {"target": "10.0.0.7:8000"})
    everything = c.get("/targets")
    validate_config(everything.json(), "GET", BASE + "/targets", 200)
    assert {t["id"], v6["id"]} <= {x["id"] for x in everything.json()["data"]}
    # PUT by target replaces its weight.
    put = c.put("/upstreams/%s/targets/10.0.0.7:8000" % up["id"], {"target": "10.0.0.7:8000", "weight": 0})
    assert put.status_code == 200 and put.json()["id"] == t["id"] and put.json()["weight"] == 0, put.text
    assert_problem(c.post("/targets", {"target": "x"}), 405)


def test_certificates_carry_their_snis(c):
    cert = c.create("/certificates", {"cert": pem()["cert"], "key": pem()["key"], "snis": ["b.example.com", "a.example.com"]},
                    BASE + "/certificates")
    assert cert["snis"] == ["a.example.com", "b.example.com"]
    snis = c.get("/certificates/%s/snis" % cert["id"]).json()["data"]
    assert sorted(s["name"] for s in snis) == ["a.example.com", "b.example.com"]
    one = c.create("/certificates/%s/snis" % cert["id"], {"name": "c.example.com"}, BASE + "/certificates/{CertificateId}/snis")
    assert one["certificate"] == {"id": cert["id"]}
    assert c.get("/certificates/%s" % cert["id"]).json()["snis"] == ["a.example.com", "b.example.com", "c.example.com"]
    # A PUT with `snis` makes them exactly that list; without it they stay.
    c.put("/certificates/%s" % cert["id"], {"cert": pem()["cert"], "key": pem()["key"], "snis": ["a.example.com"]})
    assert c.get("/certificates/%s" % cert["id"]).json()["snis"] == ["a.example.com"]
    c.put("/certificates/%s" % cert["id"], {"cert": pem()["cert"], "key": pem()["key"]})
    assert c.get("/certificates/%s" % cert["id"]).json()["snis"] == ["a.example.com"]
    # An SNI name belongs to one certificate.
    other = c.post("/certificates", {"cert": pem()["cert"], "key": pem()["key"], "snis": ["a.example.com"]})
    assert_problem(other, 409)
    assert c.delete("/certificates/%s" % cert["id"]).status_code == 204
    assert_problem(c.get("/snis/a.example.com"), 404)


def test_consumer_groups_and_membership(c):
    group = c.create("/consumer_groups", {"name": slug("gold")}, BASE + "/consumer_groups")
    alice, bob = make_consumer(c), make_consumer(c)
    added = c.post("/consumer_groups/%s/consumers" % group["name"], {"consumer": alice["username"]})
    assert added.status_code == 201, added.text
    validate_config(added.json(), "POST", BASE + "/consumer_groups/{ConsumerGroupId}/consumers", 201)
    assert added.json()["consumers"][0]["id"] == alice["id"]
    assert c.post("/consumers/%s/consumer_groups" % bob["id"], {"group": group["id"]}).status_code == 201
    assert_problem(c.post("/consumer_groups/%s/consumers" % group["id"], {"consumer": alice["id"]}), 409)
    members = c.get("/consumer_groups/%s/consumers" % group["id"])
    validate_config(members.json(), "GET", BASE + "/consumer_groups/{ConsumerGroupId}/consumers", 200)
    assert {m["id"] for m in members.json()["data"]} == {alice["id"], bob["id"]}
    wrapped = c.get("/consumer_groups/%s" % group["name"]).json()
    assert wrapped["consumer_group"]["id"] == group["id"] and len(wrapped["consumers"]) == 2
    assert "consumers" not in c.get("/consumer_groups/%s?list_consumers=false" % group["id"]).json()
    groups_of_bob = c.get("/consumers/%s/consumer_groups" % bob["id"]).json()["data"]
    assert [g["id"] for g in groups_of_bob] == [group["id"]]
    assert c.delete("/consumer_groups/%s/consumers/%s" % (group["id"], alice["id"])).status_code == 204
    assert [m["id"] for m in c.get("/consumer_groups/%s/consumers" % group["id"]).json()["data"]] == [bob["id"]]
    # Deleting the consumer removes its membership; deleting the group keeps the consumer.
    assert c.delete("/consumers/%s" % bob["id"]).status_code == 204
    assert c.get("/consumer_groups/%s/consumers" % group["id"]).json()["data"] == []
    assert c.delete("/consumer_groups/%s" % group["id"]).status_code == 204
    assert c.get("/consumers/%s" % alice["id"]).status_code == 200
    assert_problem(c.post("/consumer_groups/%s/consumers" % group["id"], {"consumer": alice["id"]}), 404)
