"""Lists of gateway configuration entities: size/offset paging (stable under concurrent writes),
tags (all of / any of), name filters, and the answer's shape on the last page."""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import NO_RATE_LIMITS, assert_problem, module_server, threaded_request
from config_support import BASE, ControlPlaneClient, make_service, new_control_plane, slug, validate_config

server = module_server(env=NO_RATE_LIMITS)


@pytest.fixture(scope="module")
def admin(server):
    return server.create_org("config-lists")


@pytest.fixture(scope="module")
def c(server, admin):
    return ControlPlaneClient(server, admin["token"], new_control_plane(server, admin["token"])["id"])


def put_consumers(c, names):
    """PUTs consumers by username, 10 at a time (as decK does); returns their ids."""
    def one(name):
        resp = threaded_request(c.server, "PUT", c.prefix + "/consumers/" + name, token=c.token, json={})
        assert resp.status_code == 200, resp.text
        return resp.json()["id"]
    with ThreadPoolExecutor(10) as pool:
        return list(pool.map(one, names))


def test_a_walk_over_2500_rows_under_concurrent_inserts_loses_and_repeats_nothing(server, admin):
    c = ControlPlaneClient(server, admin["token"], new_control_plane(server, admin["token"])["id"])
    existing = set(put_consumers(c, ["walk-%05d" % i for i in range(2500)]))
    inserted, stop = [], threading.Event()

    def writer():
        i = 0
        while not stop.is_set() and i < 600:
            resp = threaded_request(server, "POST", c.prefix + "/consumers", token=c.token,
                                    json={"username": "late-%05d" % i})
            assert resp.status_code == 201, resp.text
            inserted.append(resp.json()["id"])
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    seen, offset, pages = [], None, 0
    try:
        while True:
            params = {"size": 100}
            if offset:
                params["offset"] = offset
            body = c.get("/consumers", params=params).json()
            seen.extend(x["id"] for x in body["data"])
            pages += 1
            offset = body.get("offset")
            if not offset:
                break
    finally:
        stop.set()
        t.join()
    assert len(seen) == len(set(seen)), "a row was listed twice"
    assert existing <= set(seen), "rows that existed throughout were lost: %d" % len(existing - set(seen))
    assert seen == sorted(seen), "pages come in id order"
    assert set(seen) <= existing | set(inserted)
    assert pages >= 25 and inserted, (pages, len(inserted))


def test_page_shape_size_and_offset(c):
    for _ in range(5):
        make_service(c)
    first = c.get("/services", params={"size": 2})
    assert first.status_code == 200
    body = first.json()
    validate_config(body, "GET", BASE + "/services", 200)
    assert len(body["data"]) == 2 and body["offset"] and body["next"].startswith(c.prefix + "/services?offset=")
    # `next` is usable as it is, and says the same as `offset`.
    via_next = server_get(c, body["next"])
    via_offset = c.get("/services", params={"size": 2, "offset": body["offset"]}).json()
    assert via_next == via_offset
    every = c.list_all("/services", size=2)
    assert len(every) == len({s["id"] for s in every}) >= 5
    last = c.get("/services", params={"size": 1000}).json()
    assert "offset" not in last and "next" not in last  # the last page: decK stops here
    # page[size] (Kong's UI components) counts as size when size is absent.
    assert len(c.get("/services", params={"page[size]": 3, "page[number]": 1}).json()["data"]) == 3
    assert len(c.get("/services", params={"page[size]": 3, "size": 1}).json()["data"]) == 1
    assert len(c.get("/services", params={"offset": ""}).json()["data"]) >= 5  # empty offset: first page


def server_get(c, path):
    resp = c.server.request("GET", path, token=c.token)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize("params,field,rule", [
    ({"size": 0}, "size", "min"),
    ({"size": 1001}, "size", "max"),
    ({"size": "ten"}, "size", "is_integer"),
    ({"page[size]": 5000}, "page[size]", "max"),
    ({"offset": "not-an-offset"}, "offset", "invalid"),
    ({"offset": "bm90LWEtdXVpZA"}, "offset", "invalid"),  # base64url of "not-a-uuid"
    ({"tags": "a,b/c"}, "tags", "invalid"),
    ({"tags": "a,b,c,d,e,f"}, "tags", "max_items"),
    ({"tags": "a,,b"}, "tags", "invalid"),
    ({"filter[host][eq]": "x"}, "[filter][host][eq]", "invalid"),
    ({"filter[name][gt]": "x"}, "[filter][name][gt]", "invalid"),
])
def test_bad_list_parameters_are_400(c, params, field, rule):
    body = assert_problem(c.get("/services", params=params), 400)
    p = body["invalid_parameters"][0]
    assert (p["field"], p["rule"], p["source"]) == (field, rule, "query"), body


def test_tags_all_of_and_any_of(c):
    tag = slug("t")
    a = make_service(c, tags=[tag + "-a"])
    ab = make_service(c, tags=[tag + "-a", tag + "-b"])
    b = make_service(c, tags=[tag + "-b", "other"])
    make_service(c, tags=["unrelated"])

    def ids(query):
        return {s["id"] for s in c.list_all("/services", params={"tags": query})}

    assert ids(tag + "-a") == {a["id"], ab["id"]}
    assert ids("%s-a,%s-b" % (tag, tag)) == {ab["id"]}
    assert ids("%s-a/%s-b" % (tag, tag)) == {a["id"], ab["id"], b["id"]}
    assert ids(tag + "-none") == set()
    # Paging within a tag filter.
    paged = c.list_all("/services", size=1, params={"tags": "%s-a/%s-b" % (tag, tag)})
    assert {s["id"] for s in paged} == {a["id"], ab["id"], b["id"]}
    # A nested list with a tag filter.
    svc = make_service(c)
    tagged = c.create("/services/%s/routes" % svc["id"], {"paths": ["/t"], "tags": [tag]})
    c.create("/services/%s/routes" % svc["id"], {"paths": ["/u"]})
    assert [r["id"] for r in c.get("/services/%s/routes" % svc["id"], params={"tags": tag}).json()["data"]] == [tagged["id"]]


def test_name_filters(c):
    stem = slug("filt")
    one = make_service(c, name=stem + "-one")
    make_service(c, name=stem + "-two")
    eq = c.get("/services", params={"filter[name][eq]": stem + "-one"}).json()["data"]
    assert [s["id"] for s in eq] == [one["id"]]
    contains = c.list_all("/services", params={"filter[name][contains]": stem.upper()})
    assert len(contains) == 2  # case-insensitive
    bare = c.get("/services", params={"filter[name]": stem + "-one"}).json()["data"]
    assert [s["id"] for s in bare] == [one["id"]]
    user = c.create("/consumers", {"username": stem + "-user", "custom_id": stem + "-cid"})
    assert [x["id"] for x in c.get("/consumers", params={"filter[name][eq]": stem + "-user"}).json()["data"]] == [user["id"]]
    assert [x["id"] for x in c.get("/consumers", params={"custom_id": stem + "-cid"}).json()["data"]] == [user["id"]]
    plugin = c.create("/plugins", {"name": "response-transformer", "service": {"id": one["id"]}})
    by_plugin_name = c.list_all("/plugins", params={"filter[name][eq]": "response-transformer"})
    assert plugin["id"] in {p["id"] for p in by_plugin_name}
    assert_problem(c.get("/upstreams", params={"filter[name][eq]": "x"}), 400)  # not a filter of upstreams


def test_lists_of_an_empty_control_plane(server, admin):
    c = ControlPlaneClient(server, admin["token"], new_control_plane(server, admin["token"])["id"])
    for path in ("/services", "/routes", "/plugins", "/consumers", "/targets", "/key-auths", "/keys", "/vaults"):
        body = c.get(path).json()
        assert body == {"data": []}, (path, body)
    assert str(uuid.UUID(c.cp_id))
