"""Gateway configuration validation, table-driven: Kong's typedefs and entity checks, each case
a body and the problems it must produce (field, rule), all reported at once."""
import pytest

from conftest import NO_RATE_LIMITS, assert_problem, module_server
from config_support import ControlPlaneClient, make_consumer, make_route, make_service, new_ca, new_control_plane, pem, slug

server = module_server(env=NO_RATE_LIMITS)


@pytest.fixture(scope="module")
def c(server):
    admin = server.create_org("config-validation")
    return ControlPlaneClient(server, admin["token"], new_control_plane(server, admin["token"])["id"])


def problems(resp):
    body = assert_problem(resp, 400)
    return {(p["field"], p["rule"]) for p in body["invalid_parameters"]}, body


# (collection, body, expected (field, rule) pairs that must all be reported)
INVALID = [
    # services: typedefs
    ("services", {"host": "a.b:80"}, {("host", "invalid")}),
    ("services", {"host": "bad host"}, {("host", "invalid")}),
    ("services", {"host": "x", "port": 65536}, {("port", "max")}),
    ("services", {"host": "x", "port": -1}, {("port", "min")}),
    ("services", {"host": "x", "retries": 1.5}, {("retries", "is_integer")}),
    ("services", {"host": "x", "connect_timeout": 0}, {("connect_timeout", "min")}),
    ("services", {"host": "x", "protocol": "ftp"}, {("protocol", "enum")}),
    ("services", {"host": "x", "path": "no-slash"}, {("path", "matches_regex")}),
    ("services", {"host": "x", "path": "/a//b"}, {("path", "invalid")}),
    ("services", {"host": "x", "path": "/a%zz"}, {("path", "invalid")}),
    ("services", {"host": "x", "path": "/a b"}, {("path", "matches_regex")}),
    ("services", {"host": "x", "name": "has space"}, {("name", "matches_regex")}),
    ("services", {"host": "x", "name": ""}, {("name", "min_length")}),
    ("services", {"host": "x", "tags": ["a,b"]}, {("tags[0]", "matches_regex")}),
    ("services", {"host": "x", "tags": "a"}, {("tags", "is_array")}),
    ("services", {}, {("host", "required")}),
    ("services", {"host": None}, {("host", "required")}),
    # services: entity checks
    ("services", {"host": "x", "protocol": "tcp", "path": "/a"}, {("path", "is_null")}),
    ("services", {"host": "x", "protocol": "http", "tls_verify": True}, {("tls_verify", "is_null")}),
    ("services", {"host": "x", "protocol": "grpc", "path": "/a", "client_certificate": {"id": "00000000-0000-4000-8000-000000000001"}},
     {("path", "is_null"), ("client_certificate", "is_null")}),
    ("services", {"host": "x", "client_certificate": {"id": "nope"}}, {("client_certificate.id", "is_uuid")}),
    ("services", {"url": "not a url"}, {("url", "invalid")}),
    # all at once
    ("services", {"host": "a:1", "port": "80", "retries": 99999, "extra": 1},
     {("host", "invalid"), ("port", "is_integer"), ("retries", "max"), ("extra", "unknown_property")}),
    # routes: Kong's protocol groups and matcher rules
    ("routes", {"protocols": ["http"]}, {("methods", "dependent_fields")}),
    ("routes", {"protocols": ["https"]}, {("methods", "dependent_fields")}),
    ("routes", {"protocols": ["http", "tcp"], "paths": ["/a"]}, {("protocols", "invalid")}),
    ("routes", {"protocols": ["tls", "tls_passthrough"], "snis": ["a.com"]}, {("protocols", "invalid")}),
    ("routes", {"protocols": ["tcp"]}, {("sources", "dependent_fields")}),
    ("routes", {"protocols": ["tls_passthrough"]}, {("snis", "dependent_fields")}),
    ("routes", {"protocols": ["tcp"], "destinations": [{"port": 80}], "paths": ["/a"]}, {("paths", "is_null")}),
    ("routes", {"protocols": ["http"], "paths": ["/a"], "sources": [{"ip": "10.0.0.1"}]}, {("sources", "is_null")}),
    ("routes", {"protocols": ["grpc"], "paths": ["/a"]}, {("strip_path", "invalid")}),
    ("routes", {"protocols": ["grpc"], "paths": ["/a"], "strip_path": False, "methods": ["GET"]}, {("methods", "is_null")}),
    ("routes", {"protocols": ["http"], "paths": ["/a"], "snis": ["a.example.com"]}, {("snis", "is_null")}),
    ("routes", {"protocols": [], "paths": ["/a"]}, {("protocols", "min_items")}),
    ("routes", {"paths": ["/a/../b"]}, {("paths[0]", "invalid")}),
    ("routes", {"paths": ["/%7Euser"]}, {("paths[0]", "invalid")}),  # Kong: "consider use '/~user'"
    ("routes", {"paths": ["/a", "~/(unclosed"]}, {("paths[1]", "invalid")}),
    ("routes", {"paths": ["a"]}, {("paths[0]", "matches_regex")}),
    ("routes", {"paths": ["/a//b"]}, {("paths[0]", "invalid")}),
    ("routes", {"hosts": ["*.a.*"]}, {("hosts[0]", "invalid")}),
    ("routes", {"hosts": ["a.*.b"]}, {("hosts[0]", "invalid")}),
    ("routes", {"methods": ["get"]}, {("methods[0]", "matches_regex")}),
    ("routes", {"headers": {"Host": ["a"]}}, {("headers.Host", "invalid")}),
    ("routes", {"headers": {"x-a": "b"}}, {("headers.x-a", "is_array")}),
    ("routes", {"paths": ["/a"], "https_redirect_status_code": 303}, {("https_redirect_status_code", "enum")}),
    # (the route rule that forbids sources on http is not run while `sources` itself is invalid)
    ("routes", {"paths": ["/a"], "sources": [{}]}, {("sources[0].ip", "dependent_fields")}),
    ("routes", {"paths": ["/a"], "service": {"id": "00000000-0000-4000-8000-00000000dead"}},
     {("service.id", "missing_reference")}),
    ("routes", {"paths": ["/a"], "service": {"name": "no-such-service"}}, {("service.name", "missing_reference")}),
    ("routes", {"paths": ["/a"], "service": {"id": "x", "host": "y"}}, {("service.id", "is_uuid"), ("service.host", "unknown_property")}),
    # consumers
    ("consumers", {}, {("custom_id", "dependent_fields")}),
    ("consumers", {"username": ""}, {("username", "min_length")}),
    # upstreams
    ("upstreams", {"name": "10.0.0.1"}, {("name", "invalid")}),
    ("upstreams", {"name": "a.b:80"}, {("name", "invalid")}),
    ("upstreams", {"name": "u.internal", "hash_on": "header"}, {("hash_on_header", "required")}),
    ("upstreams", {"name": "u.internal", "hash_on": "none", "hash_fallback": "ip"}, {("hash_fallback", "invalid")}),
    ("upstreams", {"name": "u.internal", "hash_on": "ip", "hash_fallback": "ip"}, {("hash_fallback", "invalid")}),
    ("upstreams", {"name": "u.internal", "slots": 5}, {("slots", "min")}),
    ("upstreams", {"name": "u.internal", "healthchecks": {"active": {"timeout": -1, "healthy": {"http_statuses": [99]}}}},
     {("healthchecks.active.timeout", "min"), ("healthchecks.active.healthy.http_statuses[0]", "min")}),
    ("upstreams", {"name": "u.internal", "algorithm": "random"}, {("algorithm", "enum")}),
    # plugins: unknown name, nested config paths, entity checks of a config, scope rules
    ("plugins", {"name": "no-such-plugin"}, {("name", "enum")}),
    ("plugins", {}, {("name", "required")}),
    ("plugins", {"name": "rate-limiting"}, {("config.second", "dependent_fields")}),
    ("plugins", {"name": "rate-limiting", "config": {"minute": 0}}, {("config.minute", "min")}),
    ("plugins", {"name": "rate-limiting", "config": {"second": 10, "minute": 5}}, {("config.minute", "invalid")}),
    ("plugins", {"name": "rate-limiting", "config": {"minute": 5, "policy": "redis"}}, {("config.redis.host", "required")}),
    ("plugins", {"name": "rate-limiting", "config": {"minute": 5, "limit_by": "header"}}, {("config.header_name", "required")}),
    ("plugins", {"name": "rate-limiting", "config": {"minute": 5, "bogus": 1}}, {("config.bogus", "unknown_property")}),
    ("plugins", {"name": "key-auth", "config": {"key_names": ["bad name!"]}}, {("config.key_names[0]", "matches_regex")}),
    ("plugins", {"name": "key-auth", "protocols": ["tcp"]}, {("protocols[0]", "enum")}),
    ("plugins", {"name": "cors", "config": {"origins": ["(unclosed"]}}, {("config.origins[0]", "invalid")}),
    ("plugins", {"name": "ip-restriction", "config": {"allow": ["10.0.0.300"]}}, {("config.allow[0]", "invalid")}),
    ("plugins", {"name": "acl", "config": {}}, {("config.allow", "dependent_fields")}),
    ("plugins", {"name": "request-termination", "config": {"status_code": 99}}, {("config.status_code", "min")}),
    ("plugins", {"name": "http-log", "config": {}}, {("config.http_endpoint", "required")}),
    ("plugins", {"name": "pre-function", "config": {}}, {("config.certificate", "dependent_fields")}),
    ("plugins", {"name": "key-auth", "enabled": "yes"}, {("enabled", "is_boolean")}),
    # certificates and CA certificates
    ("certificates", {"cert": "not a pem", "key": "not a key"}, {("cert", "invalid"), ("key", "invalid")}),
    ("certificates", {"cert": "C", "key": None}, {("cert", "invalid"), ("key", "required")}),
    ("ca_certificates", {"cert": "nope"}, {("cert", "invalid")}),
    # vaults, keys, key sets, SNIs
    ("vaults", {"name": "env", "prefix": "Bad_Prefix"}, {("prefix", "matches_regex")}),
    ("vaults", {"name": "env", "prefix": "env"}, {("prefix", "invalid")}),
    ("vaults", {"name": "magic", "prefix": "m1"}, {("name", "enum")}),
    ("vaults", {"name": "env", "prefix": "e1", "config": {"prefix": "1BAD"}}, {("config.prefix", "matches_regex")}),
    ("keys", {"kid": "k"}, {("jwk", "dependent_fields")}),
    ("keys", {"kid": "k", "jwk": "{not json"}, {("jwk", "invalid")}),
    ("keys", {"kid": "k", "jwk": '{"kty":"RSA","n":"x","e":"AQAB","kid":"other"}'}, {("jwk", "invalid")}),
    ("keys", {"kid": "k", "pem": {}}, {("pem", "required")}),
    ("keys", {"kid": "k", "pem": {"private_key": "nope"}}, {("pem.private_key", "invalid")}),
    ("snis", {"name": "10.0.0.1", "certificate": {"id": "00000000-0000-4000-8000-000000000001"}}, {("name", "invalid")}),
    ("snis", {"name": "a.*.com", "certificate": {"id": "00000000-0000-4000-8000-000000000001"}}, {("name", "invalid")}),
    ("snis", {"name": "a.com:443", "certificate": {"id": "00000000-0000-4000-8000-000000000001"}}, {("name", "invalid")}),
]


@pytest.mark.parametrize("path,body,expected", INVALID, ids=["%s-%d" % (x[0], i) for i, x in enumerate(INVALID)])
def test_invalid_bodies_name_every_problem(c, path, body, expected):
    found, problem = problems(c.post("/" + path, body))
    missing = expected - found
    assert not missing, "missing %s in %s" % (missing, problem["invalid_parameters"])
    assert problem["detail"] == problem["message"]


VALID = [
    ("services", {"url": "https://api.internal:8443/v1/x"},
     {"protocol": "https", "host": "api.internal", "port": 8443, "path": "/v1/x"}),
    ("services", {"url": "http://api.internal"}, {"protocol": "http", "port": 80}),
    ("services", {"url": "https://api.internal"}, {"protocol": "https", "port": 443}),
    ("services", {"host": "10.0.0.1", "protocol": "tcp", "tags": ["a", "a", "b"]}, {"tags": ["a", "b"]}),
    ("services", {"host": "::1"}, {"host": "::1", "retries": 5, "connect_timeout": 60000, "enabled": True}),
    ("routes", {"hosts": ["*.example.com", "example.*", "a.example.com:8080"]},
     {"protocols": ["http", "https"], "strip_path": True, "https_redirect_status_code": 426}),
    ("routes", {"paths": ["~/v\\d+/items$", "/~user", "/café"]}, None),
    ("routes", {"protocols": ["grpc", "grpcs"], "hosts": ["g.example.com"], "strip_path": False}, None),
    ("routes", {"protocols": ["tcp", "tls"], "snis": ["*.example.com"]}, None),
    ("routes", {"protocols": ["https"], "snis": ["a.example.com"]}, None),
    ("routes", {"headers": {"x-version": ["1", "2"]}}, None),
    ("consumers", {"custom_id": "c-1"}, None),
    ("upstreams", {"name": "ring.internal", "hash_on": "header", "hash_on_header": "x-user"},
     {"hash_fallback": "none", "slots": 10000}),
    ("plugins", {"name": "correlation-id"}, {"config": {"header_name": "Kong-Request-ID", "generator": "uuid#counter",
                                                        "echo_downstream": False}}),
    ("plugins", {"name": "prometheus"}, None),
    ("plugins", {"name": "request-transformer", "config": {"add": {"headers": ["x-a:b"]}}}, None),
    ("plugins", {"name": "ip-restriction", "config": {"deny": ["10.0.0.0/8", "::1"]}}, None),
    ("plugins", {"name": "opentelemetry", "config": {"traces_endpoint": "http://collector:4318/v1/traces"}}, None),
    ("key-sets", {}, None),
]


@pytest.mark.parametrize("path,body,expected", VALID, ids=["%s-%d" % (x[0], i) for i, x in enumerate(VALID)])
def test_valid_bodies_and_their_defaults(c, path, body, expected):
    if path == "plugins" and "service" not in body:
        body = dict(body, service={"id": make_service(c)["id"]})
    if path == "consumers":
        body = dict(body, custom_id=slug("c"))
    if path == "upstreams":
        body = dict(body, name=slug("u") + ".internal")
    created = c.create("/" + path, body)
    for k, v in (expected or {}).items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                assert created[k][kk] == vv, (k, kk, created[k])
        else:
            assert created[k] == v, (k, created)


def test_a_path_key_that_is_not_utf8_is_refused(c):
    # The path is percent-decoded into bytes; a PUT by name would store them as the name.
    found, _ = problems(c.put("/consumers/a%9Blice", {}))
    assert ("username", "invalid") in found
    assert_problem(c.get("/consumers/a%9Blice"), 404)
    # The list still parses as JSON, and nothing resembling the refused name was stored.
    names = [listed.get("username") or "" for listed in c.list_all("/consumers")]
    assert not [n for n in names if n.startswith("a") and n.endswith("lice") and n != "alice"]


def test_plugin_config_shows_every_field_with_nulls(c):
    svc = make_service(c)
    p = c.create("/plugins", {"name": "key-auth", "service": {"id": svc["id"]}})
    assert p["config"]["key_names"] == ["apikey"] and p["config"]["anonymous"] is None
    assert p["protocols"] == ["grpc", "grpcs", "http", "https"] and p["enabled"] is True
    rl = c.create("/plugins", {"name": "rate-limiting", "service": {"id": svc["id"]}, "config": {"minute": 3}})
    assert rl["config"]["redis"]["host"] is None and rl["config"]["redis"]["port"] == 6379


def test_plugin_scope_rules(c):
    consumer = make_consumer(c)
    # Authentication plugins cannot apply to a consumer (Kong's no_consumer).
    found, _ = problems(c.post("/plugins", {"name": "key-auth", "consumer": {"id": consumer["id"]}}))
    assert ("consumer", "is_null") in found
    ok = c.post("/consumers/%s/plugins" % consumer["id"], {"name": "rate-limiting", "config": {"minute": 1}})
    assert ok.status_code == 201, ok.text
    # Protocols must meet the route's.
    svc = make_service(c)
    route = make_route(c, svc["id"], protocols=["https"])
    found, _ = problems(c.post("/plugins", {"name": "cors", "route": {"id": route["id"]}, "protocols": ["http"]}))
    assert ("protocols", "invalid") in found
    found, _ = problems(c.post("/plugins", {"name": "cors", "service": {"id": svc["id"]}, "protocols": ["grpc"]}))
    assert ("protocols", "invalid") in found
    assert c.post("/plugins", {"name": "cors", "route": {"id": route["id"]}}).status_code == 201


def test_unique_keys_are_conflicts(c):
    svc = make_service(c)
    assert_problem(c.post("/services", {"name": svc["name"], "host": "x"}), 409,
                   "Service with name [%s] already exists." % svc["name"])
    # The plugin scope tuple: one key-auth per service, another service is fine, a global one too.
    c.create("/plugins", {"name": "key-auth", "service": {"id": svc["id"]}})
    body = assert_problem(c.post("/plugins", {"name": "key-auth", "service": {"id": svc["id"]}}), 409)
    assert svc["id"] in body["detail"]
    c.create("/plugins", {"name": "key-auth", "service": {"id": make_service(c)["id"]}})
    name = slug("inst")
    c.create("/plugins", {"name": "cors", "instance_name": name, "service": {"id": svc["id"]}})
    assert_problem(c.post("/plugins", {"name": "cors", "instance_name": name, "service": {"id": make_service(c)["id"]}}), 409)
    consumer = make_consumer(c)
    assert_problem(c.post("/consumers", {"username": consumer["username"]}), 409)
    c.create("/consumers/%s/acls" % consumer["id"], {"group": "admins"})
    assert_problem(c.post("/consumers/%s/acls" % consumer["id"], {"group": "admins"}), 409)
    c.create("/consumers/%s/acls" % make_consumer(c)["id"], {"group": "admins"})  # per consumer
    key = c.create("/consumers/%s/key-auth" % consumer["id"], {})
    assert_problem(c.post("/consumers/%s/key-auth" % make_consumer(c)["id"], {"key": key["key"]}), 409)
    ca = new_ca()
    c.create("/ca_certificates", {"cert": ca})
    assert_problem(c.post("/ca_certificates", {"cert": ca}), 409)


def test_certificate_rules(c):
    found, _ = problems(c.post("/certificates", {"cert": pem()["cert"], "key": pem()["other_key"]}))
    assert ("key", "invalid") in found
    found, _ = problems(c.post("/certificates", {"cert": pem()["cert"], "key": pem()["key"], "cert_alt": pem()["ec_cert"]}))
    assert ("cert_alt", "dependent_fields") in found
    found, _ = problems(c.post("/certificates", {"cert": pem()["cert"], "key": pem()["key"],
                                                 "cert_alt": pem()["cert"], "key_alt": pem()["key"]}))
    assert ("cert_alt", "invalid") in found  # the same key type twice
    both = c.create("/certificates", {"cert": pem()["cert"], "key": pem()["key"],
                                      "cert_alt": pem()["ec_cert"], "key_alt": pem()["ec_key"]})
    assert both["cert_alt"] == pem()["ec_cert"]
    vault = c.create("/certificates", {"cert": "{vault://env/cert}", "key": "{vault://env/key}"})
    assert vault["key"] == "{vault://env/key}"
    found, _ = problems(c.post("/ca_certificates", {"cert": pem()["cert"]}))
    assert ("cert", "invalid") in found  # not a CA
    found, body = problems(c.post("/ca_certificates", {"cert": pem()["expired_ca"]}))
    assert ("cert", "invalid") in found and "expired" in body["invalid_parameters"][0]["reason"]
    found, _ = problems(c.post("/ca_certificates", {"cert": new_ca() + new_ca()}))
    assert ("cert", "invalid") in found
    ca = c.create("/ca_certificates", {"cert": new_ca(), "cert_digest": "ignored"})
    assert len(ca["cert_digest"]) == 64 and ca["cert_digest"] != "ignored"


def test_keys_with_pem_and_jwk(c):
    k = c.create("/keys", {"kid": slug("k"), "pem": {"private_key": pem()["key"], "public_key": pem()["public_key"]}})
    assert k["pem"]["public_key"] == pem()["public_key"]
    found, _ = problems(c.post("/keys", {"kid": "x", "pem": {"private_key": pem()["other_key"],
                                                              "public_key": pem()["public_key"]}}))
    assert ("pem", "invalid") in found
    found, _ = problems(c.post("/keys", {"kid": "x", "pem": {"public_key": pem()["public_key"]}, "jwk": "{}"}))
    assert ("jwk", "dependent_fields") in found
    key_set = c.create("/key-sets", {"name": slug("set")})
    in_set = c.create("/key-sets/%s/keys" % key_set["name"], {"kid": "same", "pem": {"public_key": pem()["public_key"]}})
    assert in_set["set"] == {"id": key_set["id"]}
    # (kid, set) is unique: the same kid in another set, or in none, is another key.
    assert_problem(c.post("/key-sets/%s/keys" % key_set["id"], {"kid": "same", "pem": {"public_key": pem()["public_key"]}}), 409)
    c.create("/keys", {"kid": "same", "pem": {"public_key": pem()["public_key"]}})


def test_validate_endpoint(c):
    before = len(c.list_all("/services"))
    ok = c.post("/schemas/services/validate", {"host": "example.com", "name": slug("never-written")})
    assert ok.status_code == 200 and ok.json() == {"message": "schema validation successful"}
    assert c.post("/schemas/route/validate", {"paths": ["/a"], "service": {"id": "00000000-0000-4000-8000-00000000beef"}}
                  ).status_code == 200  # references are not looked up
    found, _ = problems(c.post("/schemas/plugins/validate", {"name": "rate-limiting", "config": {"minute": -1}}))
    assert ("config.minute", "min") in found
    assert_problem(c.post("/schemas/nothing/validate", {}), 404)
    assert len(c.list_all("/services")) == before  # validation writes nothing
