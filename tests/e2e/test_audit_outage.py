"""The issue's own outage: the webhook's receiver down for a whole minute while requests keep
coming, then up: everything arrives, in order, each record once. A minute of waiting, so it runs
in the SQLite pass of the suite only (what it checks does not depend on the database), in a
module of its own so that the other worker keeps going meanwhile."""
import time

import pytest

from conftest import POSTGRES_URL, uniq
from test_audit_delivery import Receiver, assert_webhook_status, enable_webhook, events, trace_of, wait_for

pytestmark = pytest.mark.skipif(bool(POSTGRES_URL), reason="a minute of waiting, run once: in the SQLite pass")


def test_a_receiver_down_for_a_minute_then_up_gets_everything_in_order(start_server):
    receiver = Receiver()
    try:
        server = start_server("--audit-max-retry-ms", "5000")
        org = server.create_org(uniq("audit-minute"))
        receiver.failing_status = 503
        enable_webhook(server, org, receiver.url)
        traces = []
        down_until = time.time() + 60
        while time.time() < down_until:
            resp = server.request("POST", "/v2/control-planes", token=org["token"], json={"name": uniq("cp")})
            assert resp.status_code == 201, resp.text
            traces.append(trace_of(resp))
            time.sleep(1)
        assert_webhook_status(server, org["token"], "inactive", 503)
        # Backoff: attempts kept coming through the minute, but not one per poll.
        assert 10 <= receiver.refused <= 120, receiver.refused
        assert receiver.lines() == []
        receiver.failing_status = None
        seen = wait_for(lambda: (lambda s: s if set(traces) <= set(s) else None)(
            [e["trace_id"] for e in events(receiver, "json")]), seconds=20, what="the minute's backlog")
        assert [t for t in seen if t in set(traces)] == traces  # in order, each once
        assert_webhook_status(server, org["token"], "active", 200)
    finally:
        receiver.close()
