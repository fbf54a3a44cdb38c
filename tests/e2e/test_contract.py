"""The error contract on the basics: unknown paths, methods, authentication, bodies."""
import re
import subprocess

import requests

from conftest import BIN, POSTGRES_URL, assert_problem, param


def test_unknown_path_is_404_problem(server):
    resp = server.request("GET", "/v2/nope")
    body = assert_problem(resp, 404)
    assert body["instance"].startswith("kong:trace:")


def test_every_response_has_a_fresh_trace_id(server):
    ids = {server.request("GET", "/healthz").headers["X-Kong-Request-Id"] for _ in range(20)}
    assert len(ids) == 20


def test_known_path_other_method_is_405_with_allow(server):
    resp = server.request("DELETE", "/v2/control-planes")
    assert_problem(resp, 405)
    assert set(m.strip() for m in resp.headers["Allow"].split(",")) == {"GET", "POST"}


def test_missing_token_is_401(server):
    body = assert_problem(server.request("GET", "/v2/control-planes"), 401)
    assert body["detail"] == "A valid token is required."


def test_unknown_token_is_401_invalid_credentials(server):
    for token in ("kpat_" + "a" * 48, "garbage", "spat_short"):
        body = assert_problem(server.request("GET", "/v2/control-planes", token=token), 401)
        assert body["detail"] == "Invalid credentials."


def test_malformed_json_reports_position(server, org):
    resp = server.request("POST", "/v2/control-planes", token=org["token"],
                          data=b'{"name":\n  "x",, }', headers={"Content-Type": "application/json"})
    body = assert_problem(resp, 400)
    reason = param(body, "body")["reason"]
    assert "line 2" in reason and "column" in reason, reason


def test_wrong_content_type_is_415(server, org):
    resp = server.request("POST", "/v2/control-planes", token=org["token"], data=b"name=x",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(resp, 415)


def test_all_body_problems_reported_at_once(server, org):
    resp = server.request("POST", "/v2/control-planes", token=org["token"],
                          json={"name": "x", "description": 5, "cluster_type": "NOPE", "id": "abc", "extra": 1})
    body = assert_problem(resp, 400)
    assert param(body, "name")["rule"] == "min_length"
    assert param(body, "name")["minimum"] == 2
    assert param(body, "description")["rule"] == "is_string"
    assert param(body, "cluster_type")["rule"] == "enum"
    assert "CLUSTER_TYPE_CONTROL_PLANE" in param(body, "cluster_type")["choices"]
    assert param(body, "id")["rule"] == "unknown_property"
    assert param(body, "extra")["rule"] == "unknown_property"


def test_bad_query_and_path_parameters(server, org):
    body = assert_problem(server.request("GET", "/v2/control-planes?page[size]=abc", token=org["token"]), 400)
    p = param(body, "page[size]")
    assert p["source"] == "query" and p["rule"] == "is_integer"
    body = assert_problem(server.request("GET", "/v2/control-planes/not-a-uuid", token=org["token"]), 400)
    p = param(body, "controlPlaneId")
    assert p["source"] == "path" and p["reason"] == "invalid ID format"


def test_healthz_and_metrics(server):
    assert server.request("GET", "/healthz").json() == {"status": "ok"}
    server.request("GET", "/v2/nope")
    text = server.request("GET", "/metrics").text
    assert "openkonnect_http_requests_total" in text
    assert 'route="unmatched",status="404"' in text
    assert "openkonnect_http_request_duration_seconds_bucket" in text
    assert "openkonnect_open_connections" in text
    # Memory gauges: the process's resident set, and the storage engine's part of it.
    gauges = dict(re.findall(r"^(process_resident_memory_bytes|openkonnect_store_memory_bytes) (\d+)$", text, re.M))
    # (PostgreSQL's memory is its own processes': only an embedded database reports it.)
    expected = {"process_resident_memory_bytes"} | (set() if POSTGRES_URL else {"openkonnect_store_memory_bytes"})
    assert set(gauges) == expected, text[-600:]
    if not POSTGRES_URL:
        assert 0 < int(gauges["openkonnect_store_memory_bytes"]) < int(gauges["process_resident_memory_bytes"])
    assert re.search(r"^openkonnect_token_index_refusals_total \d+$", text, re.M)


def sanitizer_allocator():
    """Whether the server under test runs on a sanitizer's allocator (the ASan+UBSan build)."""
    linked = subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout
    return "libasan" in linked or "libtsan" in linked


def test_metrics_show_the_allocator_and_the_read_caches(server, org):
    created = server.request("POST", "/v2/control-planes", token=org["token"], json={"name": "metrics-cache"})
    assert created.status_code == 201, created.text
    assert server.request("GET", "/v2/control-planes/" + created.json()["id"], token=org["token"]).status_code == 200
    text = server.request("GET", "/metrics").text
    heap = dict(re.findall(r"^(openkonnect_heap_(?:in_use|free)_bytes) (\d+)$", text, re.M))
    if sanitizer_allocator():
        # ASan's allocator answers glibc's mallinfo2 with zeros: the gauges are left out.
        assert heap == {}, text[-900:]
    else:
        assert set(heap) == {"openkonnect_heap_in_use_bytes", "openkonnect_heap_free_bytes"}, text[-900:]
        assert int(heap["openkonnect_heap_in_use_bytes"]) > 0
    entries = dict(re.findall(r'^openkonnect_cache_entries\{cache="(\w+)"\} (\d+)$', text, re.M))
    sizes = dict(re.findall(r'^openkonnect_cache_bytes\{cache="(\w+)"\} (\d+)$', text, re.M))
    assert set(entries) == set(sizes) == {"control_planes", "users", "control_plane_pages"}
    # The read just made is held, and weighed at least its JSON.
    assert int(entries["control_planes"]) >= 1
    assert int(sizes["control_planes"]) > len(created.text)


def test_metrics_keep_each_family_in_one_group(server):
    """The exposition format wants all samples of a metric family together, after its TYPE."""
    text = server.request("GET", "/metrics").text
    families = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    seen, current = set(), None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        family = next((f for f in (name, re.sub(r"_(bucket|sum|count)$", "", name)) if f in families), None)
        assert family, "sample without a TYPE line: " + line
        if family != current:
            assert family not in seen, "samples of %s are split into more than one group" % family
            seen.add(family)
            current = family


def test_empty_page_parameters_mean_unset(server, org):
    """The spec declares page[size] and page[number] allowEmptyValue: an empty value is the default."""
    resp = server.request("GET", "/v2/control-planes?page[size]=&page[number]=", token=org["token"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["meta"]["page"] == {"number": 1, "size": 100, "total": resp.json()["meta"]["page"]["total"]}
