"""A throwaway Redis for the tests that share rate limits through it (scripts/redis.sh)."""
import re
import subprocess
import tempfile

from conftest import ROOT, SCRATCH

REDIS_SH = str(ROOT / "scripts" / "redis.sh")
FALLBACK = "unavailable: rate limits are local to this node"
BACK = "rate limits shared again"


class Redis:
    """Started and stopped by hand; restarted on the port it had, since servers hold its URL."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="redis-", dir=SCRATCH)
        self.url = None

    def run(self, command):
        out = subprocess.run(["bash", REDIS_SH, command, self.dir], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, "redis.sh %s failed: %s" % (command, out.stderr)
        return out.stdout.strip()

    def start(self):
        url = self.run("start")
        assert re.fullmatch(r"redis://127\.0\.0\.1:[0-9]+", url), url
        assert self.url in (None, url), "Redis came back on another port: %s, not %s" % (url, self.url)
        self.url = url
        return self

    def stop(self):
        self.run("stop")


def remaining(resp):
    """What the RateLimit header says is left of the token budget."""
    m = re.fullmatch(r'"token";r=([0-9]+);t=[0-9]+', resp.headers.get("RateLimit", ""))
    assert m, resp.headers
    return int(m.group(1))


def metric(srv, name):
    text = srv.request("GET", "/metrics").text
    m = re.search(r"^%s ([0-9]+)$" % re.escape(name), text, re.M)
    assert m, "%s missing from /metrics" % name
    return int(m.group(1))
