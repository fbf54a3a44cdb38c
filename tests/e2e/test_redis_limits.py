"""Rate limits shared by two servers through Redis (serve --redis-url): two openkonnect
processes on one database and one Redis spend from one token budget; with Redis stopped both
go on serving, each limiting alone, and say so once in the log and in /metrics; with Redis
started again on the same port, the budgets are shared again without a restart.

The module starts its own throwaway Redis through scripts/redis.sh (skipped where Debian's
redis-server is not installed: bash scripts/setup.sh installs it)."""
import re
import shutil
import time

import pytest

from conftest import assert_problem
from redis_support import BACK, FALLBACK, Redis, metric, remaining


@pytest.fixture(scope="module")
def redis():
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (bash scripts/setup.sh installs it)")
    r = Redis()
    r.start()
    yield r
    r.stop()


def two_nodes(start_server, redis):
    """Two servers on one database and one Redis, with a token budget of 5 a minute."""
    flags = ("--redis-url", redis.url, "--rate-limit-token", "5/60", "--rate-limit-org", "0")
    a = start_server(*flags)
    b = start_server(*flags, database=a.database)
    return a, b


def get_me(srv, token):
    return srv.request("GET", "/v3/users/me", token=token)


def spend(srv, token, expected_remaining):
    r = get_me(srv, token)
    assert r.status_code == 200, r.text
    assert r.headers["RateLimit-Policy"] == '"token";q=5;w=60', r.headers
    assert remaining(r) == expected_remaining, "%s: %r" % (srv.base, r.headers["RateLimit"])


def assert_refused(srv, token):
    r = get_me(srv, token)
    assert_problem(r, 429)
    retry_after = r.headers.get("Retry-After")
    assert retry_after is not None and re.fullmatch(r"[1-9][0-9]*", retry_after), r.headers
    assert 1 <= int(retry_after) <= 12, r.headers  # one request back every 12 s
    assert remaining(r) == 0
    return int(retry_after)


def shared_budget(a, b, token):
    """3 requests on a and 2 on b count down one budget; the 6th is refused on either."""
    for left in (4, 3, 2):
        spend(a, token, left)
    for left in (1, 0):
        spend(b, token, left)
    assert_refused(b, token)
    assert_refused(a, token)


def test_two_servers_share_a_token_budget(start_server, redis):
    a, b = two_nodes(start_server, redis)
    org = a.create_org("shared-budget")
    shared_budget(a, b, org["token"])
    # Another token's budget is its own, on both nodes.
    other = a.create_org("shared-budget-2")
    spend(b, other["token"], 4)
    spend(a, other["token"], 3)
    for srv in (a, b):
        assert "rate limits shared through %s/0" % redis.url in srv.stderr()
        assert metric(srv, "openkonnect_rate_limit_redis_up") == 1
        assert metric(srv, "openkonnect_rate_limit_redis_fallbacks_total") == 0
        assert metric(srv, "openkonnect_rate_limit_local_checks_total") == 0


def test_redis_stopped_then_back(start_server, redis):
    a, b = two_nodes(start_server, redis)
    org = a.create_org("before-outage")
    spend(a, org["token"], 4)
    spend(b, org["token"], 3)

    redis.stop()
    try:
        # Both still serve; each node has a budget of its own now: 3 + 3 pass where one shared
        # budget would refuse the 6th, and each node still refuses beyond its own 5.
        alone = a.create_org("during-outage")
        for srv in (a, b):
            for left in (4, 3, 2):
                spend(srv, alone["token"], left)
        spend(a, alone["token"], 1)
        spend(a, alone["token"], 0)
        assert_refused(a, alone["token"])
        for srv in (a, b):
            assert srv.stderr().count(FALLBACK) == 1, srv.stderr()
            assert metric(srv, "openkonnect_rate_limit_redis_up") == 0
            assert metric(srv, "openkonnect_rate_limit_redis_fallbacks_total") == 1
            assert metric(srv, "openkonnect_rate_limit_local_checks_total") >= 3
    finally:
        redis.start()  # the same port: the servers were given its URL

    # Each node tries Redis again at most once a second, on a request: any request that
    # consults a budget will do (a failed authentication consults the per-address one).
    deadline = time.time() + 15
    while time.time() < deadline:
        for srv in (a, b):
            assert srv.request("GET", "/v3/users/me").status_code == 401
        if all(metric(srv, "openkonnect_rate_limit_redis_up") == 1 for srv in (a, b)):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("not shared again 15 s after Redis came back:\n%s" % a.stderr()[-2000:])

    after = a.create_org("after-outage")
    shared_budget(a, b, after["token"])
    for srv in (a, b):
        log = srv.stderr()
        assert log.count(FALLBACK) == 1, log
        assert log.count(BACK) == 1, log
        assert metric(srv, "openkonnect_rate_limit_redis_fallbacks_total") == 1
