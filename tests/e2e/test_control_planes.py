"""Control Planes API v2 end to end: every route's success body against the spec's response
schemas, every validation rule with its exact field and rule name, name conflicts (also
under concurrency), and control plane groups (set/add/remove, limits, deletion, cursor
paging, member and group status)."""
import concurrent.futures
import re
import uuid

import pytest

from conftest import (NO_RATE_LIMITS, assert_problem, module_server, ok, param, rnd, threaded_request, uniq,
                      validate_cp_response)

CP = "/v2/control-planes"
CLUSTER_TYPES = ["CLUSTER_TYPE_CONTROL_PLANE", "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER",
                 "CLUSTER_TYPE_CONTROL_PLANE_GROUP", "CLUSTER_TYPE_SERVERLESS",
                 "CLUSTER_TYPE_KAFKA_NATIVE_EVENT_PROXY", "CLUSTER_TYPE_SERVERLESS_V1"]
GROUP = "CLUSTER_TYPE_CONTROL_PLANE_GROUP"
CONFIG_KEYS = {"control_plane_endpoint", "telemetry_endpoint", "cluster_type", "auth_type", "cloud_gateway",
               "proxy_urls"}
NOT_FOUND = "The requested control plane was not found."
MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


server = module_server(NO_RATE_LIMITS)


@pytest.fixture(scope="module")
def tok(org):
    return org["token"]


def create(server, tok, **body):
    body.setdefault("name", uniq("cp-"))
    created = ok(server.request("POST", CP, token=tok, json=body), 201)
    validate_cp_response(created, "CreateControlPlaneResponse")
    return created


def get(server, tok, cp_id):
    body = ok(server.request("GET", "%s/%s" % (CP, cp_id), token=tok))
    validate_cp_response(body, "RetrieveControlPlaneResponse")
    return body


def assert_shape(cp):
    """The ControlPlane object always carries every key, empty values included."""
    assert set(cp) == {"id", "name", "description", "labels", "config", "created_at", "updated_at"}, cp
    assert set(cp["config"]) == CONFIG_KEYS, cp["config"]
    assert isinstance(cp["description"], str) and isinstance(cp["labels"], dict)
    assert isinstance(cp["config"]["proxy_urls"], list) and isinstance(cp["config"]["cloud_gateway"], bool)
    assert MS_RE.match(cp["created_at"]) and MS_RE.match(cp["updated_at"]), cp
    uuid.UUID(cp["id"])


# --- create, read, update, delete ----------------------------------------------------------


def test_create_with_only_a_name_has_every_key(server, tok):
    name = uniq("cp-")
    cp = create(server, tok, name=name)
    assert_shape(cp)
    assert cp["name"] == name
    assert cp["description"] == ""
    assert cp["labels"] == {}
    assert cp["config"]["proxy_urls"] == []
    assert cp["config"]["cluster_type"] == "CLUSTER_TYPE_CONTROL_PLANE"
    assert cp["config"]["cloud_gateway"] is False
    assert cp["config"]["auth_type"] in ("pinned_client_certs", "pki_client_certs")
    assert cp["created_at"] == cp["updated_at"]
    assert get(server, tok, cp["id"]) == cp


def test_create_with_every_field(server, tok):
    body = {"name": uniq("Full CP "), "description": "A test control plane for exploration.",
            "cluster_type": "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", "auth_type": "pki_client_certs",
            "cloud_gateway": True,
            "proxy_urls": [{"host": "example.com", "port": 443, "protocol": "https"},
                           {"host": "example.com", "port": 80, "protocol": "http"}],
            "labels": {"env": "test", "team": "core.api_v2-x"}}
    cp = create(server, tok, **body)
    assert_shape(cp)
    assert cp["name"] == body["name"] and cp["description"] == body["description"]
    assert cp["labels"] == body["labels"]
    assert cp["config"]["cluster_type"] == body["cluster_type"]
    assert cp["config"]["auth_type"] == "pki_client_certs"
    assert cp["config"]["cloud_gateway"] is True
    assert cp["config"]["proxy_urls"] == body["proxy_urls"]
    assert get(server, tok, cp["id"]) == cp


@pytest.mark.parametrize("cluster_type", CLUSTER_TYPES)
def test_every_cluster_type_can_be_created(server, tok, cluster_type):
    cp = create(server, tok, cluster_type=cluster_type)
    assert cp["config"]["cluster_type"] == cluster_type


def test_patch_is_partial_and_labels_merge(server, tok):
    cp = create(server, tok, description="before", labels={"env": "dev", "team": "a", "keep": "me"},
                proxy_urls=[{"host": "a.example.com", "port": 8000, "protocol": "http"}])
    path = "%s/%s" % (CP, cp["id"])
    new_name = uniq("renamed-")
    patched = ok(server.request("PATCH", path, token=tok, json={"name": new_name}))
    validate_cp_response(patched, "UpdateControlPlaneResponse")
    assert patched["name"] == new_name
    assert patched["description"] == "before" and patched["labels"] == cp["labels"]
    assert patched["config"] == cp["config"]
    assert patched["created_at"] == cp["created_at"] and patched["updated_at"] >= cp["updated_at"]

    # labels: set one, add one, remove one with null; the others stay
    patched = ok(server.request("PATCH", path, token=tok,
                                json={"labels": {"env": "prod", "new": "one", "team": None}}))
    validate_cp_response(patched, "UpdateControlPlaneResponse")
    assert patched["labels"] == {"env": "prod", "new": "one", "keep": "me"}
    # removing a label that does not exist is fine
    patched = ok(server.request("PATCH", path, token=tok, json={"labels": {"absent": None}}))
    assert patched["labels"] == {"env": "prod", "new": "one", "keep": "me"}

    urls = [{"host": "b.example.com", "port": 443, "protocol": "https"}]
    patched = ok(server.request("PATCH", path, token=tok, json={"description": "", "proxy_urls": urls,
                                                                 "auth_type": "pki_client_certs"}))
    assert patched["description"] == "" and patched["config"]["proxy_urls"] == urls
    assert patched["config"]["auth_type"] == "pki_client_certs"
    assert patched["config"]["cluster_type"] == cp["config"]["cluster_type"]
    patched = ok(server.request("PATCH", path, token=tok, json={"proxy_urls": []}))
    assert patched["config"]["proxy_urls"] == []
    # an empty PATCH changes nothing it shows
    same = ok(server.request("PATCH", path, token=tok, json={}))
    assert {k: v for k, v in same.items() if k != "updated_at"} == \
        {k: v for k, v in patched.items() if k != "updated_at"}
    assert get(server, tok, cp["id"]) == same
    assert_shape(same)


def test_patch_keeping_its_own_name_is_not_a_conflict(server, tok):
    cp = create(server, tok)
    patched = ok(server.request("PATCH", "%s/%s" % (CP, cp["id"]), token=tok,
                                json={"name": cp["name"], "description": "same name"}))
    assert patched["name"] == cp["name"] and patched["description"] == "same name"


def test_delete(server, tok):
    cp = create(server, tok)
    path = "%s/%s" % (CP, cp["id"])
    ok(server.request("DELETE", path, token=tok), 204)
    for method, body in (("GET", None), ("PATCH", {"description": "x"}), ("DELETE", None)):
        assert_problem(server.request(method, path, token=tok, json=body), 404, NOT_FOUND)
    listed = ok(server.request("GET", CP, token=tok, params={"filter[id][eq]": cp["id"]}))
    assert listed["data"] == [] and listed["meta"]["page"]["total"] == 0
    # the name is free again
    assert create(server, tok, name=cp["name"])["id"] != cp["id"]


def test_unknown_ids_are_404_and_malformed_ids_400(server, tok):
    for method, tail, body in (("GET", "", None), ("PATCH", "", {"description": "x"}), ("DELETE", "", None),
                               ("GET", "/group-memberships", None), ("PUT", "/group-memberships", {"members": []}),
                               ("POST", "/group-memberships/add", {"members": []}),
                               ("POST", "/group-memberships/remove", {"members": []}),
                               ("GET", "/group-member-status", None), ("GET", "/group-status", None)):
        assert_problem(server.request(method, "%s/%s%s" % (CP, rnd(), tail), token=tok, json=body), 404, NOT_FOUND)
        bad = assert_problem(server.request(method, "%s/not-a-uuid%s" % (CP, tail), token=tok, json=body), 400)
        p = param(bad, "controlPlaneId")
        assert p["source"] == "path" and p["reason"] == "invalid ID format"


def test_list_matches_the_schema(server, tok):
    created = [create(server, tok, labels={"list": "schema"}) for _ in range(3)]
    listed = ok(server.request("GET", CP, token=tok, params={"labels": "list:schema"}))
    validate_cp_response(listed, "ListControlPlanesResponse")
    assert listed["meta"]["page"] == {"number": 1, "size": 100, "total": 3}
    assert listed["data"] == sorted(created, key=lambda c: (c["created_at"], c["id"]))
    for cp in listed["data"]:
        assert_shape(cp)


# --- validation -------------------------------------------------------------------------


LONG_KEY = "k" * 64
CREATE_ERRORS = [
    # (body changes, field, rule, extra keys expected on the item)
    ({"name": "a"}, "name", "min_length", {"minimum": 2}),
    ({"name": "n" * 257}, "name", "max_length", {"maximum": 256}),
    ({"description": "d" * 2049}, "description", "max_length", {"maximum": 2048}),
    ({"cluster_type": "CLUSTER_TYPE_BOGUS"}, "cluster_type", "enum", {"choices": CLUSTER_TYPES}),
    ({"auth_type": "password"}, "auth_type", "enum", {"choices": ["pinned_client_certs", "pki_client_certs"]}),
    ({"proxy_urls": [{"host": "h%d.example.com" % i, "port": 443, "protocol": "https"} for i in range(6)]},
     "proxy_urls", "max_items", {"maximum": 5}),
    ({"proxy_urls": [{"host": "a.example.com", "port": 443, "protocol": "https"},
                     {"host": "a.example.com", "port": 443, "protocol": "https"}]}, "proxy_urls[1]", "invalid", {}),
    ({"proxy_urls": [{"host": "a.example.com", "port": 0, "protocol": "https"}]}, "proxy_urls[0].port", "min",
     {"minimum": 1}),
    ({"proxy_urls": [{"host": "a.example.com", "port": 65536, "protocol": "https"}]}, "proxy_urls[0].port", "max",
     {"maximum": 65535}),
    ({"proxy_urls": [{"host": "h" * 121, "port": 443, "protocol": "https"}]}, "proxy_urls[0].host", "max_length",
     {"maximum": 120}),
    ({"proxy_urls": [{"host": "a.example.com", "port": 443, "protocol": ""}]}, "proxy_urls[0].protocol",
     "min_length", {"minimum": 1}),
    ({"proxy_urls": [{"port": 443, "protocol": "https"}]}, "proxy_urls[0].host", "required", {}),
    ({"proxy_urls": [{"host": "a.example.com", "port": 443, "protocol": "https", "x": 1}]}, "proxy_urls[0].x",
     "unknown_property", {}),
    ({"surprise": 1}, "surprise", "unknown_property", {}),
    ({"id": "7f9fd312-a987-4628-b4c5-bb4f4fddd5f7"}, "id", "unknown_property", {}),
    ({"created_at": "2022-11-04T20:10:06.927Z"}, "created_at", "unknown_property", {}),
    ({"config": {}}, "config", "unknown_property", {}),
    ({"labels": {"kong-x": "v"}}, "labels.kong-x", "is_label", {}),
    ({"labels": {"_x": "v"}}, "labels._x", "is_label", {}),
    ({"labels": {LONG_KEY: "v"}}, "labels." + LONG_KEY, "is_label", {}),
    ({"labels": {"env": "has space"}}, "labels.env", "is_label", {}),
    ({"labels": {"env": "v" * 64}}, "labels.env", "is_label", {}),
    ({"labels": {"env": None}}, "labels.env", "is_label", {}),
    ({"labels": {"k%d" % i: "v" for i in range(51)}}, "labels", "max_items", {"maximum": 50}),
    ({"description": 5}, "description", "is_string", {}),
    ({"cloud_gateway": "yes"}, "cloud_gateway", "is_boolean", {}),
]


@pytest.mark.parametrize("change,field,rule,extra", CREATE_ERRORS,
                         ids=["%s-%s" % (c[1], c[2]) for c in CREATE_ERRORS])
def test_create_validation(server, tok, change, field, rule, extra):
    name = uniq("invalid-")
    body = dict({"name": name}, **change)
    problem = assert_problem(server.request("POST", CP, token=tok, json=body), 400)
    assert len(problem["invalid_parameters"]) == 1, problem["invalid_parameters"]
    item = param(problem, field)
    assert item["rule"] == rule, item
    assert item.get("source", "body") == "body", item
    for key, value in extra.items():
        assert item[key] == value, item
    # nothing was created
    if "name" not in change:
        assert ok(server.request("GET", CP, token=tok, params={"filter[name][eq]": name}))["data"] == []


def test_create_requires_a_name_and_an_object(server, tok):
    problem = assert_problem(server.request("POST", CP, token=tok, json={"description": "no name"}), 400)
    assert param(problem, "name")["rule"] == "required"
    for bad in ([], "x", 3):
        problem = assert_problem(server.request("POST", CP, token=tok, json=bad), 400)
        assert problem["invalid_parameters"][0]["field"] == "body"


def test_spec_example_reasons(server, tok):
    """The spec's examples: a blank name "cannot be blank"; `id` is "property id should not exist"."""
    problem = assert_problem(server.request("POST", CP, token=tok, json={"name": ""}), 400)
    assert param(problem, "name") == {"field": "name", "rule": "min_length", "minimum": 2,
                                      "reason": "cannot be blank", "source": "body"}
    problem = assert_problem(server.request("POST", CP, token=tok, json={"name": uniq("cp-"), "id": rnd()}), 400)
    assert param(problem, "id")["reason"] == "property id should not exist"


def test_lengths_count_characters_not_bytes(server, tok):
    assert param(assert_problem(server.request("POST", CP, token=tok, json={"name": "\u00e9"}), 400),
                 "name")["rule"] == "min_length"
    assert create(server, tok, name="\u00e9\u00e8")["name"] == "\u00e9\u00e8"
    long_name = "\u00e9" * 255 + uniq("")[-1]
    assert create(server, tok, name=long_name, description="\u2603" * 2048)["name"] == long_name
    problem = assert_problem(server.request("POST", CP, token=tok, json={"name": "\u00e9" * 257}), 400)
    assert param(problem, "name")["rule"] == "max_length"


def test_labels_at_the_limits_are_accepted(server, tok):
    labels = {"k%d" % i: "v" for i in range(48)}
    labels["k" * 63] = "v" * 63
    labels["a"] = "b"
    cp = create(server, tok, labels=labels, name="n" * 256, description="d" * 2048)
    assert cp["labels"] == labels and len(cp["name"]) == 256 and len(cp["description"]) == 2048


PATCH_ERRORS = [
    ({"cluster_type": "CLUSTER_TYPE_CONTROL_PLANE"}, "cluster_type", "unknown_property", {}),
    ({"cloud_gateway": False}, "cloud_gateway", "unknown_property", {}),
    ({"id": "7f9fd312-a987-4628-b4c5-bb4f4fddd5f7"}, "id", "unknown_property", {}),
    ({"updated_at": "2022-11-04T20:10:06.927Z"}, "updated_at", "unknown_property", {}),
    ({"name": "a"}, "name", "min_length", {"minimum": 2}),
    ({"name": "n" * 257}, "name", "max_length", {"maximum": 256}),
    ({"description": "d" * 2049}, "description", "max_length", {"maximum": 2048}),
    ({"labels": {"konnect-x": "v"}}, "labels.konnect-x", "is_label", {}),
    ({"labels": {"env": "bad value"}}, "labels.env", "is_label", {}),
    ({"proxy_urls": [{"host": "a.example.com", "port": 0, "protocol": "https"}]}, "proxy_urls[0].port", "min",
     {"minimum": 1}),
]


@pytest.mark.parametrize("body,field,rule,extra", PATCH_ERRORS, ids=["%s-%s" % (c[1], c[2]) for c in PATCH_ERRORS])
def test_patch_validation(server, tok, body, field, rule, extra):
    cp = create(server, tok, labels={"env": "dev"})
    path = "%s/%s" % (CP, cp["id"])
    problem = assert_problem(server.request("PATCH", path, token=tok, json=body), 400)
    assert len(problem["invalid_parameters"]) == 1, problem["invalid_parameters"]
    item = param(problem, field)
    assert item["rule"] == rule, item
    for key, value in extra.items():
        assert item[key] == value, item
    assert get(server, tok, cp["id"]) == cp  # unchanged


def test_patch_beyond_fifty_labels_in_total(server, tok):
    cp = create(server, tok, labels={"k%d" % i: "v" for i in range(50)})
    path = "%s/%s" % (CP, cp["id"])
    problem = assert_problem(server.request("PATCH", path, token=tok, json={"labels": {"one": "more"}}), 400)
    item = param(problem, "labels")
    assert item["rule"] == "max_items" and item["maximum"] == 50
    assert get(server, tok, cp["id"]) == cp
    # replacing one (null + new in one request) stays at 50
    patched = ok(server.request("PATCH", path, token=tok, json={"labels": {"k0": None, "one": "more"}}))
    assert len(patched["labels"]) == 50 and "k0" not in patched["labels"] and patched["labels"]["one"] == "more"


# --- names are unique per organization ----------------------------------------------------


def test_duplicate_name_on_create_and_on_rename(server, tok):
    first = create(server, tok)
    second = create(server, tok)
    assert_problem(server.request("POST", CP, token=tok, json={"name": first["name"]}), 409,
                   "Control plane with name [%s] already exists." % first["name"])
    assert_problem(server.request("PATCH", "%s/%s" % (CP, second["id"]), token=tok,
                                  json={"name": first["name"], "description": "lost"}), 409,
                   "Control plane with name [%s] already exists." % first["name"])
    assert get(server, tok, second["id"]) == second
    listed = ok(server.request("GET", CP, token=tok, params={"filter[name][eq]": first["name"]}))
    assert [c["id"] for c in listed["data"]] == [first["id"]]


def test_names_are_case_sensitive(server, tok):
    name = uniq("Prod-")
    first = create(server, tok, name=name)
    second = create(server, tok, name=name.lower())
    assert first["id"] != second["id"]
    assert ok(server.request("GET", CP, token=tok, params={"filter[name][eq]": name}))["data"] == [first]


def test_concurrent_renames_to_one_name(server, tok):
    name = uniq("rename-race-")
    cps = [create(server, tok) for _ in range(8)]

    def one(cp):
        return threaded_request(server, "PATCH", "%s/%s" % (CP, cp["id"]), token=tok, json={"name": name})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(one, cps))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7, [r.status_code for r in responses]
    listed = ok(server.request("GET", CP, token=tok, params={"filter[name][eq]": name}))["data"]
    assert len(listed) == 1 and listed[0] == [r.json() for r in responses if r.status_code == 200][0]


def test_concurrent_creates_of_one_name(server, tok):
    name = uniq("race-")

    def one(i):
        return threaded_request(server, "POST", CP, token=tok, json={"name": name, "description": "attempt %d" % i})

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(one, range(20)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 19, codes
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "Control plane with name [%s] already exists." % name)
    winner = [r.json() for r in responses if r.status_code == 201][0]
    listed = ok(server.request("GET", CP, token=tok, params={"filter[name][eq]": name}))
    assert listed["data"] == [winner]


# --- control plane groups -------------------------------------------------------------------


def members_of(server, tok, group_id, size=None):
    params = {"page[size]": size} if size else None
    body = ok(server.request("GET", "%s/%s/group-memberships" % (CP, group_id), token=tok, params=params))
    validate_cp_response(body, "ListGroupMemberships")
    return body


def member_ids(server, tok, group_id):
    body = members_of(server, tok, group_id, 1000)
    assert body["meta"]["page"]["next"] is None
    assert body["meta"]["page"]["total"] == len(body["data"])
    return {m["id"] for m in body["data"]}


def change(server, tok, group_id, how, ids):
    path = "%s/%s/group-memberships%s" % (CP, group_id, {"put": "", "add": "/add", "remove": "/remove"}[how])
    return server.request("PUT" if how == "put" else "POST", path, token=tok, json={"members": [{"id": i} for i in ids]})


def is_member(server, tok, cp_id):
    body = ok(server.request("GET", "%s/%s/group-member-status" % (CP, cp_id), token=tok))
    validate_cp_response(body, "GetGroupMemberStatus")
    assert set(body) == {"is_member"}
    return body["is_member"]


def new_group(server, tok):
    return create(server, tok, cluster_type=GROUP, name=uniq("group-"))


def test_group_memberships_put_add_remove(server, tok):
    group = new_group(server, tok)
    m = [create(server, tok)["id"] for _ in range(4)]
    listed = members_of(server, tok, group["id"])
    assert listed["data"] == [] and listed["meta"]["page"]["total"] == 0 and listed["meta"]["page"]["next"] is None
    assert not any(is_member(server, tok, i) for i in m)

    ok(change(server, tok, group["id"], "put", [m[0], m[1]]), 204)
    assert member_ids(server, tok, group["id"]) == {m[0], m[1]}
    assert [is_member(server, tok, i) for i in m] == [True, True, False, False]
    # the listed members are the full control planes
    full = {c["id"]: c for c in members_of(server, tok, group["id"])["data"]}
    assert full[m[0]] == get(server, tok, m[0])

    ok(change(server, tok, group["id"], "add", [m[2], m[2], m[0]]), 204)  # repeats and existing members: fine
    assert member_ids(server, tok, group["id"]) == {m[0], m[1], m[2]}
    ok(change(server, tok, group["id"], "remove", [m[0], m[3]]), 204)  # a non-member: nothing to do
    assert member_ids(server, tok, group["id"]) == {m[1], m[2]}
    assert [is_member(server, tok, i) for i in m] == [False, True, True, False]
    ok(change(server, tok, group["id"], "put", [m[3]]), 204)  # exactly the given list
    assert member_ids(server, tok, group["id"]) == {m[3]}
    ok(change(server, tok, group["id"], "put", []), 204)
    assert member_ids(server, tok, group["id"]) == set()
    assert not any(is_member(server, tok, i) for i in m)
    # the group itself is no member of anything
    assert is_member(server, tok, group["id"]) is False


def test_group_status(server, tok):
    group = new_group(server, tok)
    ok(change(server, tok, group["id"], "put", [create(server, tok)["id"]]), 204)
    body = ok(server.request("GET", "%s/%s/group-status" % (CP, group["id"]), token=tok))
    validate_cp_response(body, "GetGroupStatus")
    item = body["item"]
    assert item["id"] == group["id"] and item["state"] == "OK"
    assert item.get("conflicts", []) == []
    assert MS_RE.match(item["created_at"]) and MS_RE.match(item["updated_at"])


def test_membership_body_validation(server, tok):
    group = new_group(server, tok)
    for how in ("put", "add", "remove"):
        method = "PUT" if how == "put" else "POST"
        path = "%s/%s/group-memberships%s" % (CP, group["id"], "" if how == "put" else "/" + how)
        problem = assert_problem(server.request(method, path, token=tok, json={}), 400)
        assert param(problem, "members")["rule"] == "required"
        problem = assert_problem(server.request(method, path, token=tok, json={"members": [{}]}), 400)
        assert param(problem, "members[0].id")["rule"] == "required"
        problem = assert_problem(server.request(method, path, token=tok,
                                                json={"members": [{"id": "nope"}]}), 400)
        assert param(problem, "members[0].id")["rule"] == "is_uuid"
        many = [{"id": rnd()} for _ in range(51)]
        problem = assert_problem(server.request(method, path, token=tok, json={"members": many}), 400)
        item = param(problem, "members")
        assert item["rule"] == "max_items" and item["maximum"] == 50
    assert member_ids(server, tok, group["id"]) == set()


def test_fifty_members_in_one_call_is_allowed(server, tok):
    group = new_group(server, tok)
    ids = [create(server, tok)["id"] for _ in range(50)]
    ok(change(server, tok, group["id"], "add", ids), 204)
    assert member_ids(server, tok, group["id"]) == set(ids)
    ok(change(server, tok, group["id"], "remove", ids), 204)
    assert member_ids(server, tok, group["id"]) == set()


@pytest.fixture(scope="module")
def other_org(server):
    o = server.create_org(uniq("other-org-"))
    cp = ok(server.request("POST", CP, token=o["token"], json={"name": uniq("foreign-")}), 201)
    return {"token": o["token"], "cp": cp}


@pytest.mark.parametrize("how", ["put", "add"])
def test_unknown_and_foreign_members_are_missing_references(server, tok, other_org, how):
    group = new_group(server, tok)
    existing = create(server, tok)["id"]
    for missing in (rnd(), other_org["cp"]["id"]):
        problem = assert_problem(change(server, tok, group["id"], how, [existing, missing]), 400)
        assert len(problem["invalid_parameters"]) == 1, problem
        item = param(problem, "members[1].id")
        assert item["rule"] == "missing_reference", item
    assert member_ids(server, tok, group["id"]) == set()
    # the foreign control plane was not touched
    assert ok(server.request("GET", "%s/%s/group-member-status" % (CP, other_org["cp"]["id"]),
                             token=other_org["token"]))["is_member"] is False


def test_foreign_missing_reference_reads_like_an_unknown_one(server, tok, other_org):
    group = new_group(server, tok)
    unknown = rnd()
    a = assert_problem(change(server, tok, group["id"], "add", [unknown]), 400)
    b = assert_problem(change(server, tok, group["id"], "add", [other_org["cp"]["id"]]), 400)
    for body in (a, b):
        body.pop("instance")
    a_text = str(a).replace(unknown, "<id>")
    b_text = str(b).replace(other_org["cp"]["id"], "<id>")
    assert a_text == b_text


@pytest.mark.parametrize("how", ["put", "add"])
def test_groups_and_ingress_controllers_cannot_be_members(server, tok, how):
    group = new_group(server, tok)
    other_group = new_group(server, tok)
    kic = create(server, tok, cluster_type="CLUSTER_TYPE_K8S_INGRESS_CONTROLLER")["id"]
    plain = create(server, tok)["id"]
    for bad in (other_group["id"], group["id"], kic):
        problem = assert_problem(change(server, tok, group["id"], how, [plain, bad]), 400)
        assert len(problem["invalid_parameters"]) == 1, problem
        item = param(problem, "members[1].id")
        assert item.get("source", "body") == "body"
    assert member_ids(server, tok, group["id"]) == set()
    # other cluster types may join
    serverless = create(server, tok, cluster_type="CLUSTER_TYPE_SERVERLESS")["id"]
    ok(change(server, tok, group["id"], how, [plain, serverless]), 204)
    assert member_ids(server, tok, group["id"]) == {plain, serverless}


def test_membership_routes_on_a_non_group_are_400(server, tok):
    plain = create(server, tok)
    member = create(server, tok)["id"]
    base = "%s/%s" % (CP, plain["id"])
    for method, tail, body in (("GET", "/group-memberships", None),
                               ("PUT", "/group-memberships", {"members": [{"id": member}]}),
                               ("POST", "/group-memberships/add", {"members": [{"id": member}]}),
                               ("POST", "/group-memberships/remove", {"members": [{"id": member}]}),
                               ("GET", "/group-status", None)):
        assert_problem(server.request(method, base + tail, token=tok, json=body), 400)
    assert is_member(server, tok, member) is False
    # member status answers for any control plane
    assert is_member(server, tok, plain["id"]) is False


def test_a_control_plane_joins_at_most_five_groups(server, tok):
    cp = create(server, tok)["id"]
    other = create(server, tok)["id"]
    groups = [new_group(server, tok)["id"] for _ in range(6)]
    for g in groups[:5]:
        ok(change(server, tok, g, "add", [cp]), 204)
    assert_problem(change(server, tok, groups[5], "add", [other, cp]), 409)
    assert member_ids(server, tok, groups[5]) == set(), "a refused change must change nothing"
    assert_problem(change(server, tok, groups[5], "put", [other, cp]), 409)
    assert member_ids(server, tok, groups[5]) == set()
    # re-adding to a group it is in already, and PUT keeping it, are fine
    ok(change(server, tok, groups[0], "add", [cp]), 204)
    ok(change(server, tok, groups[0], "put", [cp, other]), 204)
    assert member_ids(server, tok, groups[0]) == {cp, other}
    # after leaving one, it can join the sixth
    ok(change(server, tok, groups[1], "remove", [cp]), 204)
    ok(change(server, tok, groups[5], "add", [cp]), 204)
    assert member_ids(server, tok, groups[5]) == {cp}


def test_deleting_groups_and_members(server, tok):
    g1, g2 = new_group(server, tok), new_group(server, tok)
    a, b = create(server, tok)["id"], create(server, tok)["id"]
    ok(change(server, tok, g1["id"], "put", [a, b]), 204)
    ok(change(server, tok, g2["id"], "put", [a]), 204)
    # a group with members cannot go
    assert_problem(server.request("DELETE", "%s/%s" % (CP, g1["id"]), token=tok), 409)
    assert get(server, tok, g1["id"]) == g1
    # a member can; it leaves every group
    ok(server.request("DELETE", "%s/%s" % (CP, a), token=tok), 204)
    assert member_ids(server, tok, g1["id"]) == {b}
    assert member_ids(server, tok, g2["id"]) == set()
    assert_problem(server.request("GET", "%s/%s/group-member-status" % (CP, a), token=tok), 404, NOT_FOUND)
    # the one that stayed leaves too, then the group can go
    ok(change(server, tok, g1["id"], "remove", [b]), 204)
    assert is_member(server, tok, b) is False
    ok(server.request("DELETE", "%s/%s" % (CP, g1["id"]), token=tok), 204)
    ok(server.request("DELETE", "%s/%s" % (CP, g2["id"]), token=tok), 204)
    assert get(server, tok, b)["id"] == b


def test_group_memberships_cursor_paging(server, tok):
    group = new_group(server, tok)
    ids = {create(server, tok)["id"] for _ in range(7)}
    ok(change(server, tok, group["id"], "put", sorted(ids)), 204)
    seen = []
    body = members_of(server, tok, group["id"], 2)
    assert body["meta"]["page"]["total"] == 7 and body["meta"]["page"]["size"] == 2
    pages = 1
    while True:
        assert len(body["data"]) == (2 if body["meta"]["page"]["next"] else 1), body
        seen += [m["id"] for m in body["data"]]
        nxt = body["meta"]["page"]["next"]
        if nxt is None:
            break
        assert nxt.startswith("/"), nxt
        path = nxt if nxt.startswith("/v2/") else "/v2" + nxt
        body = ok(server.request("GET", path, token=tok))
        validate_cp_response(body, "ListGroupMemberships")
        assert "total" not in body["meta"]["page"], "total is only on the first page: %s" % body["meta"]
        assert body["meta"]["page"]["size"] == 2
        pages += 1
    assert pages == 4
    assert len(seen) == len(set(seen)) == 7 and set(seen) == ids


def test_group_memberships_paging_parameters(server, tok):
    group = new_group(server, tok)
    path = "%s/%s/group-memberships" % (CP, group["id"])
    for value, rule in (("0", "min"), ("1001", "max"), ("x", "is_integer")):
        problem = assert_problem(server.request("GET", path, token=tok, params={"page[size]": value}), 400)
        item = param(problem, "page[size]")
        assert item["rule"] == rule and item["source"] == "query"
    problem = assert_problem(server.request("GET", path, token=tok, params={"page[after]": "!!not-a-cursor"}), 400)
    assert param(problem, "page[after]")["source"] == "query"
    assert members_of(server, tok, group["id"], 1000)["meta"]["page"]["size"] == 1000


def test_a_group_holds_at_most_256_members(server, tok):
    group = new_group(server, tok)

    def make(i):
        resp = threaded_request(server, "POST", CP, token=tok, json={"name": uniq("full-")})
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(make, range(257)))
    for start in range(0, 256, 50):
        ok(change(server, tok, group["id"], "add", ids[start:min(start + 50, 256)]), 204)
    assert member_ids(server, tok, group["id"]) == set(ids[:256])
    assert_problem(change(server, tok, group["id"], "add", [ids[256]]), 409)
    assert is_member(server, tok, ids[256]) is False
    # a PUT of 50 replaces the 256
    ok(change(server, tok, group["id"], "put", ids[200:250]), 204)
    assert member_ids(server, tok, group["id"]) == set(ids[200:250])
    ok(change(server, tok, group["id"], "put", []), 204)


def test_concurrent_joins_respect_the_five_group_limit(server, tok):
    cp = create(server, tok)["id"]
    groups = [new_group(server, tok)["id"] for _ in range(8)]

    def join(g):
        return threaded_request(server, "POST", "%s/%s/group-memberships/add" % (CP, g), token=tok,
                                json={"members": [{"id": cp}]})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(join, groups))
    codes = sorted(r.status_code for r in responses)
    assert codes == [204] * 5 + [409] * 3, codes
    joined = {g for g, r in zip(groups, responses) if r.status_code == 204}
    assert {g for g in groups if cp in member_ids(server, tok, g)} == joined


@pytest.mark.parametrize("how", ["add", "put"])
def test_membership_change_racing_the_groups_deletion(server, tok, how):
    """A membership change and the deletion of the (empty) group, at the same time: either
    the change lands first (then the deletion is 409) or the deletion does (then the change
    is 404). Never a 500."""
    member = create(server, tok)["id"]
    outcomes = set()
    for _ in range(80):
        group = new_group(server, tok)["id"]

        def do_change(_):
            path = "%s/%s/group-memberships%s" % (CP, group, "/add" if how == "add" else "")
            return threaded_request(server, "POST" if how == "add" else "PUT", path, token=tok,
                                    json={"members": [{"id": member}]})

        def do_delete(_):
            return threaded_request(server, "DELETE", "%s/%s" % (CP, group), token=tok)

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            changed, deleted = pool.submit(do_change, 0), pool.submit(do_delete, 0)
            changed, deleted = changed.result(), deleted.result()
        pair = (changed.status_code, deleted.status_code)
        assert pair in ((204, 409), (404, 204)), "change %d %s / delete %d %s" % (
            changed.status_code, changed.text[:200], deleted.status_code, deleted.text[:200])
        outcomes.add(pair)
        if pair == (204, 409):
            ok(change(server, tok, group, "remove", [member]), 204)
            ok(server.request("DELETE", "%s/%s" % (CP, group), token=tok), 204)
    assert is_member(server, tok, member) is False


def test_name_contains_ignores_case_beyond_ascii(server, tok):
    """docs/API.md: `contains` filters are case-insensitive; names are UTF-8 strings."""
    cp = create(server, tok, name=uniq("\u00dcn\u00efcode-\u00c9T\u00c9-"))
    for needle in ("\u00fcn\u00efcode", "\u00dcN\u00cfCODE", "\u00e9t\u00e9", "\u00c9T\u00c9", "\u00fcn\u00efCODE-\u00e9"):
        listed = ok(server.request("GET", CP, token=tok, params={"filter[name][contains]": needle}))
        assert [c["id"] for c in listed["data"]] == [cp["id"]], "contains %r should match %r" % (needle, cp["name"])
