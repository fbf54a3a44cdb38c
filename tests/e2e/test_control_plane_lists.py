"""GET /v2/control-planes over a population of several hundred control planes: every answer
is compared with the set (and order) computed here from what was created. Paging by number,
sort by created_at both ways, each filter operator, label selectors, combinations, and the
400s for unsupported sorts, filters and page bounds."""
import concurrent.futures
import random

import pytest

from conftest import NO_RATE_LIMITS, assert_problem, module_server, ok, param, threaded_request, validate_cp_response

CP = "/v2/control-planes"
POPULATION = 520
TYPES = ["CLUSTER_TYPE_CONTROL_PLANE", "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", "CLUSTER_TYPE_CONTROL_PLANE_GROUP",
         "CLUSTER_TYPE_SERVERLESS"]
WORDS = ["Alpha", "beta", "GAMMA", "gamma", "Delta", "epsilon"]


server = module_server(NO_RATE_LIMITS)


def spec_for(i, rng):
    labels = {}
    env = rng.choice(["prod", "dev", "test", None])
    team = rng.choice(["a", "b", None])
    if env:
        labels["env"] = env
    if team:
        labels["team"] = team
    if i % 11 == 0:
        labels["tier"] = "gold"
    body = {"name": "svc-%04d-%s" % (i, WORDS[i % len(WORDS)]),
            "cluster_type": TYPES[i % len(TYPES)] if i % 7 else rng.choice(TYPES),
            "cloud_gateway": rng.random() < 0.3,
            "labels": labels}
    if i % 3 == 0:
        body["description"] = "number %d" % i
    return body


@pytest.fixture(scope="module")
def world(server):
    """A fresh organization holding exactly the population (its admin sees all of it)."""
    org = server.create_org("lists")
    tok = org["token"]
    rng = random.Random(20240601)
    specs = [spec_for(i, rng) for i in range(POPULATION)]

    def make(body):
        resp = threaded_request(server, "POST", CP, token=tok, json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        created = list(pool.map(make, specs))
    for body, cp in zip(specs, created):
        assert cp["name"] == body["name"] and cp["labels"] == body["labels"]
        assert cp["config"]["cluster_type"] == body["cluster_type"]
        assert cp["config"]["cloud_gateway"] == body["cloud_gateway"]
    ordered = sorted(created, key=lambda c: (c["created_at"], c["id"]))
    return {"token": tok, "all": ordered, "by_id": {c["id"]: c for c in ordered}}


def fetch(server, world, params, size=None):
    """Walks every numbered page; returns the ids in answer order, checking the page meta."""
    params = dict(params)
    if size is not None:
        params["page[size]"] = size
    expected_size = size or 100
    ids = []
    number = 1
    total = None
    while True:
        params["page[number]"] = number
        body = ok(server.request("GET", CP, token=world["token"], params=params))
        meta = body["meta"]["page"]
        if total is None:
            total = meta["total"]
        assert meta == {"number": number, "size": expected_size, "total": total}, (params, meta)
        remaining = total - len(ids)
        assert len(body["data"]) == min(expected_size, max(remaining, 0)), (params, meta, len(body["data"]))
        for cp in body["data"]:
            assert cp == world["by_id"][cp["id"]], "listed object differs from the created one"
        ids += [cp["id"] for cp in body["data"]]
        if len(ids) >= total or not body["data"]:
            break
        number += 1
    assert len(ids) == total
    assert len(set(ids)) == len(ids), "an id appears on two pages"
    return ids


def expect(world, pred, desc=False):
    chosen = [c["id"] for c in world["all"] if pred(c)]
    return list(reversed(chosen)) if desc else chosen


def labels_has(cp, **kv):
    return all(cp["labels"].get(k) == v for k, v in kv.items())


# --- paging and sorting ---------------------------------------------------------------------


def test_population_and_schema(server, world):
    body = ok(server.request("GET", CP, token=world["token"]))
    validate_cp_response(body, "ListControlPlanesResponse")
    assert body["meta"]["page"] == {"number": 1, "size": 100, "total": POPULATION}
    assert [c["id"] for c in body["data"]] == [c["id"] for c in world["all"][:100]]


@pytest.mark.parametrize("size", [None, 7, 100, 519, 520, 1000])
def test_walking_every_page_gives_the_population_in_created_order(server, world, size):
    assert fetch(server, world, {}, size) == [c["id"] for c in world["all"]]


@pytest.mark.parametrize("sort,desc", [("created_at", False), ("created_at asc", False), ("created_at desc", True)])
def test_sort_by_created_at(server, world, sort, desc):
    got = fetch(server, world, {"sort": sort}, 60)
    assert got == expect(world, lambda c: True, desc)


def test_a_page_past_the_end_is_empty(server, world):
    body = ok(server.request("GET", CP, token=world["token"], params={"page[number]": 7, "page[size]": 100}))
    assert body["data"] == [] and body["meta"]["page"] == {"number": 7, "size": 100, "total": POPULATION}
    body = ok(server.request("GET", CP, token=world["token"], params={"page[number]": 6, "page[size]": 100}))
    assert [c["id"] for c in body["data"]] == [c["id"] for c in world["all"][500:]]


# --- filters --------------------------------------------------------------------------------


def pick(world, n, seed):
    return random.Random(seed).sample(world["all"], n)


def test_filter_id_eq_and_oeq(server, world):
    one = pick(world, 1, 1)[0]
    assert fetch(server, world, {"filter[id][eq]": one["id"]}) == [one["id"]]
    assert fetch(server, world, {"filter[id]": one["id"]}) == [one["id"]]
    three = pick(world, 3, 2)
    wanted = {c["id"] for c in three}
    assert fetch(server, world, {"filter[id][oeq]": ",".join(c["id"] for c in three)}) == \
        expect(world, lambda c: c["id"] in wanted)
    # an id of nothing
    assert fetch(server, world, {"filter[id][eq]": "7f9fd312-a987-4628-b4c5-bb4f4fddd5f7"}) == []


def test_filter_name(server, world):
    one = pick(world, 1, 3)[0]
    assert fetch(server, world, {"filter[name][eq]": one["name"]}) == [one["id"]]
    assert fetch(server, world, {"filter[name]": one["name"]}) == [one["id"]]
    assert fetch(server, world, {"filter[name][eq]": one["name"].upper()}) == []  # eq is exact
    assert fetch(server, world, {"filter[name][neq]": one["name"]}, 200) == \
        expect(world, lambda c: c["name"] != one["name"])


@pytest.mark.parametrize("needle", ["gamma", "GAMMA", "Gamma", "alpha", "svc-01", "-00", "zzz", "0-b"])
def test_filter_name_contains_ignores_case(server, world, needle):
    assert fetch(server, world, {"filter[name][contains]": needle}, 200) == \
        expect(world, lambda c: needle.lower() in c["name"].lower())


def test_filter_name_contains_and_neq_together(server, world):
    excluded = [c for c in world["all"] if "beta" in c["name"]][0]
    assert fetch(server, world, {"filter[name][contains]": "BETA", "filter[name][neq]": excluded["name"]}) == \
        expect(world, lambda c: "beta" in c["name"].lower() and c["name"] != excluded["name"])


@pytest.mark.parametrize("cluster_type", TYPES)
def test_filter_cluster_type_eq_and_neq(server, world, cluster_type):
    assert fetch(server, world, {"filter[cluster_type][eq]": cluster_type}, 200) == \
        expect(world, lambda c: c["config"]["cluster_type"] == cluster_type)
    assert fetch(server, world, {"filter[cluster_type]": cluster_type}, 200) == \
        expect(world, lambda c: c["config"]["cluster_type"] == cluster_type)
    assert fetch(server, world, {"filter[cluster_type][neq]": cluster_type}, 200) == \
        expect(world, lambda c: c["config"]["cluster_type"] != cluster_type)


def test_filter_cluster_type_oeq(server, world):
    wanted = {"CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", "CLUSTER_TYPE_SERVERLESS"}
    assert fetch(server, world, {"filter[cluster_type][oeq]": ",".join(sorted(wanted))}, 200) == \
        expect(world, lambda c: c["config"]["cluster_type"] in wanted)
    # a type nobody has
    assert fetch(server, world, {"filter[cluster_type][eq]": "CLUSTER_TYPE_SERVERLESS_V1"}) == []


@pytest.mark.parametrize("value", ["true", "false"])
def test_filter_cloud_gateway(server, world, value):
    assert fetch(server, world, {"filter[cloud_gateway]": value}, 200) == \
        expect(world, lambda c: c["config"]["cloud_gateway"] == (value == "true"))


@pytest.mark.parametrize("selector,pred", [
    ("env:prod", lambda c: labels_has(c, env="prod")),
    ("env:dev", lambda c: labels_has(c, env="dev")),
    ("team", lambda c: "team" in c["labels"]),
    ("tier", lambda c: "tier" in c["labels"]),
    ("env:prod,team:a", lambda c: labels_has(c, env="prod", team="a")),
    ("env:test,team", lambda c: labels_has(c, env="test") and "team" in c["labels"]),
    ("team:b,tier:gold,env", lambda c: labels_has(c, team="b", tier="gold") and "env" in c["labels"]),
    ("env:staging", lambda c: False),
    ("nolabel", lambda c: False),
], ids=lambda v: v if isinstance(v, str) else "")
def test_label_selectors(server, world, selector, pred):
    assert fetch(server, world, {"labels": selector}, 200) == expect(world, pred)


def test_several_filters_combined_with_paging_and_sort(server, world):
    params = {"filter[cluster_type][oeq]": "CLUSTER_TYPE_CONTROL_PLANE,CLUSTER_TYPE_SERVERLESS",
              "filter[cloud_gateway]": "false", "labels": "env:dev", "filter[name][contains]": "A",
              "sort": "created_at desc"}
    want = expect(world, lambda c: c["config"]["cluster_type"] in ("CLUSTER_TYPE_CONTROL_PLANE",
                                                                  "CLUSTER_TYPE_SERVERLESS")
                  and not c["config"]["cloud_gateway"] and labels_has(c, env="dev") and "a" in c["name"].lower(),
                  desc=True)
    assert len(want) > 5, "the population should make this query interesting"
    assert fetch(server, world, params, 5) == want

    params = {"filter[cluster_type][neq]": "CLUSTER_TYPE_CONTROL_PLANE_GROUP", "filter[cloud_gateway]": "true",
              "labels": "team", "filter[name][neq]": world["all"][0]["name"]}
    want = expect(world, lambda c: c["config"]["cluster_type"] != "CLUSTER_TYPE_CONTROL_PLANE_GROUP"
                  and c["config"]["cloud_gateway"] and "team" in c["labels"] and c["name"] != world["all"][0]["name"])
    assert fetch(server, world, params, 13) == want

    ids = [c["id"] for c in pick(world, 40, 4)]
    params = {"filter[id][oeq]": ",".join(ids), "labels": "env:prod", "filter[cluster_type][neq]": TYPES[1]}
    want = expect(world, lambda c: c["id"] in ids and labels_has(c, env="prod") and
                  c["config"]["cluster_type"] != TYPES[1])
    assert fetch(server, world, params, 3) == want


def test_neq_and_oeq_on_one_field_are_anded(server, world):
    """FACTS d.1: several operators on one field are accepted and ANDed (the spec's
    x-examples combine `neq` with `oeq` on cluster_type)."""
    both = "CLUSTER_TYPE_CONTROL_PLANE,CLUSTER_TYPE_SERVERLESS"
    assert fetch(server, world, {"filter[cluster_type][oeq]": both,
                                 "filter[cluster_type][neq]": "CLUSTER_TYPE_SERVERLESS"}, 200) == \
        expect(world, lambda c: c["config"]["cluster_type"] == "CLUSTER_TYPE_CONTROL_PLANE")


def test_cluster_type_eq_and_oeq_are_anded(server, world):
    both = "CLUSTER_TYPE_CONTROL_PLANE,CLUSTER_TYPE_SERVERLESS"
    assert fetch(server, world, {"filter[cluster_type][eq]": "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER",
                                 "filter[cluster_type][oeq]": both}, 200) == [], \
        "eq=K8S AND oeq=CONTROL_PLANE,SERVERLESS matches nothing"
    assert fetch(server, world, {"filter[cluster_type][eq]": "CLUSTER_TYPE_CONTROL_PLANE",
                                 "filter[cluster_type][oeq]": both}, 200) == \
        expect(world, lambda c: c["config"]["cluster_type"] == "CLUSTER_TYPE_CONTROL_PLANE")


def test_id_eq_and_oeq_are_anded(server, world):
    a, b, c3 = pick(world, 3, 5)
    assert fetch(server, world, {"filter[id][eq]": a["id"], "filter[id][oeq]": "%s,%s" % (b["id"], c3["id"])}) == \
        [], "eq=a AND oeq=b,c matches nothing"
    assert fetch(server, world, {"filter[id][eq]": a["id"], "filter[id][oeq]": "%s,%s" % (a["id"], b["id"])}) == \
        [a["id"]]


# --- errors ---------------------------------------------------------------------------------


def bad(server, world, params):
    return assert_problem(server.request("GET", CP, token=world["token"], params=params), 400)


@pytest.mark.parametrize("sort", ["name", "updated_at", "created_at sideways", "-created_at"])
def test_unsupported_sort_is_400_enum(server, world, sort):
    item = param(bad(server, world, {"sort": sort}), "sort")
    assert item["rule"] == "enum" and item["choices"] == ["created_at"] and item["source"] == "query"


@pytest.mark.parametrize("key", ["filter[name][gt]", "filter[name][oeq]", "filter[id][contains]",
                                 "filter[cluster_type][contains]", "filter[cloud_gateway][neq]"])
def test_unsupported_filter_operator_is_400(server, world, key):
    field = "[filter]" + key[len("filter"):]
    body = bad(server, world, {key: "x"})
    item = param(body, field)
    assert item["source"] == "query" and item["rule"] in ("invalid", "enum"), item


@pytest.mark.parametrize("key", ["filter[bogus]", "filter[bogus][eq]", "filter[description][contains]",
                                 "filter[labels][eq]", "filter[created_at][gt]"])
def test_unsupported_filter_field_is_400(server, world, key):
    body = bad(server, world, {key: "x"})
    field = "[filter]" + key[len("filter"):]
    assert param(body, field)["source"] == "query"


@pytest.mark.parametrize("params,field,rule,limit", [
    ({"page[size]": "1001"}, "page[size]", "max", ("maximum", 1000)),
    ({"page[size]": "0"}, "page[size]", "min", ("minimum", 1)),
    ({"page[number]": "0"}, "page[number]", "min", ("minimum", 1)),
    ({"page[number]": "-3"}, "page[number]", "min", ("minimum", 1)),
    ({"page[size]": "ten"}, "page[size]", "is_integer", None),
    ({"filter[cloud_gateway]": "maybe"}, "[filter][cloud_gateway]", "is_boolean", None),
    ({"filter[cluster_type][eq]": "CLUSTER_TYPE_NOPE"}, "[filter][cluster_type][eq]", "enum", None),
])
def test_bad_values_are_400(server, world, params, field, rule, limit):
    item = param(bad(server, world, params), field)
    assert item["rule"] == rule and item["source"] == "query", item
    if limit:
        assert item[limit[0]] == limit[1], item


def test_all_query_problems_in_one_answer(server, world):
    body = bad(server, world, {"sort": "name", "filter[name][gt]": "x", "page[size]": "1001"})
    assert {p["field"] for p in body["invalid_parameters"]} == {"sort", "[filter][name][gt]", "page[size]"}
