"""Every GET route of the gateway configuration, from the server's own route table: each
answers 200 for entities that exist (one of every kind, nested where the path nests them), and
its body is valid against the spec's response schema where the spec has the operation."""
import re
import subprocess

import pytest

from conftest import BIN, NO_RATE_LIMITS, module_server
from config_support import (ControlPlaneClient, jwk_string, make_certificate, make_consumer, make_route, make_service,
                            new_ca, new_control_plane, operation_schema, pem, slug, validate_config)

server = module_server(env=NO_RATE_LIMITS)
PREFIX = "/v2/control-planes/{controlPlaneId}/core-entities"


def get_templates():
    out = subprocess.run([BIN, "routes"], capture_output=True, text=True, timeout=30, check=True).stdout
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("GET ") and PREFIX in line]


@pytest.fixture(scope="module")
def world(server):
    admin = server.create_org("config-routes")
    c = ControlPlaneClient(server, admin["token"], new_control_plane(server, admin["token"])["id"])
    svc = make_service(c)
    route = make_route(c, svc["id"])
    consumer = make_consumer(c)
    group = c.create("/consumer_groups", {"name": slug("g")})
    c.post("/consumer_groups/%s/consumers" % group["id"], {"consumer": consumer["id"]})
    up = c.create("/upstreams", {"name": slug("u") + ".internal"})
    cert = make_certificate(c)
    key_set = c.create("/key-sets", {"name": slug("ks")})
    kid = slug("kid")
    ca = c.create("/ca_certificates", {"cert": new_ca()})
    ids = {
        "ServiceId": svc["id"], "RouteId": route["id"], "ConsumerId": consumer["id"],
        "ConsumerIdForNestedEntities": consumer["id"], "ConsumerGroupId": group["id"], "UpstreamId": up["id"],
        "UpstreamIdForTarget": up["id"], "CertificateId": cert["id"], "KeySetId": key_set["id"],
        "CACertificateId": ca["id"],
        "TargetId": c.create("/upstreams/%s/targets" % up["id"], {"target": "10.9.9.9:80"})["id"],
        "SNIId": c.create("/certificates/%s/snis" % cert["id"], {"name": slug("s") + ".example.com"})["id"],
        "KeyId": c.create("/key-sets/%s/keys" % key_set["id"], {"kid": kid, "jwk": jwk_string(kid)})["id"],
        "VaultId": c.create("/vaults", {"name": "env", "prefix": slug("v")})["id"],
        "pluginName": "key-auth", "entityName": "service",
    }
    # A plugin under each parent a path may put it under (and a global one).
    plugins = {
        "services": c.create("/services/%s/plugins" % svc["id"], {"name": "cors"})["id"],
        "routes": c.create("/routes/%s/plugins" % route["id"], {"name": "cors"})["id"],
        "consumers": c.create("/consumers/%s/plugins" % consumer["id"], {"name": "rate-limiting", "config": {"minute": 1}})["id"],
        "consumer_groups": c.create("/consumer_groups/%s/plugins" % group["id"], {"name": "rate-limiting",
                                                                              "config": {"minute": 1}})["id"],
        None: c.create("/plugins", {"name": "prometheus"})["id"],
    }
    credentials = {}
    for segment, plural, param, body in (("acls", "acls", "ACLId", {"group": "g"}),
                                         ("basic-auth", "basic-auths", "BasicAuthId", {"username": slug("b"), "password": "p"}),
                                         ("hmac-auth", "hmac-auths", "HMACAuthId", {"username": slug("h")}),
                                         ("jwt", "jwts", "JWTId", {}), ("key-auth", "key-auths", "KeyAuthId", {}),
                                         ("mtls-auth", "mtls-auths", "MTLSAuthId", {"subject_name": "cn"})):
        credentials[param] = c.create("/consumers/%s/%s" % (consumer["id"], segment), body)["id"]
    ids.update(credentials)
    assert pem()["cert"]
    return c, ids, plugins


def fill(template, ids, plugins):
    segments = template[len(PREFIX):].strip("/").split("/")
    out = []
    for i, seg in enumerate(segments):
        m = re.fullmatch(r"\{(\w+)\}", seg)
        if not m:
            out.append(seg)
        elif m.group(1) == "PluginId":
            parent = segments[i - 3] if i >= 3 and segments[i - 1] == "plugins" else None
            out.append(plugins[parent])
        else:
            out.append(ids[m.group(1)])
    return "/" + "/".join(out)


TEMPLATES = get_templates()


@pytest.mark.parametrize("template", TEMPLATES, ids=[t[len(PREFIX):] for t in TEMPLATES])
def test_every_get_route_answers_and_matches_the_spec(world, template):
    c, ids, plugins = world
    resp = c.get(fill(template, ids, plugins))
    assert resp.status_code == 200, (template, resp.text[:500])
    body = resp.json()
    spec_template = template.replace("/v2", "", 1)
    try:
        has_operation = operation_schema("GET", spec_template, 200) is not None
    except KeyError:
        has_operation = False  # a house extension (docs/API.md), not in the spec
    if has_operation:
        validate_config(body, "GET", spec_template, 200)
    if "data" in body:
        assert body["data"], "%s lists nothing, though the fixture made one" % template
