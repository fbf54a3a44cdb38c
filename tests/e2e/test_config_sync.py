"""`openkonnect config dump|diff|sync` against a real server: a decK file synced into an empty
control plane and dumped back, a second sync that changes nothing, what diff prints, deletes
children first, a file with invalid entities that changes nothing (checked before any write by
the same schema the server uses; and by the server itself with --atomic), and a sync that runs into the rate limit and finishes by waiting."""
import json
import os
import subprocess
import time
import uuid

import pytest
import yaml

from conftest import BIN, NO_RATE_LIMITS, module_server

server = module_server(NO_RATE_LIMITS)

CP = "/v2/control-planes"

FILE = """\
_format_version: "3.0"
services:
  - name: billing
    url: http://billing.internal:8080/api
    tags: [team-a]
    routes:
      - name: billing-api
        paths: [/billing]
        plugins:
          - name: rate-limiting
            config: {minute: 10, policy: local}
    plugins:
      - name: cors
  - name: search
    host: search.internal
    routes:
      - name: search-api
        paths: [/search]
consumers:
  - username: alice
    keyauth_credentials:
      - key: alice-secret-key
    acls:
      - group: admins
upstreams:
  - name: pool
    targets:
      - target: 10.0.0.1:80
      - target: 10.0.0.2:80
        weight: 50
plugins:
  - name: prometheus
"""
FILE_ENTITIES = 13


@pytest.fixture(scope="module")
def org(server):
    return server.create_org("config-cli")


def control_plane(server, org):
    name = "cp-" + uuid.uuid4().hex[:8]
    r = server.request("POST", CP, token=org["token"], json={"name": name})
    assert r.status_code == 201, r.text
    return name, r.json()["id"]


def config(server, org, *args, token=True, stdin=None, timeout=120):
    env = dict(os.environ)
    env.pop("KONNECT_TOKEN", None)
    env.pop("OPENKONNECT_TOKEN", None)
    if token:
        env["KONNECT_TOKEN"] = org["token"]
    return subprocess.run([BIN, "config", *args, "--url", server.base], capture_output=True, text=True, env=env,
                          input=stdin, timeout=timeout)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def entities(server, org, cp_id, collection):
    r = server.request("GET", "%s/%s/core-entities/%s?size=1000" % (CP, cp_id, collection), token=org["token"])
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_a_file_synced_into_an_empty_control_plane_dumps_back_and_again_identically(server, org, tmp_path):
    name, cp_id = control_plane(server, org)
    out = config(server, org, "sync", "--control-plane", name, "-f", write(tmp_path, "kong.yaml", FILE))
    assert out.returncode == 0, out.stderr
    assert "Synced: %d created, 0 updated, 0 deleted, 0 unchanged" % FILE_ENTITIES in out.stdout, out.stdout
    routes = {r["name"]: r for r in entities(server, org, cp_id, "routes")}
    services = {s["name"]: s for s in entities(server, org, cp_id, "services")}
    assert routes["billing-api"]["service"] == {"id": services["billing"]["id"]}
    assert services["billing"]["port"] == 8080 and services["billing"]["path"] == "/api"  # the url shorthand
    [limit] = [p for p in entities(server, org, cp_id, "plugins") if p["name"] == "rate-limiting"]
    assert limit["route"] == {"id": routes["billing-api"]["id"]} and limit["config"]["minute"] == 10

    first = str(tmp_path / "first.yaml")
    out = config(server, org, "dump", "--control-plane", cp_id, "-f", first)  # by id this time
    assert out.returncode == 0, out.stderr
    dumped = yaml.safe_load(open(first))
    assert dumped["_format_version"] == "3.0"
    assert sorted(s["name"] for s in dumped["services"]) == ["billing", "search"]
    billing = next(s for s in dumped["services"] if s["name"] == "billing")
    assert [r["name"] for r in billing["routes"]] == ["billing-api"]
    assert [p["name"] for p in billing["routes"][0]["plugins"]] == ["rate-limiting"]
    assert "service" not in billing["routes"][0]  # nested: named by its place
    assert all("created_at" not in s for s in dumped["services"])

    other, _ = control_plane(server, org)
    out = config(server, org, "sync", "--control-plane", other, "-f", first)
    assert out.returncode == 0, out.stderr
    second = str(tmp_path / "second.yaml")
    assert config(server, org, "dump", "--control-plane", other, "-f", second).returncode == 0
    assert open(second).read() == open(first).read()
    # JSON too, through standard output.
    out = config(server, org, "dump", "--control-plane", other, "-f", "-", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == dumped


def test_a_second_sync_of_the_same_file_changes_nothing(server, org, tmp_path):
    name, cp_id = control_plane(server, org)
    path = write(tmp_path, "kong.yaml", FILE)
    assert config(server, org, "sync", "--control-plane", name, "-f", path).returncode == 0
    before = {c: entities(server, org, cp_id, c) for c in ("services", "routes", "plugins", "targets")}
    out = config(server, org, "sync", "--control-plane", name, "-f", path)
    assert out.returncode == 0, out.stderr
    assert "Synced: 0 created, 0 updated, 0 deleted, %d unchanged" % FILE_ENTITIES in out.stdout, out.stdout
    after = {c: entities(server, org, cp_id, c) for c in ("services", "routes", "plugins", "targets")}
    assert after == before  # not even updated_at moved
    out = config(server, org, "diff", "--control-plane", name, "-f", path)
    assert out.stdout == "Summary: 0 to create, 0 to update, 0 to delete, %d unchanged.\n" % FILE_ENTITIES


GROUPS = """\
_format_version: "3.0"
consumer_groups:
  - name: gold
  - name: silver
    consumers:
      - username: bob
consumers:
  - username: alice
    groups:
      - name: gold
  - username: bob
"""


def members(server, org, cp_id, group_id):
    r = server.request("GET", "%s/%s/core-entities/consumer_groups/%s/consumers" % (CP, cp_id, group_id),
                       token=org["token"])
    assert r.status_code == 200, r.text
    return sorted(c["username"] for c in r.json()["data"])


def test_consumer_group_memberships_sync_both_ways_of_writing_them_and_dump_in_the_consumer(server, org, tmp_path):
    name, cp_id = control_plane(server, org)
    out = config(server, org, "sync", "--control-plane", name, "-f", write(tmp_path, "groups.yaml", GROUPS))
    assert out.returncode == 0, out.stderr
    assert "Synced: 6 created, 0 updated, 0 deleted, 0 unchanged" in out.stdout, out.stdout
    groups = {g["name"]: g["id"] for g in entities(server, org, cp_id, "consumer_groups")}
    assert members(server, org, cp_id, groups["gold"]) == ["alice"]
    assert members(server, org, cp_id, groups["silver"]) == ["bob"]

    out = config(server, org, "sync", "--control-plane", name, "-f", write(tmp_path, "groups.yaml", GROUPS))
    assert "Synced: 0 created, 0 updated, 0 deleted, 6 unchanged" in out.stdout, out.stdout

    dumped = str(tmp_path / "dumped.yaml")
    assert config(server, org, "dump", "--control-plane", name, "-f", dumped).returncode == 0
    document = yaml.safe_load(open(dumped))
    assert {c["username"]: c.get("groups") for c in document["consumers"]} == {
        "alice": [{"name": "gold"}], "bob": [{"name": "silver"}]}
    assert all("consumers" not in g for g in document["consumer_groups"])

    moved = GROUPS.replace("      - name: gold", "      - name: silver")  # alice into silver
    out = config(server, org, "diff", "--control-plane", name, "-f", write(tmp_path, "moved.yaml", moved))
    assert "delete consumer group membership (consumer group gold, consumer alice)" in out.stdout, out.stdout
    assert "create consumer group membership (consumer group silver, consumer alice)" in out.stdout, out.stdout
    out = config(server, org, "sync", "--control-plane", name, "-f", write(tmp_path, "moved.yaml", moved))
    assert "Synced: 1 created, 0 updated, 1 deleted, 5 unchanged" in out.stdout, out.stdout
    assert members(server, org, cp_id, groups["gold"]) == []
    assert members(server, org, cp_id, groups["silver"]) == ["alice", "bob"]


def test_diff_prints_creates_updates_and_deletes_and_sync_deletes_children_first(server, org, tmp_path):
    name, cp_id = control_plane(server, org)
    assert config(server, org, "sync", "--control-plane", name, "-f", write(tmp_path, "a.yaml", FILE)).returncode == 0
    changed = FILE.replace("    host: search.internal\n    routes:\n      - name: search-api\n        paths: [/search]\n",
                           "    host: search.internal\n")
    changed = changed.replace("url: http://billing.internal:8080/api", "url: http://billing.internal:9090/api")
    changed += "  - name: correlation-id\n"
    path = write(tmp_path, "b.yaml", changed)
    out = config(server, org, "diff", "--control-plane", name, "-f", path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(l.startswith("delete route search-api (") for l in lines), lines
    assert any(l.startswith("update service billing (") and l.endswith("): port") for l in lines), lines
    assert any(l.startswith("create plugin correlation-id (") for l in lines), lines
    assert lines[-1] == "Summary: 1 to create, 1 to update, 1 to delete, %d unchanged." % (FILE_ENTITIES - 2)
    # diff changed nothing
    assert any(r["name"] == "search-api" for r in entities(server, org, cp_id, "routes"))

    dry = config(server, org, "sync", "--dry-run", "--control-plane", name, "-f", path)
    assert dry.returncode == 0 and "Dry run: 1 to create, 1 to update, 1 to delete" in dry.stdout, dry.stdout
    assert any(r["name"] == "search-api" for r in entities(server, org, cp_id, "routes"))

    out = config(server, org, "sync", "--control-plane", name, "-f", path)
    assert out.returncode == 0, out.stderr
    assert "Synced: 1 created, 1 updated, 1 deleted" in out.stdout, out.stdout
    assert [r["name"] for r in entities(server, org, cp_id, "routes")] == ["billing-api"]
    assert next(s for s in entities(server, org, cp_id, "services") if s["name"] == "billing")["port"] == 9090

    # A service removed from the file goes with its routes and plugins (children first: a
    # service with routes could not be deleted before them).
    only_consumers = "_format_version: \"3.0\"\nconsumers:\n  - username: alice\n"
    out = config(server, org, "sync", "--control-plane", name, "-f", write(tmp_path, "c.yaml", only_consumers))
    assert out.returncode == 0, out.stderr
    for collection in ("services", "routes", "plugins", "upstreams", "targets", "key-auths", "acls"):
        assert entities(server, org, cp_id, collection) == [], collection
    assert [c["username"] for c in entities(server, org, cp_id, "consumers")] == ["alice"]


def test_a_file_with_invalid_entities_reports_every_problem_and_changes_nothing(server, org, tmp_path):
    name, cp_id = control_plane(server, org)
    bad = """\
_format_version: "3.0"
services:
  - name: ok-service
    host: example.com
  - name: bad-port
    host: example.com
    port: 70000
routes:
  - name: orphan
    paths: [/x]
    service: {name: nowhere}
plugins:
  - name: no-such-plugin
"""
    out = config(server, org, "sync", "--control-plane", name, "-f", write(tmp_path, "bad.yaml", bad))
    assert out.returncode == 1
    err = out.stderr
    assert "3 entities of the file cannot be synced; nothing was changed" in err, err
    assert "service bad-port" in err and "port: " in err and "(rule: " in err, err
    assert "route orphan" in err and "service: no service [nowhere] in the file or in the control plane" in err, err
    assert "no-such-plugin" in err, err
    assert entities(server, org, cp_id, "services") == []



def test_atomic_has_the_server_check_every_entity_before_anything_is_written(start_server, tmp_path):
    # What the server refuses but the file's own checks pass: here a body beyond the server's
    # --max-body-bytes (a client of another version than the server would be the usual case).
    srv = start_server("--max-body-bytes", "4096")
    org = srv.create_org("atomic")
    name, cp_id = control_plane(srv, org)
    big = """\
_format_version: "3.0"
services:
  - name: fine
    host: example.com
plugins:
  - name: request-termination
    config: {status_code: 503, message: "%s"}
""" % ("x" * 6000)
    path = write(tmp_path, "big.yaml", big)
    out = config(srv, org, "sync", "--atomic", "--control-plane", name, "-f", path)
    assert out.returncode == 1, out.stdout
    assert "error: create plugin request-termination" in out.stderr and "413" in out.stderr, out.stderr
    assert "1 entities are invalid; nothing was changed." in out.stderr, out.stderr
    assert entities(srv, org, cp_id, "services") == []
    # Without --atomic the service goes in and the plugin fails, named with the server's answer.
    out = config(srv, org, "sync", "--control-plane", name, "-f", path)
    assert out.returncode == 1
    assert "error: create plugin request-termination" in out.stderr and "413" in out.stderr, out.stderr
    assert "1 changes failed" in out.stderr, out.stderr
    assert [s["name"] for s in entities(srv, org, cp_id, "services")] == ["fine"]


def test_files_and_flags_that_cannot_work_say_why(server, org, tmp_path):
    name, _ = control_plane(server, org)
    out = config(server, org, "diff", "--control-plane", name, "-f", write(tmp_path, "x.yaml", "services: [1]\n"))
    assert out.returncode == 1 and "x.yaml: _format_version is missing" in out.stderr, out.stderr
    out = config(server, org, "diff", "--control-plane", name, "-f",
                 write(tmp_path, "y.yaml", "_format_version: '3.0'\nservices:\n  - name: a\n    routes: [7]\n"))
    assert "y.yaml: services[0].routes[0]: expected a mapping, found a number" in out.stderr, out.stderr
    out = config(server, org, "diff", "--control-plane", name, "-f", write(tmp_path, "z.yaml", "a: [1,\n"))
    assert out.returncode == 1 and "z.yaml: line " in out.stderr, out.stderr
    out = config(server, org, "diff", "--control-plane", "no-such-cp", "-f", write(tmp_path, "ok.yaml", FILE))
    assert out.returncode == 1 and "no control plane [no-such-cp] in this organization" in out.stderr, out.stderr
    out = config(server, org, "diff", "--control-plane", name, "-f", str(tmp_path / "missing.yaml"))
    assert out.returncode == 1 and "cannot read" in out.stderr, out.stderr
    out = config(server, org, "dump", "--control-plane", name, token=False)
    assert out.returncode == 1 and "a token is needed" in out.stderr, out.stderr
    env = dict(os.environ, KONNECT_TOKEN="kpat_" + "x" * 40)
    out = subprocess.run([BIN, "config", "dump", "--url", server.base, "--control-plane", name, "-f", "-"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1 and "401 Unauthorized" in out.stderr, out.stderr
    # From standard input.
    out = config(server, org, "diff", "--control-plane", name, "-f", "-", stdin=FILE)
    assert out.returncode == 0 and "Summary: %d to create" % FILE_ENTITIES in out.stdout, out.stderr


def test_a_sync_that_meets_the_rate_limit_waits_as_told_and_finishes(start_server, tmp_path):
    srv = start_server("--rate-limit-token", "20/2")
    org = srv.create_org("tiny-budget")
    name, cp_id = control_plane(srv, org)
    services = "".join("  - name: s%02d\n    host: h%02d.example.com\n" % (i, i) for i in range(40))
    out = config(srv, org, "sync", "--control-plane", name, "-f",
                 write(tmp_path, "many.yaml", "_format_version: \"3.0\"\nservices:\n" + services), timeout=180)
    assert out.returncode == 0, out.stderr
    assert "Synced: 40 created" in out.stdout, out.stdout
    time.sleep(2.5)  # the test's own requests spend the same budget: let it refill
    assert len(entities(srv, org, cp_id, "services")) == 40
    # It did meet the limit: the server refused some requests, and the client waited them out.
    metrics = srv.request("GET", "/metrics").text
    refused = [l for l in metrics.splitlines() if l.startswith("openkonnect_http_requests_total") and
               'status="429"' in l]
    assert any(float(l.rsplit(" ", 1)[1]) > 0 for l in refused), refused
