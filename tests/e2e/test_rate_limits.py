"""Rate limits with small configured budgets: the RateLimit-Policy / RateLimit headers
(IETF httpapi ratelimit-headers draft-10 syntax), exact countdown, 429 with Retry-After,
waiting exactly Retry-After, independence of organizations, the organization budget over all
its tokens, the per-address budget of failed authentications, the invitation budget, and
where the 429 sits in the order of checks."""
import math
import re
import subprocess
import threading
import time
import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter

from conftest import BIN, assert_problem, free_port

ITEM_RE = re.compile(r'^"([a-z0-9-]+)"((?:;[a-z]+=[0-9]+)+)$')


def sf_items(value):
    """Parses a structured-field list of string items with integer parameters, such as
    '"token";q=5;w=60, "organization";q=100;w=60', into [(name, {param: int})]. Fails on
    anything else."""
    assert value is not None, "header missing"
    items = []
    for member in value.split(","):
        member = member.strip(" ")
        m = ITEM_RE.match(member)
        assert m, "not a draft-10 structured-field item: %r (in %r)" % (member, value)
        params = {}
        for p in m.group(2)[1:].split(";"):
            k, _, v = p.partition("=")
            assert k not in params, "parameter %s repeated in %r" % (k, value)
            params[k] = int(v)
        items.append((m.group(1), params))
    return items


def policy_of(resp):
    return {name: params for name, params in sf_items(resp.headers.get("RateLimit-Policy"))}


def state_of(resp):
    return {name: params for name, params in sf_items(resp.headers.get("RateLimit"))}


def assert_no_rate_limit_headers(resp):
    for h in ("RateLimit-Policy", "RateLimit", "Retry-After"):
        assert h not in resp.headers, "%s on %s: %r" % (h, resp.url, resp.headers)


def assert_429(resp):
    """A 429 problem with all three headers; returns Retry-After (whole seconds >= 1)."""
    assert_problem(resp, 429)
    retry_after = resp.headers.get("Retry-After")
    assert retry_after is not None and re.fullmatch(r"[1-9][0-9]*", retry_after), resp.headers
    assert "RateLimit-Policy" in resp.headers and "RateLimit" in resp.headers, resp.headers
    sf_items(resp.headers["RateLimit-Policy"])
    sf_items(resp.headers["RateLimit"])
    return int(retry_after)


class SourceAddressAdapter(HTTPAdapter):
    """Connects from a given local address (any of 127.0.0.0/8 works on Linux loopback)."""

    def __init__(self, source, **kwargs):
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(source):
    s = requests.Session()
    s.mount("http://", SourceAddressAdapter(source))
    return s


def get_me(srv, token, session=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    return (session or srv.session).get(srv.base + "/v3/users/me", headers=headers, timeout=10)


def soonest_retry(seconds, started):
    """The smallest Retry-After a refusal read now may carry when the budget frees a request
    `seconds` after the first request, sent no sooner than `started` (time.monotonic()): how
    long the requests took on this machine only ever shortens it."""
    return math.ceil(seconds - (time.monotonic() - started))


def new_pat(srv, org):
    me = srv.request("GET", "/v3/users/me", token=org["token"])
    assert me.status_code == 200, me.text
    r = srv.request("POST", "/v3/users/%s/access-tokens" % me.json()["id"], token=org["token"],
                    json={"name": "second %s" % uuid.uuid4().hex[:8], "ttl_seconds": 86400})
    assert r.status_code == 201, r.text
    return r.json()["konnect_token"]


# --- headers and the countdown ------------------------------------------------------------


def test_token_budget_headers_countdown_and_429(start_server):
    srv = start_server("--rate-limit-token", "5/60", "--rate-limit-org", "0")
    a = srv.create_org("rl-a")
    b = srv.create_org("rl-b")
    b_expected = 5

    def b_request(path="/v3/users/me", status=200):
        # The second organization's token, interleaved: unaffected by a's spending.
        nonlocal b_expected
        r = srv.request("GET", path, token=b["token"])
        assert r.status_code == status, r.text
        b_expected -= 1
        assert r.headers["RateLimit-Policy"] == '"token";q=5;w=60'
        assert state_of(r)["token"]["r"] == b_expected, r.headers
        return r

    started = time.monotonic()
    for i in range(1, 6):
        r = get_me(srv, a["token"])
        assert r.status_code == 200, r.text
        # Exact syntax (draft-10): one item named "token" with q and w; r and t.
        assert r.headers["RateLimit-Policy"] == '"token";q=5;w=60', r.headers
        assert re.fullmatch(r'"token";r=[0-9]+;t=[0-9]+', r.headers["RateLimit"]), r.headers
        state = state_of(r)["token"]
        assert state["r"] == 5 - i, "RateLimit r must count down exactly: %r" % r.headers["RateLimit"]
        # t: seconds until the quota is whole again; 12 s per spent request.
        elapsed = time.monotonic() - started
        assert 12 * i - int(elapsed) - 1 <= state["t"] <= 12 * i, r.headers["RateLimit"]
        assert "Retry-After" not in r.headers
        if i in (1, 3):
            b_request()
        if i == 5:
            # An authenticated request's error answers carry the headers too (a 404 here).
            b_request("/v3/teams/%s" % uuid.uuid4(), status=404)

    refused = get_me(srv, a["token"])
    retry_after = assert_429(refused)
    assert soonest_retry(12, started) <= retry_after <= 12, refused.headers  # one request back every 12 s
    assert refused.headers["RateLimit-Policy"] == '"token";q=5;w=60'
    assert re.fullmatch(r'"token";r=0;t=[0-9]+', refused.headers["RateLimit"]), refused.headers
    assert 1 <= state_of(refused)["token"]["t"] <= 60

    # Every route is behind the same budget, and a refused write does nothing.
    r = srv.request("POST", "/v2/control-planes", token=a["token"], json={"name": "refused-cp"})
    assert_429(r)
    b_request()
    # Still refused, with Retry-After counting down rather than restarting.
    again = get_me(srv, a["token"])
    assert 1 <= assert_429(again) <= retry_after
    assert state_of(again)["token"]["r"] == 0
    b_request()
    assert b_expected == 0
    assert_429(get_me(srv, b["token"]))
    assert_429(get_me(srv, a["token"]))


def test_refused_write_creates_nothing(start_server):
    # A request back every 3 s after the burst of two: the POST is refused if it comes within
    # 3 s of the first GET, and 3.5 s later the GET is served.
    srv = start_server("--rate-limit-token", "2/6", "--rate-limit-org", "0")
    a = srv.create_org("rl-write")
    assert srv.request("GET", "/v3/users/me", token=a["token"]).status_code == 200
    assert srv.request("GET", "/v3/users/me", token=a["token"]).status_code == 200
    assert_429(srv.request("POST", "/v2/control-planes", token=a["token"], json={"name": "refused-cp"}))
    time.sleep(3.5)
    r = srv.request("GET", "/v2/control-planes", token=a["token"])
    assert r.status_code == 200, r.text
    assert r.json()["data"] == []


def test_waiting_retry_after_succeeds_and_sooner_does_not(start_server):
    # 2 per 4 s: a burst of two, then one request back every 2 s.
    srv = start_server("--rate-limit-token", "2/4", "--rate-limit-org", "0")
    a = srv.create_org("wait-a")
    b = srv.create_org("wait-b")
    c = srv.create_org("wait-c")
    burst_at = {}
    for org in (a, b):
        burst_at[org["token"]] = time.monotonic()
        for expected in (1, 0):
            r = get_me(srv, org["token"])
            assert r.status_code == 200 and state_of(r)["token"]["r"] == expected, r.headers
    ra_a = assert_429(get_me(srv, a["token"]))
    a_refused_at = time.monotonic()
    ra_b = assert_429(get_me(srv, b["token"]))
    b_refused_at = time.monotonic()
    # One request back 2 s after each burst's first: 2 s to wait when refused within a second
    # of it (so here, unless this machine is very busy), never more.
    assert soonest_retry(2, burst_at[a["token"]]) <= ra_a <= 2, ra_a
    assert soonest_retry(2, burst_at[b["token"]]) <= ra_b <= 2, ra_b

    # b comes back half a second early: refused, and told to wait the rest (one second).
    time.sleep(max(0.0, b_refused_at + ra_b - 0.5 - time.monotonic()))
    early = get_me(srv, b["token"])
    ra_b2 = assert_429(early)
    b_refused_again_at = time.monotonic()
    assert ra_b2 == 1, early.headers

    # a waits exactly Retry-After seconds: allowed (the one request that came back).
    time.sleep(max(0.0, a_refused_at + ra_a - time.monotonic()))
    ok = get_me(srv, a["token"])
    assert ok.status_code == 200, (ok.status_code, ok.headers)
    assert state_of(ok)["token"]["r"] == 0, ok.headers
    assert_429(get_me(srv, a["token"]))  # and only that one

    # b waits exactly the second Retry-After: allowed.
    time.sleep(max(0.0, b_refused_again_at + ra_b2 - time.monotonic()))
    ok = get_me(srv, b["token"])
    assert ok.status_code == 200, (ok.status_code, ok.headers)

    # c, untouched all along, still has its whole burst.
    r = get_me(srv, c["token"])
    assert r.status_code == 200 and state_of(r)["token"]["r"] == 1, r.headers


def test_retrying_sooner_than_retry_after_fails_even_once_the_budget_has_refilled(start_server):
    # Refused 0.55 s after the burst, the client is told to wait 2 s (one request comes back
    # every 2 s, at burst + 2 s, but Retry-After is in whole seconds). Coming back 0.5 s early,
    # at burst + 2.05 s at the soonest, is after the refill yet sooner than Retry-After: still
    # refused. Only at Retry-After does it succeed. The refusal must come within 1 s of the
    # burst for Retry-After to be 2: a run too slow for that starts again with a fresh token.
    srv = start_server("--rate-limit-token", "2/4", "--rate-limit-org", "0")
    for attempt in range(3):
        a = srv.create_org("early-%d" % attempt)
        burst_at = time.monotonic()
        for _ in range(2):
            assert get_me(srv, a["token"]).status_code == 200
        time.sleep(0.55)
        r = get_me(srv, a["token"])
        refused_at = time.monotonic()
        retry_after = assert_429(r)
        if refused_at - burst_at >= 0.95:
            continue  # too slow to tell: Retry-After may rightly be 1
        assert retry_after == 2, r.headers

        time.sleep(max(0.0, refused_at + retry_after - 0.5 - time.monotonic()))
        early = get_me(srv, a["token"])
        assert early.status_code == 429, \
            "a retry %.2f s after a 429 with Retry-After: %d succeeded" % (time.monotonic() - refused_at, retry_after)
        assert assert_429(early) == 1, early.headers

        time.sleep(max(0.0, refused_at + retry_after - time.monotonic()))
        ok = get_me(srv, a["token"])
        assert ok.status_code == 200, (ok.status_code, ok.headers)
        return
    pytest.fail("too slow to test: three bursts each took 0.95 s or more to be refused")


def test_concurrent_burst_gets_exactly_the_quota(start_server):
    srv = start_server("--rate-limit-token", "5/60", "--rate-limit-org", "0")
    a = srv.create_org("burst")
    statuses = []
    remaining = []
    lock = threading.Lock()

    def worker():
        with requests.Session() as s:
            r = get_me(srv, a["token"], session=s)
            with lock:
                statuses.append(r.status_code)
                if r.status_code == 200:
                    remaining.append(state_of(r)["token"]["r"])

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200] * 5 + [429] * 15, statuses
    assert sorted(remaining) == [0, 1, 2, 3, 4], remaining


# --- the organization budget --------------------------------------------------------------


def test_organization_budget_spans_all_its_tokens(start_server):
    srv = start_server("--rate-limit-token", "100/3600", "--rate-limit-org", "8/60")
    a = srv.create_org("org-budget")
    other = srv.create_org("org-budget-other")
    token_a = a["token"]
    started = time.monotonic()
    token_b = new_pat(srv, a)  # two requests of the organization's 8
    used = {token_a: 2, token_b: 0}
    org_left = 6
    for i in range(6):
        token = (token_a, token_b)[i % 2]
        r = get_me(srv, token)
        assert r.status_code == 200, r.text
        assert r.headers["RateLimit-Policy"] == '"token";q=100;w=3600, "organization";q=8;w=60', r.headers
        used[token] += 1
        org_left -= 1
        state = state_of(r)
        assert list(state) == ["token", "organization"], r.headers["RateLimit"]
        assert state["token"]["r"] == 100 - used[token], r.headers["RateLimit"]
        assert state["organization"]["r"] == org_left, r.headers["RateLimit"]
        if i == 2:
            r = get_me(srv, other["token"])  # another organization: its own budget
            assert r.status_code == 200 and state_of(r)["organization"]["r"] == 7, r.headers
    for token in (token_a, token_b):
        r = get_me(srv, token)
        retry_after = assert_429(r)
        assert soonest_retry(7.5, started) <= retry_after <= 8, r.headers  # 60/8 = 7.5 s per request
        assert state_of(r)["organization"]["r"] == 0, r.headers
    r = get_me(srv, other["token"])
    assert r.status_code == 200 and state_of(r)["organization"]["r"] == 6, r.headers


def test_refusal_by_the_token_budget_does_not_spend_the_organization_budget(start_server):
    # A script stuck retrying with one exhausted token must not use up the budget that the
    # organization's other tokens share: a refused request spends nothing.
    srv = start_server("--rate-limit-token", "3/60", "--rate-limit-org", "10/60")
    a = srv.create_org("stuck-script")
    token_b = new_pat(srv, a)  # org budget: 8 left; token a: 1 left
    r = get_me(srv, a["token"])
    assert r.status_code == 200
    assert state_of(r)["token"]["r"] == 0 and state_of(r)["organization"]["r"] == 7, r.headers
    for _ in range(10):
        assert_429(get_me(srv, a["token"]))
    r = get_me(srv, token_b)
    assert r.status_code == 200, \
        "requests refused by token a's own budget spent the organization's budget: %d %r" % (
            r.status_code, dict(r.headers))
    assert state_of(r)["organization"]["r"] == 6, r.headers["RateLimit"]


def test_refusal_by_the_organization_budget_does_not_spend_the_token_budget(start_server):
    srv = start_server("--rate-limit-token", "4/60", "--rate-limit-org", "3/60")
    a = srv.create_org("org-first")
    for _ in range(3):
        assert get_me(srv, a["token"]).status_code == 200  # token: 1 left; org: 0 left
    r = get_me(srv, a["token"])
    assert_429(r)
    assert state_of(r)["organization"]["r"] == 0
    assert state_of(r)["token"]["r"] == 1, \
        "a request refused by the organization budget spent the token budget: %r" % r.headers["RateLimit"]


# --- failed authentication, per client address --------------------------------------------


def test_bad_token_burst_from_one_address_does_not_touch_good_tokens(start_server):
    # The token budget refills slowly enough (one every 36 s) for its r to be exact.
    srv = start_server("--rate-limit-auth-failures", "5/60", "--rate-limit-token", "100/3600")
    a = srv.create_org("auth-failures")
    tampered = a["token"][:-1] + ("A" if a["token"][-1] != "A" else "B")
    bad = ["kpat_" + "x" * 53, "spat_" + "y" * 53, "nonsense", "kpat_short", tampered]
    attacker = session_from("127.0.0.1")
    other = session_from("127.0.0.2")
    try:
        # Failures from 127.0.0.1 are counted on that address...
        started = time.monotonic()
        for i, token in enumerate(bad, start=1):
            r = get_me(srv, token, session=attacker)
            assert_problem(r, 401, "Invalid credentials.")
            assert policy_of(r) == {"auth-failures": {"q": 5, "w": 60}}, r.headers
            assert state_of(r)["auth-failures"]["r"] == 5 - i, r.headers
        # ...and once over budget they get 429 (not 401): tokens cannot be probed further.
        for token in ("kpat_" + "q" * 53, bad[0]):
            r = get_me(srv, token, session=attacker)
            retry_after = assert_429(r)
            assert soonest_retry(12, started) <= retry_after <= 12, r.headers
            assert state_of(r)["auth-failures"]["r"] == 0

        # A good token from another address: served, its own budget untouched by the burst.
        r = get_me(srv, a["token"], session=other)
        assert r.status_code == 200, r.text
        assert state_of(r)["token"]["r"] == 99, r.headers
        assert "auth-failures" not in policy_of(r)
        # A bad token from the other address is judged on that address's own budget.
        r = get_me(srv, bad[0], session=other)
        assert_problem(r, 401, "Invalid credentials.")
        assert state_of(r)["auth-failures"]["r"] == 4, r.headers
        # The failure budget only concerns failing requests: a good token from the
        # over-budget address is still served.
        r = get_me(srv, a["token"], session=attacker)
        assert r.status_code == 200, r.text
        assert state_of(r)["token"]["r"] == 98, r.headers
        # And the address stays closed for bad tokens.
        assert_429(get_me(srv, bad[1], session=attacker))
    finally:
        attacker.close()
        other.close()


def test_auth_failure_429_comes_before_the_budget_of_good_tokens_is_touched(start_server):
    # Small budgets on both sides: the flood of bad tokens is cut off by its own budget and
    # never eats into the token or organization budget of the legitimate client.
    srv = start_server("--rate-limit-auth-failures", "3/60", "--rate-limit-token", "4/60",
                       "--rate-limit-org", "4/60")
    a = srv.create_org("flood")
    attacker = session_from("127.0.0.1")
    client = session_from("127.0.0.2")
    try:
        statuses = [get_me(srv, "kpat_" + ("%053d" % i), session=attacker).status_code for i in range(30)]
        assert statuses == [401] * 3 + [429] * 27, statuses
        for expected in (3, 2, 1, 0):
            r = get_me(srv, a["token"], session=client)
            assert r.status_code == 200, r.text
            state = state_of(r)
            assert list(state) == ["token", "organization"], r.headers
            assert state["token"]["r"] == expected and state["organization"]["r"] == expected, r.headers
    finally:
        attacker.close()
        client.close()


# --- invitations --------------------------------------------------------------------------


def invite(srv, org, email=None, body=None):
    body = body if body is not None else {"email": email or "inv-%s@example.com" % uuid.uuid4().hex[:10]}
    return srv.request("POST", "/v3/invites", token=org["token"], json=body)


def test_invites_budget_per_organization(start_server):
    srv = start_server("--rate-limit-invites", "2/60")
    a = srv.create_org("inv-a")
    b = srv.create_org("inv-b")
    assert invite(srv, a).status_code == 201
    assert invite(srv, a).status_code == 201
    r = invite(srv, a, email="third@example.com")
    retry_after = assert_429(r)
    assert 29 <= retry_after <= 30, r.headers  # one invitation back every 30 s
    # Over budget, the 429 comes before the body is looked at (429 before 400 and 409).
    assert_429(invite(srv, a, body={"email": "not-an-email"}))
    assert_429(invite(srv, a, body={"email": "admin-inv-a@example.com"}))  # the active admin: 409 otherwise
    # The invitation was not made.
    users = srv.request("GET", "/v3/users", token=a["token"]).json()["data"]
    assert "third@example.com" not in [u["email"] for u in users]
    # Other requests of the organization, and another organization's invitations, go on.
    assert srv.request("GET", "/v3/users/me", token=a["token"]).status_code == 200
    assert invite(srv, b).status_code == 201
    assert invite(srv, b).status_code == 201
    assert_429(invite(srv, b))


def test_invites_429_reports_the_exhausted_budget(start_server):
    # The RateLimit fields of a 429 describe the budget that refused it: some policy is at
    # r=0 and is listed in RateLimit-Policy (not only token/organization budgets with plenty
    # left, which would tell a client it may go on).
    srv = start_server("--rate-limit-invites", "1/60")
    a = srv.create_org("inv-headers")
    assert invite(srv, a).status_code == 201
    r = invite(srv, a)
    assert_429(r)
    state = state_of(r)
    exhausted = [name for name, params in state.items() if params["r"] == 0]
    assert exhausted, "429 for the invitation budget, but RateLimit says %r" % r.headers["RateLimit"]
    assert set(exhausted) <= set(policy_of(r)), r.headers


# --- order of checks ----------------------------------------------------------------------


def test_429_comes_after_authentication_and_before_path_and_body_checks(start_server):
    srv = start_server("--rate-limit-token", "8/3600", "--rate-limit-org", "0")
    a = srv.create_org("order-a")
    b = srv.create_org("order-b")
    for _ in range(8):
        assert get_me(srv, a["token"]).status_code == 200
    assert_429(get_me(srv, a["token"]))

    # Before authentication: the router's 404 and 405, without rate-limit headers.
    r = srv.request("GET", "/v3/no-such-collection", token=a["token"])
    assert_problem(r, 404)
    assert_no_rate_limit_headers(r)
    r = srv.request("PUT", "/v3/teams", token=a["token"])
    assert_problem(r, 405)
    assert_no_rate_limit_headers(r)
    # Authentication comes first: no token or a bad token is 401, whoever is over budget.
    r = srv.request("GET", "/v3/users/me")
    assert_problem(r, 401, "A valid token is required.")
    assert "Retry-After" not in r.headers
    assert "token" not in policy_of(r) if "RateLimit-Policy" in r.headers else True
    r = srv.request("GET", "/v3/users/me", token=a["token"] + "x")
    assert_problem(r, 401, "Invalid credentials.")
    assert "Retry-After" not in r.headers
    # Then the budget: before a malformed path id (400), an unknown id (404) and the body (400).
    cases = [
        ("GET", "/v3/teams/not-a-uuid", None, 400),
        ("GET", "/v3/teams/%s" % uuid.uuid4(), None, 404),
        ("GET", "/v2/control-planes/not-a-uuid", None, 400),
        ("PATCH", "/v2/control-planes/%s" % uuid.uuid4(), {"name": "x"}, 404),
        ("POST", "/v2/control-planes", {"bogus": 1}, 400),
        ("GET", "/v2/control-planes?page[size]=0", None, 400),
    ]
    for method, path, body, unlimited_status in cases:
        r = srv.request(method, path, token=a["token"], json=body)
        assert_429(r)
        assert state_of(r)["token"]["r"] == 0
        # The same request from the other organization gets the answer the budget hid.
        r = srv.request(method, path, token=b["token"], json=body)
        assert_problem(r, unlimited_status)


def test_unauthenticated_routes_carry_no_rate_limit_headers(start_server):
    srv = start_server("--rate-limit-token", "5/60", "--rate-limit-org", "5/60")
    for path in ("/healthz", "/metrics"):
        for _ in range(8):  # more than any budget: never limited either
            r = srv.request("GET", path)
            assert r.status_code == 200, (path, r.status_code)
            assert_no_rate_limit_headers(r)


# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["5", "5/0", "/60", "abc", "5/60s", "-1/60", "5/86401", ""])
def test_bad_budget_flag_is_a_usage_error(value, tmp_path):
    out = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:%d" % free_port(), "--database",
                          "sqlite:%s" % (tmp_path / "db"), "--rate-limit-token", value],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 2, (value, out.returncode, out.stderr)


def test_disabled_budgets_never_refuse(start_server):
    srv = start_server("--rate-limit-token", "0", "--rate-limit-org", "0")
    a = srv.create_org("no-limits")
    for _ in range(30):
        r = get_me(srv, a["token"])
        assert r.status_code == 200, r.text
        assert "Retry-After" not in r.headers
