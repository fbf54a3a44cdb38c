"""decK's way with a control plane: find it by name (the legacy runtime-groups list), read the
entities' defaults (JSON schemas) and plugin schemas, dump every entity through the lists,
delete everything, PUT it all back with client-side ids at concurrency 10 in dependency order,
and dump again: the two dumps are identical."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import NO_RATE_LIMITS, module_server, threaded_request
from config_support import (ControlPlaneClient, jwk_string, make_certificate, make_consumer, make_route, make_service,
                            new_ca, new_control_plane, pem, slug)

server = module_server(env=NO_RATE_LIMITS)

# Dependency levels as decK's (go-database-reconciler pkg/diff/order.go): created top-down,
# deleted bottom-up. Each kind: (list path, PUT path of one entity given its body).
LEVELS = [
    [("certificates", None), ("ca_certificates", None), ("consumers", None), ("vaults", None), ("key-sets", None)],
    [("consumer_groups", None), ("snis", None), ("services", None), ("upstreams", None), ("keys", None),
     ("key-auths", "key-auth"), ("basic-auths", "basic-auth"), ("hmac-auths", "hmac-auth"), ("jwts", "jwt"),
     ("acls", "acls"), ("mtls-auths", "mtls-auth")],
    [("routes", None), ("targets", "targets")],
    [("plugins", None)],
]
TIMESTAMPS = ("created_at", "updated_at")


@pytest.fixture(scope="module")
def admin(server):
    return server.create_org("config-roundtrip")


def build_configuration(c):
    """At least one entity of every type, with references between them."""
    cert = make_certificate(c, snis=[slug("a") + ".example.com", slug("b") + ".example.com"])
    ca = c.create("/ca_certificates", {"cert": new_ca(), "tags": ["trusted"]})
    svc = make_service(c, protocol="https", client_certificate={"id": cert["id"]}, ca_certificates=[ca["id"]],
                       tags=["team-a"])
    plain = make_service(c, url="http://orders.internal:8080/v2")
    route = make_route(c, svc["id"], methods=["GET", "POST"], hosts=["api.example.com"], headers={"x-v": ["1"]})
    make_route(c, plain["id"], protocols=["https"], snis=["api.example.com"])
    c.create("/routes", {"name": slug("tcp"), "protocols": ["tcp"], "destinations": [{"ip": "10.0.0.0/8", "port": 5432}]})
    alice, bob = make_consumer(c, custom_id="c-alice"), make_consumer(c)
    group = c.create("/consumer_groups", {"name": slug("gold")})
    assert c.post("/consumer_groups/%s/consumers" % group["id"], {"consumer": [alice["id"], bob["id"]]}).status_code == 201
    for kind, body in (("key-auth", {}), ("basic-auth", {"username": slug("ba"), "password": "pw"}),
                       ("hmac-auth", {"username": slug("hm")}), ("jwt", {"algorithm": "RS256", "rsa_public_key": pem()["public_key"]}),
                       ("acls", {"group": "admins"}), ("mtls-auth", {"subject_name": "alice", "ca_certificate": {"id": ca["id"]}})):
        c.create("/consumers/%s/%s" % (alice["id"], kind), body)
    c.create("/plugins", {"name": "prometheus"})
    c.create("/plugins", {"name": "key-auth", "service": {"id": svc["id"]}, "config": {"key_names": ["x-key"]}})
    c.create("/plugins", {"name": "rate-limiting", "route": {"id": route["id"]}, "config": {"minute": 20, "policy": "local"}})
    c.create("/plugins", {"name": "request-transformer", "consumer": {"id": bob["id"]},
                          "config": {"add": {"headers": ["x-bob:1"]}}})
    c.create("/plugins", {"name": "rate-limiting", "consumer_group": {"id": group["id"]}, "config": {"hour": 100}})
    up = c.create("/upstreams", {"name": slug("up") + ".internal", "algorithm": "consistent-hashing", "hash_on": "ip"})
    for t in ("10.0.0.1:80", "10.0.0.2", "[::1]:8080"):
        c.create("/upstreams/%s/targets" % up["id"], {"target": t, "weight": 50})
    c.create("/vaults", {"name": "env", "prefix": slug("env"), "config": {"prefix": "KONG_"}})
    key_set = c.create("/key-sets", {"name": slug("jwks")})
    kid = slug("kid")
    c.create("/keys", {"name": slug("k"), "kid": kid, "jwk": jwk_string(kid), "set": {"id": key_set["id"]}})
    c.create("/keys", {"name": slug("k"), "kid": slug("kid"), "pem": {"public_key": pem()["public_key"]}})


def dump(c):
    """Every entity by kind, as decK reads them: lists at size=1000 (10 at a time), and each
    consumer group read one by one for its members."""
    kinds = [kind for level in LEVELS for kind, _ in level]
    with ThreadPoolExecutor(10) as pool:
        lists = dict(zip(kinds, pool.map(lambda k: c.list_all("/" + k, size=1000), kinds)))
    state = {k: {e["id"]: {f: v for f, v in e.items() if f not in TIMESTAMPS} for e in v} for k, v in lists.items()}
    state["members"] = {}
    for gid in state["consumer_groups"]:
        wrapped = c.get("/consumer_groups/%s" % gid).json()
        state["members"][gid] = sorted(m["id"] for m in wrapped["consumers"])
    return state


def put_back(c, state):
    def put(kind, nested, entity):
        body = dict(entity)
        if kind == "certificates":
            body.pop("snis", None)  # SNIs come back as entities of their own
        if nested == "targets":
            path = "/upstreams/%s/targets/%s" % (body["upstream"]["id"], body["id"])
        elif nested:
            path = "/consumers/%s/%s/%s" % (body["consumer"]["id"], nested, body["id"])
        else:
            path = "/%s/%s" % (kind, body["id"])
        resp = threaded_request(c.server, "PUT", c.prefix + path, token=c.token, json=body)
        assert resp.status_code == 200, (kind, resp.text)

    with ThreadPoolExecutor(10) as pool:
        for level in LEVELS:
            jobs = [pool.submit(put, kind, nested, e) for kind, nested in level for e in state[kind].values()]
            for j in jobs:
                j.result()
    for gid, members in state["members"].items():
        if members:
            assert c.post("/consumer_groups/%s/consumers" % gid, {"consumer": members}).status_code == 201


def delete_everything(c, state):
    for level in reversed(LEVELS):
        for kind, nested in level:
            for e in state[kind].values():
                if nested == "targets":
                    path = "/upstreams/%s/targets/%s" % (e["upstream"]["id"], e["id"])
                elif nested:
                    path = "/consumers/%s/%s/%s" % (e["consumer"]["id"], nested, e["id"])
                else:
                    path = "/%s/%s" % (kind, e["id"])
                assert c.delete(path).status_code == 204, (kind, path)


def test_deck_finds_the_control_plane_by_name(server, admin):
    name = slug("deck-cp")
    cp = new_control_plane(server, admin["token"], name=name)
    found, page = None, 1
    while True:  # decK pages until page == pageCount
        body = server.request("GET", "/konnect-api/api/runtime_groups", token=admin["token"],
                              params={"page": page, "size": 2}).json()
        found = found or next((rg for rg in body["data"] if rg["name"] == name), None)
        if not body["data"] or body["page"] == body["pageCount"]:
            break
        page += 1
    assert found == {"id": cp["id"], "name": name}


def test_deck_reads_defaults_and_plugin_schemas(server, admin):
    c = ControlPlaneClient(server, admin["token"], new_control_plane(server, admin["token"])["id"])
    service = c.get("/v1/schemas/json/service").json()
    assert service["properties"]["retries"]["default"] == 5
    assert service["properties"]["protocol"]["default"] == "http"
    assert service["required"] == ["host"]
    route = c.get("/v1/schemas/json/route").json()
    assert route["properties"]["protocols"]["default"] == ["http", "https"]
    target = c.get("/v1/schemas/json/target").json()
    assert target["properties"]["weight"]["default"] == 100
    for name in ("upstream", "consumer", "consumer_group", "certificate", "ca_certificate", "key", "key-set",
                 "hmac-auth", "basic-auth", "mtls-auth", "sni", "vault", "jwt"):
        assert c.get("/v1/schemas/json/" + name).status_code == 200, name
    assert c.get("/v1/schemas/json/nothing").status_code == 404
    names = c.get("/v1/available-plugins").json()["names"]
    assert "key-auth" in names and "rate-limiting" in names and names == sorted(names)
    schema = c.get("/schemas/plugins/rate-limiting").json()
    config = next(f["config"] for f in schema["fields"] if "config" in f)
    minute = next(f["minute"] for f in config["fields"] if "minute" in f)
    policy = next(f["policy"] for f in config["fields"] if "policy" in f)
    assert minute == {"type": "number", "gt": 0} and policy["default"] == "local" and "redis" in policy["one_of"]
    protocols = next(f["protocols"] for f in schema["fields"] if "protocols" in f)
    assert protocols["default"] == ["grpc", "grpcs", "http", "https"]
    assert c.get("/schemas/plugins/no-such-plugin").status_code == 404
    # Where Kong's UI components read the same schemas (docs/API.md, house extensions).
    ui = "/v2/control-planes/%s/schemas/core-entities" % c.cp_id
    assert server.request("GET", ui + "/plugins/rate-limiting", token=c.token).json() == schema
    assert server.request("GET", ui + "/plugins/no-such-plugin", token=c.token).status_code == 404
    credential = server.request("GET", ui + "/key-auth", token=c.token).json()
    assert any("key" in f for f in credential["fields"]), credential
    assert server.request("GET", ui + "/nothing", token=c.token).status_code == 404


def test_dump_delete_put_back_dump_is_identical(server, admin):
    c = ControlPlaneClient(server, admin["token"], new_control_plane(server, admin["token"])["id"])
    build_configuration(c)
    before = dump(c)
    assert all(before[k] for level in LEVELS for k, _ in level), {k: len(v) for k, v in before.items()}
    delete_everything(c, before)
    emptied = dump(c)
    assert all(not emptied[k] for level in LEVELS for k, _ in level), {k: len(v) for k, v in emptied.items()}
    put_back(c, before)
    after = dump(c)
    for kind in before:
        assert after[kind] == before[kind], kind
    # PUTting every entity once more (a second sync of the same file) changes nothing.
    put_back(c, dict(after, members={}))
    assert dump(c) == after
