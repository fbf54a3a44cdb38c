"""Data planes: Kong gateways in hybrid mode connect to the cluster listener with a pinned client
certificate, receive their control plane's configuration (Kong's sync v1 protocol, emulated by
dataplane.py), and show up as nodes. Also the refusals, and the DP certificate and node APIs."""
import asyncio
import json
import os
import time
import uuid

import pytest

from conftest import NO_RATE_LIMITS, assert_problem, module_server
from config_support import ControlPlaneClient, new_control_plane, slug
from dataplane import (BUNDLED_PLUGINS, DataPlane, Refused, make_ca, make_client_cert, pem_of, raw_upgrade)

server = module_server(env=dict(NO_RATE_LIMITS, OPENKONNECT_CLUSTER_DEBOUNCE_MS="50"))


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(scope="module")
def trust(server, tmp_path_factory):
    """The cluster certificate, as a data plane's cluster_ca_cert."""
    path = tmp_path_factory.mktemp("trust") / "cluster.pem"
    path.write_text(server.cli("cluster-certificate", "--database", server.database).stdout)
    return str(path)


@pytest.fixture(scope="module")
def admin(server):
    return server.create_org("dp-" + uuid.uuid4().hex[:8])["token"]


class Plane:
    """A control plane with a client certificate pinned to it, and its files."""

    def __init__(self, server, token, tmp, auth_type=None, cluster_type=None, pin=True):
        extra = {}
        if auth_type:
            extra["auth_type"] = auth_type
        if cluster_type:
            extra["cluster_type"] = cluster_type
        self.server, self.token = server, token
        self.cp = new_control_plane(server, token, **extra)
        self.id = self.cp["id"]
        self.c = ControlPlaneClient(server, token, self.id)
        self.cert, self.key = make_client_cert("dp-" + self.id[:8])
        self.cert_file, self.key_file = str(tmp / ("%s.crt" % self.id)), str(tmp / ("%s.key" % self.id))
        open(self.cert_file, "w").write(self.cert)
        open(self.key_file, "w").write(self.key)
        if pin:
            self.pinned = self.pin(self.cert)

    def api(self, method, path, **kw):
        return self.server.request(method, "/v2/control-planes/%s%s" % (self.id, path), token=self.token, **kw)

    def pin(self, cert, title=None):
        body = {"cert": cert}
        if title:
            body["title"] = title
        resp = self.api("POST", "/dp-client-certificates", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()["item"]

    def dp(self, trust, **kw):
        return DataPlane(self.server.cluster_port, trust, self.cert_file, self.key_file, **kw)

    def expected_hash(self):
        resp = self.api("GET", "/expected-config-hash")
        assert resp.status_code == 200, resp.text
        return resp.json()["expected_hash"]

    def nodes(self):
        resp = self.api("GET", "/nodes", params={"page[size]": 1000})
        assert resp.status_code == 200, resp.text
        return {n["id"]: n for n in resp.json()["items"]}

    def wait_node(self, node_id, predicate, seconds=5):
        deadline = time.time() + seconds
        node = None
        while time.time() < deadline:
            node = self.nodes().get(node_id)
            if node and predicate(node):
                return node
            time.sleep(0.05)
        raise AssertionError("node %s never reached the state; last: %s" % (node_id, node))


@pytest.fixture
def plane(server, admin, tmp_path):
    return Plane(server, admin, tmp_path)


def flatten(entity):
    """An entity as the API shows it, with foreign keys as bare ids (the declarative format's)."""
    out = {}
    for k, v in entity.items():
        out[k] = v["id"] if isinstance(v, dict) and set(v) == {"id"} else v
    return out


def by_id(items):
    return {e["id"]: e for e in items}


# --- the configuration a data plane receives ------------------------------------------------------


def test_a_data_plane_receives_the_configuration_the_api_holds(plane, trust):
    c = plane.c
    svc = c.create("/services", {"name": slug("svc"), "url": "http://backend.internal:8080/api"})
    route = c.create("/services/%s/routes" % svc["id"], {"name": slug("r"), "paths": ["/a"]})
    plugin = c.create("/services/%s/plugins" % svc["id"], {"name": "key-auth"})
    consumer = c.create("/consumers", {"username": slug("u")})
    cred = c.create("/consumers/%s/key-auth" % consumer["id"], {"key": "secret-" + slug()})
    upstream = c.create("/upstreams", {"name": slug("up")})
    target = c.create("/upstreams/%s/targets" % upstream["id"], {"target": "10.0.0.1:80"})
    # Disabled things never reach a data plane: a disabled service with its route and plugin, a disabled plugin.
    off = c.create("/services", {"name": slug("off"), "host": "off.internal", "enabled": False})
    off_route = c.create("/services/%s/routes" % off["id"], {"name": slug("r"), "paths": ["/off"]})
    off_plugin = c.create("/routes/%s/plugins" % off_route["id"], {"name": "cors"})
    disabled_plugin = c.create("/plugins", {"name": "correlation-id", "enabled": False})

    async def scenario():
        dp = await plane.dp(trust).connect()
        message = await dp.receive_config()
        await dp.close()
        return message

    message = run(scenario())
    table = message["config_table"]
    assert table["_format_version"] == "3.0" and table["_transform"] is False
    assert len(message["config_hash"]) == 32 and message["config_hash"] == message["hashes"]["config"]
    assert set(message["hashes"]) == {"config", "routes", "services", "plugins", "upstreams", "targets"}
    # Every entity exactly as the API holds it now (defaults filled), foreign keys as ids.
    for section, entity, path in [("services", svc, "/services/"), ("routes", route, "/routes/"),
                                  ("plugins", plugin, "/plugins/"), ("consumers", consumer, "/consumers/"),
                                  ("upstreams", upstream, "/upstreams/"),
                                  ("keyauth_credentials", cred, "/consumers/%s/key-auth/" % consumer["id"])]:
        held = c.get(path + entity["id"])
        assert held.status_code == 200, held.text
        assert by_id(table[section]).get(entity["id"]) == flatten(held.json()), section
    assert by_id(table["services"])[svc["id"]]["port"] == 8080  # from the url shorthand
    assert by_id(table["services"])[svc["id"]]["retries"] == 5  # Kong's default, filled in
    assert by_id(table["targets"])[target["id"]]["upstream"] == upstream["id"]
    for section, entity in [("services", off), ("routes", off_route), ("plugins", off_plugin),
                            ("plugins", disabled_plugin)]:
        assert entity["id"] not in by_id(table[section]), section
    assert len(table["services"]) == 1 and len(table["routes"]) == 1 and len(table["plugins"]) == 1


def test_the_node_reports_the_expected_hash_and_changes_reach_it(plane, trust):
    c = plane.c
    svc = c.create("/services", {"name": slug("svc"), "host": "a.internal"})
    off = c.create("/services", {"name": slug("off"), "host": "off.internal", "enabled": False})

    async def scenario():
        dp = await plane.dp(trust, labels={"region": "eu"}).connect()
        first = await dp.receive_config()
        node = plane.wait_node(dp.node_id, lambda n: n["config_hash"] == first["config_hash"])
        assert node["config_hash"] == plane.expected_hash()
        assert node["version"] == "3.10.0" and node["hostname"] == "dp.example" and node["type"] == "kong-proxy"
        assert node["labels"] == {"region": "eu"}
        assert node["compatibility_status"]["state"] == "COMPATIBILITY_STATE_FULLY_COMPATIBLE"
        assert node["last_ping"] >= node["created_at"] > 0

        # A new route moves the routes hash (and the overall one) only.
        c.create("/services/%s/routes" % svc["id"], {"name": slug("r"), "paths": ["/x"]})
        second = await dp.receive_config()
        moved = {k for k in first["hashes"] if first["hashes"][k] != second["hashes"][k]}
        assert moved == {"config", "routes"}, moved
        # A consumer is none of the five sections: only the overall hash moves.
        c.create("/consumers", {"username": slug("u")})
        third = await dp.receive_config()
        moved = {k for k in second["hashes"] if second["hashes"][k] != third["hashes"][k]}
        assert moved == {"config"}, moved
        # A plugin, then an upstream and its target.
        c.create("/plugins", {"name": "cors"})
        fourth = await dp.receive_config()
        assert {k for k in third["hashes"] if third["hashes"][k] != fourth["hashes"][k]} == {"config", "plugins"}
        up = c.create("/upstreams", {"name": slug("up")})
        fifth = await dp.receive_config()
        assert {k for k in fourth["hashes"] if fourth["hashes"][k] != fifth["hashes"][k]} == {"config", "upstreams"}
        c.create("/upstreams/%s/targets" % up["id"], {"target": "10.1.1.1"})
        sixth = await dp.receive_config()
        assert {k for k in fifth["hashes"] if fifth["hashes"][k] != sixth["hashes"][k]} == {"config", "targets"}

        # What does not change the configuration is not sent again: a disabled service's change,
        # a refused write, another data plane connecting.
        assert c.put("/services/%s" % off["id"], {"name": off["name"], "host": "other.internal",
                                                   "enabled": False}).status_code == 200
        assert c.post("/services", {"host": "bad host"}).status_code == 400
        other = await plane.dp(trust).connect()
        await other.receive_config()
        await dp.expect_nothing(1.0)
        node = plane.wait_node(dp.node_id, lambda n: n["config_hash"] == sixth["config_hash"])
        assert node["config_hash"] == plane.expected_hash() == sixth["config_hash"]
        await other.close()
        await dp.close()

    run(scenario())


def test_a_data_plane_that_connects_later_gets_the_current_configuration_at_once(plane, trust):
    plane.c.create("/services", {"name": slug("svc"), "host": "a.internal"})
    expected = plane.expected_hash()

    async def scenario():
        dp = await plane.dp(trust).connect()
        message = await dp.receive_config(timeout=5)
        assert message["config_hash"] == expected
        await dp.close()

    run(scenario())


def test_a_large_configuration_arrives_as_one_unfragmented_frame(plane, trust):
    # Random names compress badly: the frame is well over Beast's 4 KiB auto-fragment size.
    for _ in range(300):
        resp = plane.api("POST", "/core-entities/consumers", json={"username": uuid.uuid4().hex})
        assert resp.status_code == 201, resp.text

    async def scenario():
        dp = await plane.dp(trust).connect()
        frame_bytes = []
        original = dp.ws.recv

        async def recording_recv():
            frame = await original()
            frame_bytes.append(len(frame))
            return frame

        dp.ws.recv = recording_recv
        message = await dp.receive_config()  # asserts that no fragment arrived
        assert len(message["config_table"]["consumers"]) == 300
        assert frame_bytes[0] > 8192
        await dp.close()

    run(scenario())


def test_an_empty_control_plane_sends_an_empty_configuration(plane, trust):
    async def scenario():
        dp = await plane.dp(trust).connect()
        message = await dp.receive_config()
        await dp.close()
        return message

    message = run(scenario())
    table = message["config_table"]
    assert table["services"] == [] and table["routes"] == [] and table["plugins"] == []
    assert message["hashes"]["routes"] == "0" * 32 and message["hashes"]["services"] == "0" * 32
    assert message["config_hash"] == plane.expected_hash()


def test_an_error_report_is_recorded_on_the_node(plane, trust):
    async def scenario():
        dp = await plane.dp(trust).connect()
        first = await dp.receive_config()
        await dp.send_json({"type": "error", "error": {"name": "configuration reload failed", "source": "kong.x",
                                                        "message": "boom", "config_hash": first["config_hash"]}})
        node = plane.wait_node(dp.node_id, lambda n: "last_error" in n)
        assert node["last_error"]["message"] == "boom"
        await dp.ping()  # the connection is still usable
        await dp.close()

    run(scenario())


def test_a_configuration_using_a_plugin_the_data_plane_lacks_is_not_sent(plane, trust):
    plane.c.create("/plugins", {"name": "cors"})

    async def scenario():
        dp = await plane.dp(trust, plugins=[p for p in BUNDLED_PLUGINS if p != "cors"]).connect()
        await dp.expect_nothing(1.0)
        node = plane.wait_node(dp.node_id, lambda n: n["sync_status"] == "plugin_set_incompatible")
        issue = node["compatibility_status"]["issues"][0]
        assert node["compatibility_status"]["state"] == "COMPATIBILITY_STATE_INCOMPATIBLE"
        assert issue["code"] == "PLUGIN_SET_INCOMPATIBLE" and "cors" in issue["description"]
        assert issue["affected_resources"] == [{"id": "cors", "type": "plugin"}]
        # The plugin removed: the next change reaches it.
        for p in plane.c.list_all("/plugins"):
            assert plane.c.delete("/plugins/%s" % p["id"]).status_code == 204
        message = await dp.receive_config()
        assert message["config_table"]["plugins"] == []
        plane.wait_node(dp.node_id, lambda n: n["sync_status"] == "normal")
        await dp.close()

    run(scenario())


# --- refusals -----------------------------------------------------------------------------------


def refusals_logged(server, count_before):
    return server.stdout().count("data plane refused") + server.stderr().count("data plane refused") - count_before


def log_count(server):
    return server.stdout().count("data plane refused") + server.stderr().count("data plane refused")


def test_no_certificate_is_refused(server, plane, trust):
    before = log_count(server)
    status, body = raw_upgrade(server.cluster_port, trust, query="?node_id=%s&node_version=3.10.0" % uuid.uuid4())
    assert status == 401
    problem = json.loads(body)
    assert problem["status"] == 401 and "no client certificate" in problem["detail"]
    assert problem["instance"].startswith("kong:trace:")
    assert refusals_logged(server, before) == 1


def test_an_unpinned_certificate_is_refused(server, plane, trust, tmp_path):
    before = log_count(server)
    cert, key = make_client_cert("stranger")
    (tmp_path / "s.crt").write_text(cert)
    (tmp_path / "s.key").write_text(key)

    async def scenario():
        with pytest.raises(Refused) as refused:
            await DataPlane(server.cluster_port, trust, str(tmp_path / "s.crt"), str(tmp_path / "s.key")).connect()
        assert refused.value.status == 401

    run(scenario())
    assert refusals_logged(server, before) == 1
    logs = server.stdout() + server.stderr()
    assert "PRIVATE KEY" not in logs and key.splitlines()[1] not in logs


def test_a_certificate_of_another_organization_gets_nothing_of_this_configuration(server, plane, trust, tmp_path):
    other_admin = server.create_org("dp-other-" + uuid.uuid4().hex[:8])["token"]
    other = Plane(server, other_admin, tmp_path)
    plane.c.create("/services", {"name": "mine-" + slug(), "host": "mine.internal"})

    async def scenario():
        # Its own control plane's configuration, not this one's.
        dp = await other.dp(trust).connect()
        message = await dp.receive_config()
        assert message["config_table"]["services"] == []
        assert message["config_hash"] == other.expected_hash() != plane.expected_hash()
        await dp.close()
        # Naming this control plane in the server name does not help: refused.
        with pytest.raises(Refused) as refused:
            await other.dp(trust, server_name="%s.cp.local" % plane.id).connect()
        assert refused.value.status == 401
        assert dp.node_id not in plane.nodes()

    run(scenario())
    status, body = raw_upgrade(server.cluster_port, trust, other.cert_file, other.key_file,
                               query="?node_id=%s&node_version=3.10.0" % uuid.uuid4(),
                               server_name="%s.cp.local" % plane.id)
    assert status == 401 and plane.id in json.loads(body)["detail"]


def test_a_certificate_of_another_control_plane_of_the_organization_is_refused_here(server, admin, plane, trust,
                                                                                     tmp_path):
    sibling = Plane(server, admin, tmp_path)
    with pytest.raises(Refused):
        run(sibling.dp(trust, server_name="%s.cp.local" % plane.id).connect())


def test_a_missing_node_id_or_version_is_400_before_any_upgrade(server, plane, trust):
    for query, field in [("?node_version=3.10.0", "node_id"), ("?node_id=%s" % uuid.uuid4(), "node_version"),
                         ("?node_id=nope&node_version=3.10.0", "node_id")]:
        status, body = raw_upgrade(server.cluster_port, trust, plane.cert_file, plane.key_file, query=query)
        assert status == 400, (query, body)
        problem = json.loads(body)
        assert [p["field"] for p in problem["invalid_parameters"]] == [field]
        assert problem["invalid_parameters"][0]["source"] == "query"
    status, _ = raw_upgrade(server.cluster_port, trust, plane.cert_file, plane.key_file, path="/v2/elsewhere")
    assert status == 404


@pytest.mark.parametrize("version", ["4.0.0", "3.99.0", "2.8.4", "banana"])
def test_an_incompatible_version_is_closed_and_marked(server, plane, trust, version):
    async def scenario():
        dp = await plane.dp(trust, version=version).connect()
        with pytest.raises(Exception):
            await dp.receive_config(timeout=5)  # closed instead
        assert dp.ws.close_code == 1008
        assert dp.configs == []
        return dp.node_id

    node_id = run(scenario())
    node = plane.wait_node(node_id, lambda n: n["sync_status"] == "kong_version_incompatible")
    assert node["compatibility_status"]["issues"][0]["code"] == "KONG_VERSION_INCOMPATIBLE"


def test_an_older_minor_version_is_served(plane, trust):
    async def scenario():
        dp = await plane.dp(trust, version="3.4.3.12").connect()
        await dp.receive_config()
        await dp.close()

    run(scenario())


def test_a_first_message_other_than_basic_info_closes_the_connection(plane, trust):
    async def scenario():
        dp = await plane.dp(trust).connect(basic_info=False)
        await dp.send_json({"type": "hello"})
        with pytest.raises(Exception):
            await dp.receive_config(timeout=5)
        assert dp.ws.close_code == 1002

    run(scenario())


def test_removing_the_pinned_certificate_disconnects_its_data_planes(plane, trust):
    async def scenario():
        dp = await plane.dp(trust).connect()
        await dp.receive_config()
        assert plane.api("DELETE", "/dp-client-certificates/%s" % plane.pinned["id"]).status_code == 204
        with pytest.raises(Exception):
            await dp.receive_config(timeout=5)
        with pytest.raises(Refused):
            await plane.dp(trust).connect()

    run(scenario())


# --- PKI mode and groups --------------------------------------------------------------------------


def test_pki_mode_accepts_certificates_its_ca_signed(server, admin, trust, tmp_path):
    plane = Plane(server, admin, tmp_path, auth_type="pki_client_certs", pin=False)
    ca = make_ca("pki-ca-" + plane.id[:8])
    plane.pin(pem_of(ca[0]), title="our CA")
    cert, key = make_client_cert("dp-leaf", ca=ca)
    (tmp_path / "leaf.crt").write_text(cert)
    (tmp_path / "leaf.key").write_text(key)
    stranger_ca = make_ca("pki-ca-" + plane.id[:8])  # the same name, another key
    cert2, key2 = make_client_cert("dp-leaf", ca=stranger_ca)
    (tmp_path / "x.crt").write_text(cert2)
    (tmp_path / "x.key").write_text(key2)

    async def scenario():
        dp = DataPlane(server.cluster_port, trust, str(tmp_path / "leaf.crt"), str(tmp_path / "leaf.key"))
        await dp.connect()
        assert (await dp.receive_config())["config_hash"] == plane.expected_hash()
        await dp.close()
        with pytest.raises(Refused):
            await DataPlane(server.cluster_port, trust, str(tmp_path / "x.crt"), str(tmp_path / "x.key")).connect()
        # The CA's own certificate (pinned) is no client certificate of a pki control plane's.
        with pytest.raises(Refused):
            await plane.dp(trust).connect()

    run(scenario())


def test_a_group_pushes_its_members_merged_and_reports_conflicts(server, admin, trust, tmp_path):
    group = Plane(server, admin, tmp_path, cluster_type="CLUSTER_TYPE_CONTROL_PLANE_GROUP")
    a = Plane(server, admin, tmp_path, pin=False)
    b = Plane(server, admin, tmp_path, pin=False)
    resp = group.api("POST", "/group-memberships/add", json={"members": [{"id": a.id}, {"id": b.id}]})
    assert resp.status_code in (200, 204), resp.text
    svc_a = a.c.create("/services", {"name": slug("a"), "host": "a.internal"})
    svc_b = b.c.create("/services", {"name": slug("b"), "host": "b.internal"})

    async def scenario():
        dp = await group.dp(trust).connect()
        message = await dp.receive_config()
        assert set(by_id(message["config_table"]["services"])) == {svc_a["id"], svc_b["id"]}
        # The same service name in both members: a conflict, shown, and nothing pushed. The
        # first member's service is pushed before the second one's is made: made together, the
        # two could fall into one render or two, depending on the machine's speed.
        clash = slug("clash")
        a.c.create("/services", {"name": clash, "host": "x.internal"})
        message = await dp.receive_config()
        assert {s["name"] for s in message["config_table"]["services"]} == {svc_a["name"], svc_b["name"], clash}
        b.c.create("/services", {"name": clash, "host": "y.internal"})
        await dp.expect_nothing(1.0)
        status = group.api("GET", "/group-status").json()["item"]
        assert status["state"] == "CONFLICT"
        assert status["conflicts"][0]["resource"]["type"] == "service"
        assert clash in status["conflicts"][0]["description"]
        # Resolved (the first member's copy deleted): the second member's is pushed.
        assert a.c.delete("/services/%s" % clash).status_code == 204
        message = await dp.receive_config()
        services = message["config_table"]["services"]
        assert len(services) == 3
        assert [s["host"] for s in services if s["name"] == clash] == ["y.internal"]
        assert group.api("GET", "/group-status").json()["item"]["state"] == "OK"
        await dp.close()

    run(scenario())


# --- the APIs ----------------------------------------------------------------------------------------


def test_dp_client_certificates_crud_and_errors(server, admin, plane):
    listed = plane.api("GET", "/dp-client-certificates").json()
    assert listed["page"]["total_count"] == 1 and listed["items"][0]["id"] == plane.pinned["id"]
    got = plane.api("GET", "/dp-client-certificates/%s" % plane.pinned["id"])
    assert got.status_code == 200 and got.json()["item"]["cert"] == plane.cert
    assert isinstance(got.json()["item"]["created_at"], int)
    # PUT replaces it.
    cert2, _ = make_client_cert("second")
    put = plane.api("PUT", "/dp-client-certificates/%s" % plane.pinned["id"], json={"cert": cert2, "title": "t2"})
    assert put.status_code == 200 and put.json()["item"]["cert"] == cert2 and put.json()["item"]["title"] == "t2"
    # The same certificate twice: 409.
    assert_problem(plane.api("POST", "/dp-client-certificates", json={"cert": cert2}), 409)
    # Bad bodies: every problem at once.
    bad = assert_problem(plane.api("POST", "/dp-client-certificates", json={"cert": "nope", "title": 5, "x": 1}), 400)
    assert {(p["field"], p["rule"]) for p in bad["invalid_parameters"]} == {
        ("cert", "invalid"), ("title", "is_string"), ("x", "unknown_property")}
    _, key = make_client_cert()
    bad = assert_problem(plane.api("POST", "/dp-client-certificates", json={"cert": key}), 400)
    assert "private key" in bad["invalid_parameters"][0]["reason"]
    assert_problem(plane.api("POST", "/dp-client-certificates", json={}), 400)
    # Unknown ids, another organization's control plane, no token.
    assert_problem(plane.api("GET", "/dp-client-certificates/%s" % uuid.uuid4()), 404)
    assert_problem(plane.api("GET", "/dp-client-certificates/not-a-uuid"), 400)
    stranger = server.create_org("dp-stranger-" + uuid.uuid4().hex[:8])["token"]
    for method, path in [("GET", "/dp-client-certificates"), ("GET", "/nodes"), ("GET", "/expected-config-hash"),
                         ("DELETE", "/dp-client-certificates/%s" % plane.pinned["id"])]:
        assert_problem(server.request(method, "/v2/control-planes/%s%s" % (plane.id, path), token=stranger), 404)
        assert_problem(server.request(method, "/v2/control-planes/%s%s" % (plane.id, path)), 401)
    assert plane.api("DELETE", "/dp-client-certificates/%s" % plane.pinned["id"]).status_code == 204
    assert_problem(plane.api("DELETE", "/dp-client-certificates/%s" % plane.pinned["id"]), 404)


def test_nodes_pages_get_delete_and_eol(plane, trust):
    async def scenario():
        dps = [await plane.dp(trust, version=v).connect() for v in ("3.10.0", "3.9.1", "3.2.2", "3.4.1")]
        for dp in dps:
            await dp.receive_config()
        for dp in dps:  # nodes outlive their connections; left open, each would wait out its close timeout
            await dp.close()
        return dps

    dps = run(scenario())
    ids = sorted(dp.node_id for dp in dps)
    seen, after = [], None
    for _ in range(10):
        params = {"page[size]": 1}
        if after:
            params["page[after]"] = after
        body = plane.api("GET", "/nodes", params=params).json()
        assert body["page"]["total_count"] == 4
        seen += [n["id"] for n in body["items"]]
        after = body["page"]["next"]
        if not after:
            break
    assert seen == ids
    eol = plane.api("GET", "/nodes/eol").json()
    assert [(e["node_version"]) for e in eol["items"]] == ["3.2.2"]
    assert "3.4" in eol["items"][0]["message"] and eol["page"]["total_count"] == 1
    one = plane.api("GET", "/nodes/%s" % ids[0])
    assert one.status_code == 200 and one.json()["item"]["id"] == ids[0]
    assert plane.api("DELETE", "/nodes/%s" % ids[0]).status_code == 204
    assert_problem(plane.api("GET", "/nodes/%s" % ids[0]), 404)
    assert_problem(plane.api("GET", "/nodes", params={"page[size]": "0"}), 400)
    assert_problem(plane.api("GET", "/nodes", params={"page[after]": "!!"}), 400)


def test_metrics_show_connected_and_in_sync_data_planes(server, plane, trust):
    async def scenario():
        dp = await plane.dp(trust).connect()
        await dp.receive_config()
        plane.wait_node(dp.node_id, lambda n: n["config_hash"] == plane.expected_hash())
        text = server.request("GET", "/metrics").text
        await dp.close()
        return text

    text = run(scenario())
    assert 'openkonnect_data_planes_connected{control_plane_id="%s"} 1' % plane.id in text
    assert "openkonnect_config_pushes_total" in text and "openkonnect_config_push_bytes_total" in text
    assert 'openkonnect_data_planes_sync{state="in_sync"}' in text


def test_the_control_plane_shows_where_data_planes_connect(server, plane):
    endpoint = plane.api("GET", "").json()["config"]["control_plane_endpoint"]
    assert endpoint == "https://127.0.0.1:%d" % server.cluster_port


# --- limits, on servers of their own -----------------------------------------------------------------


def test_a_pinging_data_plane_stays_a_silent_one_is_disconnected_an_oversized_frame_closes(start_server, tmp_path):
    srv = start_server("--cluster-idle-timeout-ms", "1500", "--cluster-max-payload", "4096",
                       env=NO_RATE_LIMITS)
    token = srv.create_org("dp-limits")["token"]
    p = Plane(srv, token, tmp_path)
    trust_file = tmp_path / "trust.pem"
    trust_file.write_text(srv.cli("cluster-certificate", "--database", srv.database).stdout)

    async def scenario():
        # A data plane that pings (Kong does, every 30 s by default) stays well past the timeout.
        pinging = await p.dp(str(trust_file)).connect()
        await pinging.receive_config()
        for _ in range(8):
            await asyncio.sleep(0.5)
            await pinging.ping()
        assert pinging.ws.close_code is None, "a pinging data plane was disconnected"
        await pinging.close()
        # A silent one is disconnected soon after it.
        dp = await p.dp(str(trust_file)).connect()
        await dp.receive_config()
        started = time.time()
        await dp.ws.wait_closed()
        assert time.time() - started < 5
        big = await p.dp(str(trust_file)).connect()
        await big.receive_config()
        await big.ws.send(b"x" * 8192)
        await big.ws.wait_closed()
        assert big.ws.close_code == 1009

    run(scenario())
