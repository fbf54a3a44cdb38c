"""OWASP API9 (improper inventory): every route the server answers is in the served route
table and in docs/ROUTES.md, and nothing outside it answers 2xx."""
import pathlib
import re
import subprocess

from conftest import BIN, ROOT, assert_problem

ROUTES_DOC = ROOT / "docs" / "ROUTES.md"


def served_routes():
    out = subprocess.run([BIN, "routes"], capture_output=True, text=True, timeout=30, check=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


def documented_routes():
    text = ROUTES_DOC.read_text()
    block = re.search(r"```\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_route_table_matches_the_inventory_doc():
    served = served_routes()
    assert len(served) == len(set(served)), "a route is registered twice"
    assert served == documented_routes(), "docs/ROUTES.md is out of date: run `openkonnect routes`"


def test_every_documented_route_is_in_the_api_notes():
    """docs/API.md names every route family's templates."""
    api = (ROOT / "docs" / "API.md").read_text()
    for line in served_routes():
        template = line.split(" ", 1)[1]
        last = template.rstrip("/").split("/")[-1]
        assert last in api, "%s is not described in docs/API.md" % line


def concrete(template, ids):
    return re.sub(r"\{[^}]+\}", lambda m: ids, template)


def matches(template, path):
    t, p = template.strip("/").split("/"), path.strip("/").split("/")
    return len(t) == len(p) and all(a == b or (a.startswith("{") and b) for a, b in zip(t, p))


def test_only_inventory_routes_answer(server, org):
    served = served_routes()
    known = {}
    for line in served:
        method, template = line.split(" ", 1)
        known.setdefault(template, set()).add(method)
    probes = ["/admin", "/debug", "/debug/pprof", "/.env", "/v1/search", "/v2", "/v3", "/v3/identity-providers",
              "/v3/authentication-settings", "/v2/control-planes/00000000-0000-4000-8000-000000000000/core-entities/services",
              "/v3/users/me/../../healthz", "/v2/control-planes/", "/v3/users/", "/metrics/", "/healthz/x",
              "/v3/audit-logs", "/v2/audit-log-webhook/x", "/v1/organizations", "/v3/organizations/00000000-0000-4000-8000-000000000000"]
    for path in probes:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            resp = server.request(method, path, token=org["token"], json={} if method in ("POST", "PUT", "PATCH") else None)
            assert resp.status_code in (400, 404, 405), (method, path, resp.status_code)
            assert not (200 <= resp.status_code < 300)
            assert_problem(resp, resp.status_code)
    # Every documented template answers something other than 404 for its own methods, and
    # 405 (never 2xx) for the others.
    some_id = "00000000-0000-4000-8000-000000000000"
    for template, methods in known.items():
        path = concrete(template, some_id)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method in methods or any(method in m and matches(t, path) for t, m in known.items()):
                continue  # answered by this or another template (/v3/users/me is also {userId})
            resp = server.request(method, path, token=org["token"])
            assert resp.status_code == 405, (method, path, resp.status_code)
            allow = {m.strip() for m in resp.headers["Allow"].split(",")}
            assert allow == methods, (path, allow, methods)
