"""`openkonnect copy`: an installation moved into a new database (a SQLite file, or with
OPENKONNECT_TEST_POSTGRES_URL a PostgreSQL database) serves exactly what the old one served,
with the same tokens; a target that holds data is refused and left as it was."""
import json
import os
import subprocess

from conftest import BIN, fresh_database, uniq

CP = "/v2/control-planes"


def copy(source, target):
    return subprocess.run([BIN, "copy", "--from", source, "--to", target], capture_output=True, text=True,
                          timeout=120)


def snapshot(srv, token, cp_ids):
    """What the API shows of an organization: everything the copy must carry over."""
    paths = ["/v3/users/me", "/v3/teams?page[size]=100", "/v3/system-accounts", CP + "?page[size]=100",
             "/v2/audit-log-webhook", "/v2/audit-log-webhook/jwks.json"]
    for cp_id in cp_ids:
        base = "%s/%s/core-entities" % (CP, cp_id)
        paths += [CP + "/" + cp_id, base + "/services", base + "/routes", base + "/plugins", base + "/consumers",
                  base + "/key-auths", CP + "/" + cp_id + "/dp-client-certificates"]
    out = {}
    for path in paths:
        resp = srv.request("GET", path, token=token)
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
        # Where data planes connect is the serving process's own listener, not data.
        text = resp.text.replace("127.0.0.1:%d" % srv.cluster_port, "CLUSTER")
        out[path] = json.loads(text)
    return out


def populate(srv, token):
    cps = []
    for i in range(3):
        resp = srv.request("POST", CP, token=token, json={"name": uniq("copy-%d" % i), "labels": {"n": str(i)}})
        assert resp.status_code == 201, resp.text
        cps.append(resp.json()["id"])
    base = "%s/%s/core-entities" % (CP, cps[0])
    svc = srv.request("POST", base + "/services", token=token, json={"name": "orders", "url": "http://o.internal"})
    assert svc.status_code == 201, svc.text
    route = srv.request("POST", base + "/services/%s/routes" % svc.json()["id"], token=token,
                        json={"name": "orders", "paths": ["/orders"], "tags": ["shop", "v1"]})
    assert route.status_code == 201, route.text
    plugin = srv.request("POST", base + "/plugins", token=token,
                         json={"name": "rate-limiting", "config": {"minute": 10}, "service": {"id": svc.json()["id"]}})
    assert plugin.status_code == 201, plugin.text
    consumer = srv.request("POST", base + "/consumers", token=token, json={"username": "ünïcode ☃"})
    assert consumer.status_code == 201, consumer.text
    key = srv.request("POST", base + "/consumers/%s/key-auth" % consumer.json()["id"], token=token, json={})
    assert key.status_code == 201, key.text
    account = srv.request("POST", "/v3/system-accounts", token=token, json={"name": "ci", "description": "bot"})
    assert account.status_code == 201, account.text
    webhook = srv.request("PATCH", "/v2/audit-log-webhook", token=token,
                          json={"endpoint": "https://siem.example/in", "authorization": "Bearer x", "enabled": True})
    assert webhook.status_code == 200, webhook.text
    assert srv.request("GET", "/v2/audit-log-webhook/jwks.json").json()["keys"]  # the signing key is made
    return cps


def test_a_copied_installation_serves_what_the_original_served(start_server, tmp_path):
    source = "sqlite:" + str(tmp_path / "source.db")
    srv = start_server(database=source)
    org = srv.create_org("copied")
    cps = populate(srv, org["token"])
    before = snapshot(srv, org["token"], cps)

    target = fresh_database(str(tmp_path))
    # Copied while the source server still runs: the copy reads one consistent moment.
    out = copy(source, target)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["copied"] is True
    rows = {name: t["rows"] for name, t in report["tables"].items()}
    assert rows["organizations"] == 1 and rows["control_planes"] == 3 and rows["access_tokens"] == 1, rows
    assert rows["config_entities"] == 5, rows  # service, route, plugin, consumer, key
    assert all(len(t["sha256"]) == 64 for t in report["tables"].values())
    # The webhook, and its delivery state once an attempt was made (siem.example answers no one).
    assert rows["audit_settings"] in (1, 2) and rows["audit_signing_keys"] == 1, rows
    assert rows["audit_records"] >= 1, rows  # the requests above, in blocks
    tables = len(report["tables"])
    assert "%d/%d" % (tables, tables) in out.stderr and "config_entities" in out.stderr

    srv.stop()
    moved = start_server(database=target)
    # The same token authenticates: its hash came along.
    assert snapshot(moved, org["token"], cps) == before
    # And the copy takes writes: the name index and counts were rebuilt by the target.
    resp = moved.request("POST", CP, token=org["token"], json={"name": "after-the-move"})
    assert resp.status_code == 201, resp.text
    listed = moved.request("GET", CP + "?filter[name][contains]=after-the", token=org["token"]).json()
    assert [cp["name"] for cp in listed["data"]] == ["after-the-move"]
    dup = moved.request("POST", CP, token=org["token"], json={"name": before[CP + "/" + cps[0]]["name"]})
    assert dup.status_code == 409, dup.text


def test_a_target_that_holds_data_is_refused_and_left_alone(start_server, tmp_path):
    source = "sqlite:" + str(tmp_path / "source.db")
    srv = start_server(database=source)
    org = srv.create_org("first")
    target = fresh_database(str(tmp_path))
    other = start_server(database=target)
    other_org = other.create_org("already-here")
    mine = other.request("POST", CP, token=other_org["token"], json={"name": "mine"})
    assert mine.status_code == 201, mine.text

    out = copy(source, target)
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
    assert "not empty" in out.stderr, out.stderr
    assert out.stdout == ""
    listed = other.request("GET", CP, token=other_org["token"]).json()
    assert [cp["name"] for cp in listed["data"]] == ["mine"]
    assert other.request("GET", "/v3/users/me", token=org["token"]).status_code == 401


def test_copy_needs_both_urls_and_known_schemes(tmp_path):
    out = subprocess.run([BIN, "copy", "--from", "sqlite:" + str(tmp_path / "a.db")], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 2 and "--to" in out.stderr, out.stderr
    out = copy("sqlite:" + str(tmp_path / "a.db"), "mysql://somewhere/db")
    assert out.returncode == 2, out.stderr
    assert "unsupported database URL" in out.stderr
    assert not os.path.exists(str(tmp_path / "somewhere"))
