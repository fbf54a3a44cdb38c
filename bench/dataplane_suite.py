#!/usr/bin/python3
"""The data-plane benchmark: a 10 000-entity configuration pushed to 1 000 emulated Kong data planes.

Run it through bench/run.sh (`BENCH_ONLY=dataplane bash bench/run.sh` runs only this one), or
directly: `OPENKONNECT_BENCH_BIN=build/openkonnect /usr/bin/python3 bench/dataplane_suite.py`.

In one run, on this machine, all on loopback:

- The server: `openkonnect serve` on a fresh database (rate limits off, as the other suites),
  with its cluster listener on a free port (`--cluster-listen 127.0.0.1:PORT
  --cluster-debounce-ms 250`, the default debounce said out loud). `openkonnect org create`, one
  control plane, ONE client certificate pinned to it (POST …/dp-client-certificates): every
  emulated data plane presents it (pinning is per certificate; nodes are told apart by node_id).
- The load: 2 500 services, 2 500 routes (route i on service i), 2 000 consumers, 2 000 key-auth
  credentials (one per consumer) and 1 000 rate-limiting plugins (plugin i on service i) =
  10 000 entities, PUT as decK does (bench/lua/config_put.lua, `wrk -t2 -c10`, the
  configuration suite's loader).
- (a) Render, cold: three times, one more route POSTed, then from its 2xx to
  `GET …/expected-config-hash` answering (the hub renders the 10 000 entities, hashes,
  serializes and gzips them in that request: nothing rendered them before, and no data plane is
  connected to make the hub render on its own). Baselines, same run: the write's own latency, and
  the same GET once more right after (the configuration is fresh: nothing to render).
- (b) Connect: N = 1 000 emulated data planes (tests/e2e/dataplane.py's DataPlane, one asyncio
  process, one shared TLS client context, at most 50 connecting at a time): TLS with the client
  certificate, the WebSocket upgrade on /v1/outlet, basic_info, and the 10 000-entity
  `reconfigure` frame received and applied (its hash becomes the node's, and it pings with it, as
  Kong does). Every data plane then pings every 30 s (Kong's PING_INTERVAL), at a random phase.
- (c) Memory per idle data plane: the server's VmRSS once all N hold the configuration and have
  been idle 3 s (median of 5 samples), minus its VmRSS right before the first connected (the
  configuration's payload was already rendered by (a): what every data plane shares is in both),
  divided by N. Baseline: a second, fresh server (same binary and flags, its own empty database)
  and N plain TLS connections to its cluster listener, with the same client certificate, that
  send nothing (the listener cuts them after 10 s; they are measured before).
- (d) Propagation, three times: one route POSTed through the API; for each data plane, the time
  from the API's 2xx to the data plane holding the new configuration (the frame received in
  full). p50, p99, max; target: all within 2 s. Baselines: the write's own latency, and the
  configured debounce (max − debounce is what the push itself took).
- (e) After each change: `GET …/expected-config-hash` equals every data plane's hash, and
  `GET …/nodes?page[size]=1000` (all pages) shows every node's pinged hash equal to it (polled:
  node records follow pings through the store's writer).

Honest limits of the emulation: the 1 000 data planes are one Python process on the same 2 CPUs
as the server, so their TLS decryption and frame parsing compete with the server for CPU time.
Identical frames are inflated and parsed once per process (a frame's bytes are compared with the
one already parsed, byte for byte): a real data plane inflates its own copy on its own machine.
The client's CPU seconds are reported next to the server's.

Prints a markdown report and writes it to bench/results/dataplane-latest.md (BENCH_DP_OUTPUT).
Environment: OPENKONNECT_BENCH_BIN (binary, default build/openkonnect), BENCH_DP_COUNT (data
planes, default 1000), BENCH_SCALE (shrinks the entity count for a quick try; default 1),
BENCH_DP_DEBOUNCE_MS (default 250), BENCH_KEEP=1 (keep the temporary directory), BENCH_DP_OUTPUT
(report path). Bounded: every wrk run has -d and a driver timeout, every wait a bound, the whole
suite a time budget (BENCH_DP_BUDGET, default 480 s) after which remaining phases are skipped;
every process it started is stopped at the end, also on failure or SIGTERM.
"""

import asyncio
import concurrent.futures
import datetime
import gzip
import json
import os
import random
import resource
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import websockets

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from bench_common import (_started, _terminate, fmt_duration, fmt_ms, free_port, loadavg, log,  # noqa: E402
                          machine_info, proc_status_kib, stop_process, verdict)
from config_suite import Client, Phase, Server, eid, fmt_s, fmt_x, n_, wrk_put  # noqa: E402
from dataplane import BUNDLED_PLUGINS, EMPTY_HASH, DataPlane, make_client_cert  # noqa: E402

BIN = os.environ.get("OPENKONNECT_BENCH_BIN") or str(ROOT / "build" / "openkonnect")
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
N_DPS = int(os.environ.get("BENCH_DP_COUNT", "1000"))
DEBOUNCE_MS = int(os.environ.get("BENCH_DP_DEBOUNCE_MS", "250"))
OUTPUT = Path(os.environ.get("BENCH_DP_OUTPUT") or (BENCH / "results" / "dataplane-latest.md"))
BUDGET_S = float(os.environ.get("BENCH_DP_BUDGET", "480"))

CONNECTING = 50          # data planes connecting at once
PING_INTERVAL_S = 30     # Kong's
ROUNDS = 3               # propagation rounds
RENDERS = 3              # cold renders in (a)
SETTLE_S = 3.0           # idle before the memory samples
FIRST_CONFIG_BOUND_S = 60
PROPAGATION_BOUND_S = 30
NODES_BOUND_S = 20

# Targets (the issue's).
TARGET_PROPAGATION_S = 2.0
TARGET_KIB_PER_DP = 64.0


def scaled(n, floor=10):
    return n if SCALE >= 1 else max(floor, int(round(n * SCALE)))


KINDS = [("services", scaled(2500)), ("routes", scaled(2500)), ("consumers", scaled(2000)),
         ("key-auths", scaled(2000)), ("plugins", scaled(1000))]
TOTAL = sum(n for _, n in KINDS)


def mono():
    return time.monotonic()


def pct(values, p):
    """The p-th percentile (nearest rank) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def server_metrics(port):
    """{metric line name: value} of the cluster counters in /metrics (no labels), or {}."""
    import http.client
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
    except (OSError, http.client.HTTPException):
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith(("openkonnect_config_", "openkonnect_data_plane")) and " " in line:
            k, v = line.rsplit(" ", 1)
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def rss_median_kib(pid, samples=5, every=0.2):
    values = []
    for i in range(samples):
        values.append(proc_status_kib(pid, "VmRSS"))
        if i + 1 < samples:
            time.sleep(every)
    return statistics.median(values)


# --- the emulated data planes ---------------------------------------------------------------------


class Decoder:
    """Inflates and parses each distinct `reconfigure` frame once; a frame identical byte for byte
    to one already parsed (every data plane of a control plane gets the same frame) is recognised
    by comparing the bytes. Keeps what the report needs about each configuration."""

    def __init__(self):
        self.by_key = {}
        self.info = {}  # hash -> {gzip_bytes, json_bytes, entities, decode_s}
        self.parsed = 0
        self.compared = 0

    def hash_of(self, frame):
        key = (len(frame), bytes(frame[-8:]))  # gzip's trailer: CRC-32 and length of the inflated bytes
        hit = self.by_key.get(key)
        if hit is not None and hit[0] == frame:
            self.compared += 1
            return hit[1]
        t0 = time.perf_counter()
        inflated = gzip.decompress(frame)
        message = json.loads(inflated)
        if message.get("type") != "reconfigure" or "config_table" not in message:
            raise ValueError("not a reconfigure message: %r" % (inflated[:200],))
        h = message["config_hash"]
        entities = sum(len(v) for v in message["config_table"].values() if isinstance(v, list))
        self.info[h] = {"gzip_bytes": len(frame), "json_bytes": len(inflated), "entities": entities,
                        "decode_s": time.perf_counter() - t0}
        self.by_key[key] = (bytes(frame), h)
        self.parsed += 1
        return h


class BenchDataPlane(DataPlane):
    """DataPlane (tests/e2e/dataplane.py) sharing one TLS client context, receiving frames in a
    task of its own and pinging every 30 s, as Kong does."""

    def __init__(self, port, ctx, index):
        # Not DataPlane.__init__: it builds an SSLContext per data plane, and a thousand share one.
        self.port = port
        self.node_id = str(uuid.uuid4())
        self.version = "3.10.0"
        self.hostname = "dp-bench-%04d" % index
        self.plugins = BUNDLED_PLUGINS
        self.labels = {}
        self.server_name = "localhost"
        self.query = None
        self.ctx = ctx
        self.ws = None
        self.config_hash = EMPTY_HASH
        self.configs = []  # unused: DataPlane keeps every inflated message; this one keeps hashes
        self.received = []  # (monotonic time the frame was complete, its config hash)
        self.got_config = asyncio.Event()
        self.errors = []
        self.pong_timeouts = 0
        self.closed = None
        self.connect_s = self.first_config_s = None
        self.tasks = []

    async def reader(self, decoder, on_config):
        try:
            while True:
                frame = await self.ws.recv()
                t = mono()
                if not isinstance(frame, bytes):
                    self.errors.append("a text frame: %r" % frame[:200])
                    continue
                h = decoder.hash_of(frame)
                self.config_hash = h
                self.received.append((t, h))
                self.got_config.set()
                on_config(self, t, h)
                await self.safe_ping()  # Kong pings with the new hash once it applied it
        except websockets.exceptions.ConnectionClosed as e:
            self.closed = "closed %s %s" % (e.code, e.reason)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - reported
            self.errors.append(repr(e)[:300])

    async def safe_ping(self):
        try:
            await self.ping()
        except asyncio.TimeoutError:
            self.pong_timeouts += 1
        except ValueError:
            pass  # a ping with this hash is already waiting for its pong
        except websockets.exceptions.ConnectionClosed:
            pass

    async def pinger(self):
        await asyncio.sleep(random.uniform(0, PING_INTERVAL_S))
        while self.closed is None:
            await self.safe_ping()
            await asyncio.sleep(PING_INTERVAL_S)


class Round:
    """Counts the data planes that received a configuration other than `prev` after `t_send`."""

    def __init__(self, prev, n):
        self.prev, self.n = prev, n
        self.t_send = None
        self.first = {}  # node id -> (time, hash)
        self.done = asyncio.Event()

    def on_config(self, dp, t, h):
        if self.t_send is None or h == self.prev or t < self.t_send or dp.node_id in self.first:
            return
        self.first[dp.node_id] = (t, h)
        if len(self.first) >= self.n:
            self.done.set()


async def run_dataplanes(server, cp, token, trust_file, cert_file, key_file, deadline, R):
    loop = asyncio.get_running_loop()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)  # the API client's thread
    api = Client(server.port, token)
    base = "/v2/control-planes/%s" % cp

    def call(method, path, body=None, expect=(200, 201)):
        return loop.run_in_executor(pool, lambda: api.call(method, path, body, expect))

    def timed_write(name, path_suffix):
        def work():
            body = {"name": name, "protocols": ["http", "https"], "paths": ["/" + path_suffix],
                    "service": {"id": eid("services", 0)}, "tags": ["openkonnect-bench"]}
            t0 = mono()
            doc = api.call("POST", base + "/core-entities/routes", body, expect=(201,))
            return t0, mono(), doc["id"]
        return loop.run_in_executor(pool, work)

    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=trust_file)
    ctx.check_hostname = False
    ctx.load_cert_chain(cert_file, key_file)
    decoder = Decoder()
    dps = [BenchDataPlane(server.cluster_port, ctx, i) for i in range(N_DPS)]
    active = {"round": None}

    def on_config(dp, t, h):
        r = active["round"]
        if r is not None:
            r.on_config(dp, t, h)

    # --- (b) connect ---
    rss_before = rss_median_kib(server.proc.pid)
    R["rss_before_dps_kib"] = rss_before
    metrics0 = server_metrics(server.port)
    sem = asyncio.Semaphore(CONNECTING)

    async def bring_up(dp):
        async with sem:
            t0 = mono()
            try:
                await dp.connect()
            except Exception as e:  # noqa: BLE001 - reported
                dp.errors.append("connect: %r" % (e,))
                return
            t1 = mono()
            dp.tasks.append(asyncio.create_task(dp.reader(decoder, on_config)))
            try:
                await asyncio.wait_for(dp.got_config.wait(), FIRST_CONFIG_BOUND_S)
            except asyncio.TimeoutError:
                dp.errors.append("no configuration within %ds of connecting" % FIRST_CONFIG_BOUND_S)
                return
            dp.connect_s, dp.first_config_s = t1 - t0, mono() - t0
            dp.tasks.append(asyncio.create_task(dp.pinger()))

    log("connect: %d data planes, at most %d connecting at once" % (N_DPS, CONNECTING))
    with Phase(server) as ph:
        cpu0 = time.process_time()
        t0 = mono()
        bound = max(30.0, min(240.0, deadline - time.time() - 120))
        try:
            await asyncio.wait_for(asyncio.gather(*(bring_up(dp) for dp in dps)), bound)
            timed_out = False
        except asyncio.TimeoutError:
            timed_out = True
        wall = mono() - t0
        client_cpu = time.process_time() - cpu0
    ok = [dp for dp in dps if dp.first_config_s is not None]
    C = {"n": N_DPS, "ok": len(ok), "wall_s": wall, "timed_out": timed_out, "bound_s": bound,
         "server_cores": ph.server_cores, "machine_busy": ph.machine_busy, "client_cpu_s": client_cpu,
         "server_cpu_s": ph.server_cores * wall,
         "errors": sorted({e for dp in dps for e in dp.errors})[:5],
         "n_errors": sum(1 for dp in dps if dp.errors)}
    if ok:
        conn = [dp.connect_s for dp in ok]
        first = [dp.first_config_s for dp in ok]
        C.update(connect_p50=pct(conn, 50), connect_p99=pct(conn, 99), first_p50=pct(first, 50),
                 first_p99=pct(first, 99), first_max=max(first))
    R["connect"] = C
    log("  %d of %d hold the configuration after %.2fs (TLS + upgrade p50 %s; connect → config p50 %s, p99 %s); "
        "server %.2f cores, client %.1f CPU s%s" % (
            len(ok), N_DPS, wall, fmt_ms(1000 * C.get("connect_p50", 0)), fmt_ms(1000 * C.get("first_p50", 0)),
            fmt_ms(1000 * C.get("first_p99", 0)), ph.server_cores, client_cpu,
            "; errors: %s" % C["errors"] if C["errors"] else ""))
    if decoder.info:
        h, info = next(iter(decoder.info.items()))
        R["frame"] = dict(info, hash=h)
        log("  the frame: %s bytes gzip'd, %s bytes of JSON, %d entities (inflated and parsed in %.0f ms here)" % (
            n_(info["gzip_bytes"]), n_(info["json_bytes"]), info["entities"], 1000 * info["decode_s"]))

    # --- (c) memory, idle ---
    await asyncio.sleep(SETTLE_S)
    rss_idle = await loop.run_in_executor(pool, rss_median_kib, server.proc.pid)
    R["memory"] = {"before_kib": rss_before, "idle_kib": rss_idle, "n": len(ok),
                   "per_dp_kib": (rss_idle - rss_before) / max(1, len(ok)),
                   "hwm_kib": proc_status_kib(server.proc.pid, "VmHWM"),
                   "peak_sampled_mib": server.peak_rss_mib,
                   "open_fds": len(os.listdir("/proc/%d/fd" % server.proc.pid))}
    log("memory: VmRSS %.1f MiB before, %.1f MiB with %d idle data planes: %.1f KiB per data plane" % (
        rss_before / 1024, rss_idle / 1024, len(ok), R["memory"]["per_dp_kib"]))
    metrics1 = server_metrics(server.port)
    R["connect"]["pushes"] = metrics1.get("openkonnect_config_pushes_total", 0) - metrics0.get(
        "openkonnect_config_pushes_total", 0)
    R["connect"]["push_bytes"] = metrics1.get("openkonnect_config_push_bytes_total", 0) - metrics0.get(
        "openkonnect_config_push_bytes_total", 0)

    # --- (d) propagation and (e) consistency ---
    R["rounds"] = []
    for r in range(ROUNDS):
        if time.time() > deadline - 60:
            R["skipped"].append("propagation rounds %d-%d (suite time budget)" % (r + 1, ROUNDS))
            break
        live = [dp for dp in ok if dp.closed is None and not dp.errors]
        prev = live[0].config_hash if live else EMPTY_HASH
        stale = sum(1 for dp in live if dp.config_hash != prev)
        rnd = Round(prev, len(live))
        m0 = server_metrics(server.port)
        with Phase(server) as ph:
            cpu0 = time.process_time()
            rnd.t_send = mono()
            active["round"] = rnd
            t_send, t_2xx, route_id = await timed_write("dp-bench-push-%d" % r, "dp-bench-push-%d" % r)
            try:
                await asyncio.wait_for(rnd.done.wait(), max(0.1, t_2xx + PROPAGATION_BOUND_S - mono()))
            except asyncio.TimeoutError:
                pass
            t_end = mono()
            client_cpu = time.process_time() - cpu0
        active["round"] = None
        m1 = server_metrics(server.port)
        lat = [t - t_2xx for (t, _) in rnd.first.values()]
        hashes = {h for (_, h) in rnd.first.values()}
        expected = (await call("GET", base + "/expected-config-hash"))["expected_hash"]
        holding = sum(1 for dp in live if dp.config_hash == expected)
        X = {"round": r + 1, "n": len(live), "stale_before": stale, "write_ms": 1000 * (t_2xx - t_send),
             "received": len(rnd.first), "distinct_new_hashes": len(hashes), "expected": expected,
             "holding_expected": holding, "wall_s": t_end - t_send, "server_cores": ph.server_cores,
             "server_cpu_s": ph.server_cores * ph.wall, "client_cpu_s": client_cpu,
             "machine_busy": ph.machine_busy,
             "pushes": m1.get("openkonnect_config_pushes_total", 0) - m0.get("openkonnect_config_pushes_total", 0),
             "renders": m1.get("openkonnect_config_renders_total", 0) - m0.get("openkonnect_config_renders_total",
                                                                                 0)}
        if lat:
            X.update(p50_s=pct(lat, 50), p99_s=pct(lat, 99), max_s=max(lat), min_s=min(lat),
                     within=sum(1 for x in lat if x <= TARGET_PROPAGATION_S))
        # (e) the nodes API: every node's pinged hash is the expected one (polled, bounded)
        node_ids = {dp.node_id for dp in live}
        t_nodes0 = mono()
        nodes_ok, last = False, None
        while mono() - t_nodes0 < NODES_BOUND_S:
            seen, matching, after, pages = 0, 0, None, 0
            while True:
                q = "?page[size]=1000" + ("&page[after]=" + after if after else "")
                doc = await call("GET", base + "/nodes" + q)
                pages += 1
                for n in doc["items"]:
                    if n["id"] in node_ids:
                        seen += 1
                        matching += n["config_hash"] == expected
                after = doc["page"]["next"]
                if not after:
                    break
            last = {"seen": seen, "matching": matching, "pages": pages, "total_count": doc["page"]["total_count"]}
            if seen == len(node_ids) and matching == len(node_ids):
                nodes_ok = True
                break
            await asyncio.sleep(0.25)
        X["nodes"] = dict(last or {}, ok=nodes_ok, after_s=mono() - t_nodes0)
        R["rounds"].append(X)
        log("round %d: POST route %.1f ms; %d of %d data planes got the new configuration (%d distinct hashes), "
            "p50 %s p99 %s max %s after the 2xx; all hold expected-config-hash: %s (%d); nodes API in agreement: "
            "%s after %.2fs (%s); server %.2f cores, client %.2f CPU s, pushes %d" % (
                r + 1, X["write_ms"], X["received"], X["n"], X["distinct_new_hashes"],
                fmt_ms(1000 * X["p50_s"]) if lat else "—", fmt_ms(1000 * X["p99_s"]) if lat else "—",
                fmt_ms(1000 * X["max_s"]) if lat else "—", holding == len(live), holding, nodes_ok,
                X["nodes"]["after_s"], last, ph.server_cores, client_cpu, X["pushes"]))
        await asyncio.sleep(1.0)

    R["rss_after_rounds_kib"] = proc_status_kib(server.proc.pid, "VmRSS")
    R["decoder"] = {"parsed": decoder.parsed, "compared": decoder.compared}
    R["client_errors"] = sorted({e for dp in dps for e in dp.errors})[:5]
    R["pong_timeouts"] = sum(dp.pong_timeouts for dp in dps)
    R["closed_early"] = sum(1 for dp in ok if dp.closed is not None)
    R["closed_reasons"] = sorted({dp.closed for dp in ok if dp.closed is not None})[:5]

    # --- close: bounded ---
    for dp in dps:
        for t in dp.tasks:
            t.cancel()

    async def close(dp):
        if dp.ws is not None:
            try:
                await asyncio.wait_for(dp.ws.close(), 10)
            except Exception:  # noqa: BLE001 - closing
                pass
    close_sem = asyncio.Semaphore(100)

    async def close_bounded(dp):
        async with close_sem:
            await close(dp)
    try:
        await asyncio.wait_for(asyncio.gather(*(close_bounded(dp) for dp in dps)), 30)
    except asyncio.TimeoutError:
        pass
    api.close()
    pool.shutdown(wait=False)


async def run_tls_baseline(port, trust_file, cert_file, key_file, pid, n):
    """n TLS connections to a cluster listener, with the client certificate, that send nothing."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=trust_file)
    ctx.check_hostname = False
    ctx.load_cert_chain(cert_file, key_file)
    before = rss_median_kib(pid)
    sem = asyncio.Semaphore(CONNECTING)
    conns, times, errors = [], [], []

    async def one():
        async with sem:
            t0 = mono()
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                                      server_hostname="localhost"), 10)
            except Exception as e:  # noqa: BLE001 - reported
                errors.append(repr(e)[:200])
                return
            times.append(mono() - t0)
            conns.append((r, w))
    t0 = mono()
    try:
        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), 30)
    except asyncio.TimeoutError:
        pass
    wall = mono() - t0
    await asyncio.sleep(0.5)  # the server finishes the last handshakes
    after = proc_status_kib(pid, "VmRSS")  # one sample: the listener cuts them 10 s after each connected
    t_measured = mono() - t0
    for _, w in conns:
        w.close()
    await asyncio.sleep(0.2)
    return {"n": n, "ok": len(conns), "wall_s": wall, "measured_at_s": t_measured, "before_kib": before,
            "after_kib": after, "per_conn_kib": (after - before) / max(1, len(conns)),
            "handshake_p50": pct(times, 50) if times else None, "handshake_p99": pct(times, 99) if times else None,
            "errors": errors[:3], "valid": t_measured < 9.5 and len(conns) == n}


# --- the suite ------------------------------------------------------------------------------------


def cluster_server(db, workdir, name):
    port = free_port()
    s = Server(db, workdir, ["--cluster-listen", "127.0.0.1:%d" % port, "--cluster-debounce-ms", str(DEBOUNCE_MS)],
               name=name)
    s.cluster_port = port
    return s


def org_create(db, name, email):
    return json.loads(subprocess.run(
        [BIN, "org", "create", "--database", "sqlite:" + db, "--name", name, "--admin-email", email],
        capture_output=True, text=True, timeout=60, check=True).stdout)


def cluster_certificate(db, path):
    pem = subprocess.run([BIN, "cluster-certificate", "--database", "sqlite:" + db], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    with open(path, "w") as f:
        f.write(pem)


def main():
    suite_t0 = time.time()
    deadline = suite_t0 + BUDGET_S
    if not os.access(BIN, os.X_OK):
        sys.exit("no openkonnect binary at %s (set OPENKONNECT_BENCH_BIN or run bench/run.sh)" % BIN)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (bench/run.sh installs it)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < N_DPS + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * N_DPS + 200)), hard))
    workdir = tempfile.mkdtemp(prefix="openkonnect-dp-bench-")
    log("working directory %s, binary %s: %s entities, %d data planes, debounce %d ms" % (
        workdir, BIN, n_(TOTAL), N_DPS, DEBOUNCE_MS))
    R = {"info": machine_info(BIN, ROOT), "load_start": loadavg(), "skipped": []}
    servers = []
    try:
        db = os.path.join(workdir, "server.db")
        org = org_create(db, "Data Plane Bench", "admin@dp.bench.example")
        token = org["token"]
        server = cluster_server(db, workdir, "server")
        servers.append(server)
        R["start_s"] = server.start()
        time.sleep(1.0)
        R["rss_idle_kib"] = proc_status_kib(server.proc.pid, "VmRSS")
        trust_file = os.path.join(workdir, "cluster.pem")
        cluster_certificate(db, trust_file)
        api = Client(server.port, token)
        cp = api.call("POST", "/v2/control-planes", {"name": "dp-bench"})["id"]
        cert_pem, key_pem = make_client_cert("dp-bench")
        cert_file, key_file = os.path.join(workdir, "dp.crt"), os.path.join(workdir, "dp.key")
        with open(cert_file, "w") as f:
            f.write(cert_pem)
        with open(key_file, "w") as f:
            f.write(key_pem)
        api.call("POST", "/v2/control-planes/%s/dp-client-certificates" % cp, {"cert": cert_pem}, expect=(201,))
        log("server up (cluster listener on %d), idle RSS %.1f MiB; control plane %s, one client certificate "
            "pinned" % (server.cluster_port, R["rss_idle_kib"] / 1024, cp))

        # --- the load ---
        log("load: %s entities PUT kind after kind, wrk -t2 -c10 (bench/lua/config_put.lua)" % n_(TOTAL))
        R["load"] = []
        for kind, count in KINDS:
            bound = max(0.0, min(30 + count / 500, deadline - time.time() - 240))
            if bound < 10:
                raise RuntimeError("no time left for the load (suite budget)")
            x = wrk_put(server, kind, count, cp, token, 0, bound, workdir, "put " + kind)
            R["load"].append(x)
            if not x["complete"]:
                raise RuntimeError("the load of %s failed: %s" % (kind, x.get("error")))

        # --- (a) render, cold ---
        base = "/v2/control-planes/%s" % cp
        R["renders"] = []
        for i in range(RENDERS):
            t0 = mono()
            api.call("POST", base + "/core-entities/routes",
                     {"name": "dp-bench-render-%d" % i, "paths": ["/dp-bench-render-%d" % i],
                      "service": {"id": eid("services", 0)}, "tags": ["openkonnect-bench"]}, expect=(201,))
            t1 = mono()
            h = api.call("GET", base + "/expected-config-hash")["expected_hash"]
            t2 = mono()
            h2 = api.call("GET", base + "/expected-config-hash")["expected_hash"]
            t3 = mono()
            R["renders"].append({"write_ms": 1000 * (t1 - t0), "cold_ms": 1000 * (t2 - t1),
                                 "fresh_ms": 1000 * (t3 - t2), "hash": h, "same": h == h2})
            log("render %d: POST route %.1f ms; then expected-config-hash (renders %s entities) %.0f ms; again "
                "(fresh) %.2f ms" % (i + 1, 1000 * (t1 - t0), n_(TOTAL + i + 1), 1000 * (t2 - t1), 1000 * (t3 - t2)))
        api.close()
        time.sleep(1.0)

        # --- (b)-(e) the data planes ---
        asyncio.run(run_dataplanes(server, cp, token, trust_file, cert_file, key_file, deadline, R))
        R["server_alive"] = server.proc.poll() is None
        R["hwm_end_kib"] = proc_status_kib(server.proc.pid, "VmHWM") if R["server_alive"] else None
        server.stop()

        # --- the baseline: plain TLS connections to a fresh server's cluster listener ---
        if time.time() < deadline - 30:
            bdb = os.path.join(workdir, "baseline.db")
            org_create(bdb, "TLS Baseline", "admin@tls.bench.example")
            bserver = cluster_server(bdb, workdir, "baseline-server")
            servers.append(bserver)
            bserver.start()
            time.sleep(1.0)
            btrust = os.path.join(workdir, "baseline-cluster.pem")
            cluster_certificate(bdb, btrust)
            log("baseline: %d TLS connections (client certificate, nothing sent) to a fresh server's cluster "
                "listener" % N_DPS)
            R["tls"] = asyncio.run(run_tls_baseline(bserver.cluster_port, btrust, cert_file, key_file,
                                                    bserver.proc.pid, N_DPS))
            R["tls"]["idle_kib"] = R["tls"]["before_kib"]
            log("  %d of %d connected in %.2fs (handshake p50 %s); VmRSS %.1f → %.1f MiB: %.1f KiB per connection%s" % (
                R["tls"]["ok"], N_DPS, R["tls"]["wall_s"], fmt_ms(1000 * (R["tls"]["handshake_p50"] or 0)),
                R["tls"]["before_kib"] / 1024, R["tls"]["after_kib"] / 1024, R["tls"]["per_conn_kib"],
                "" if R["tls"]["valid"] else " (NOT valid: measured %.1fs after the first connected, or some "
                "failed)" % R["tls"]["measured_at_s"]))
            bserver.stop()
        else:
            R["skipped"].append("the TLS baseline (suite time budget)")
    finally:
        for s in servers:
            s.stop()
        for proc in list(_started):
            stop_process(proc)
        R["suite_s"] = time.time() - suite_t0
        R["load_end"] = loadavg()
        try:
            report = render(R)
            print(report)
            OUTPUT.parent.mkdir(parents=True, exist_ok=True)
            OUTPUT.write_text(report + "\n")
            log("report written to %s" % OUTPUT)
        except Exception as e:  # noqa: BLE001 - a partial run still says what it has
            log("no report: %r" % (e,))
        if os.environ.get("BENCH_KEEP") == "1":
            log("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# --- the report -----------------------------------------------------------------------------------


def kib(x):
    return "—" if x is None else ("%.1f KiB" % x if abs(x) < 1024 else "%.1f MiB" % (x / 1024))


def render(R):
    info = R["info"]
    out = []
    w = out.append
    w("# openkonnect data-plane benchmark")
    w("")
    w("Generated by `bench/dataplane_suite.py` on %s (UTC). Suite wall time: **%s**.%s" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), fmt_duration(R["suite_s"]),
        "" if SCALE >= 1 else " **Scale %g** (BENCH_SCALE): fewer entities, not comparable with full runs." % SCALE))
    w("")
    w("Machine: %d CPUs (%s), %s RAM, Linux %s; %s, %s, Python %s, websockets %s." % (
        info["nproc"], info["cpu"], info["mem"], info["kernel"], info["openkonnect"], info["wrk"], info["python"],
        websockets.__version__))
    w("")
    w("Measured: %s." % info["source"])
    w("")
    w("Load average (1 min) at the start: %.1f; at the end: %.1f. The machine is shared and noisy: read every "
      "figure against its baseline, measured in this run. Server and emulated data planes share the %d CPUs." % (
          R["load_start"], R["load_end"], info["nproc"]))
    w("")
    w("Command: `BENCH_ONLY=dataplane bash bench/run.sh` (or `OPENKONNECT_BENCH_BIN=build/openkonnect "
      "/usr/bin/python3 bench/dataplane_suite.py`); server flags: `serve --cluster-listen 127.0.0.1:PORT "
      "--cluster-debounce-ms %d --rate-limit-token 0 --rate-limit-org 0 --rate-limit-auth-failures 0 "
      "--rate-limit-invites 0`; %s entities; %d emulated data planes, %d connecting at once, sharing one pinned "
      "client certificate." % (DEBOUNCE_MS, n_(TOTAL), N_DPS, CONNECTING))
    w("")
    notes = []

    w("## Targets")
    w("")
    w("| target | measured | baseline, same run | ratio | met |")
    w("|---|---|---|---|---|")
    rounds = R.get("rounds") or []
    C = R.get("connect")
    M = R.get("memory")
    T = R.get("tls")
    if rounds:
        maxes = [x.get("max_s") for x in rounds]
        all_in = all(x.get("max_s") is not None and x["received"] == x["n"] and x["max_s"] <= TARGET_PROPAGATION_S
                     for x in rounds)
        worst = max((m for m in maxes if m is not None), default=None)
        writes = [x["write_ms"] for x in rounds]
        w("| %d data planes all hold a change within %g s of the API's 2xx (%d changes) | max %s (per change: %s); "
          "p99 %s; %s | the write's own latency %s; debounce %d ms | max − debounce: %s; max / write latency: %s | "
          "%s |" % (
              rounds[0]["n"], TARGET_PROPAGATION_S, len(rounds), fmt_s(worst),
              ", ".join(fmt_s(m) for m in maxes), ", ".join(fmt_s(x.get("p99_s")) for x in rounds),
              "all received" if all(x["received"] == x["n"] for x in rounds) else
              "**%s received**" % ", ".join("%d/%d" % (x["received"], x["n"]) for x in rounds),
              ", ".join("%.1f ms" % v for v in writes), DEBOUNCE_MS,
              ", ".join(fmt_s(m - DEBOUNCE_MS / 1000.0) if m is not None else "—" for m in maxes),
              ", ".join(fmt_x(m / (x["write_ms"] / 1000.0)) if m is not None else "—" for m, x in zip(maxes, rounds)),
              verdict(all_in)))
        if not all_in:
            notes.append("**Propagation missed**: see the rounds below for what the server and the client spent.")
    if M:
        ok = M["per_dp_kib"] <= TARGET_KIB_PER_DP and M["n"] == N_DPS
        base = ""
        ratio = "—"
        if T and T.get("ok"):
            base = "%s per plain TLS connection (client certificate, nothing sent; a fresh server)%s" % (
                kib(T["per_conn_kib"]), "" if T["valid"] else " **(not valid, see below)**")
            ratio = "%s the TLS connection's; %s the target" % (
                fmt_x(M["per_dp_kib"] / T["per_conn_kib"]) if T["per_conn_kib"] > 0 else "—",
                fmt_x(M["per_dp_kib"] / TARGET_KIB_PER_DP))
        w("| memory per idle data-plane connection ≤ %g KiB | **%s** (VmRSS %s → %s with %d idle data planes "
          "holding the configuration) | %s | %s | %s |" % (
              TARGET_KIB_PER_DP, kib(M["per_dp_kib"]), kib(M["before_kib"]), kib(M["idle_kib"]), M["n"],
              base or "—", ratio, verdict(ok)))
        if not ok:
            notes.append("**Memory per data plane missed** by %s (%s the target)." % (
                kib(M["per_dp_kib"] - TARGET_KIB_PER_DP), fmt_x(M["per_dp_kib"] / TARGET_KIB_PER_DP)))
    if R.get("renders"):
        r0 = R["renders"][0]
        w("| render+gzip of %s entities (informational: no target) | first render, cold: %.0f ms (from the write's "
          "2xx to `expected-config-hash` answering); the next: %s | the same GET when fresh: %.2f ms; the write: "
          "%.1f ms | %s the fresh GET | — |" % (
              n_(TOTAL + 1), r0["cold_ms"], ", ".join("%.0f ms" % x["cold_ms"] for x in R["renders"][1:]),
              r0["fresh_ms"], r0["write_ms"], fmt_x(r0["cold_ms"] / r0["fresh_ms"]) if r0["fresh_ms"] else "—"))
    w("")
    for n in notes + ["**Skipped**: " + "; ".join(R["skipped"]) + "."] * bool(R["skipped"]):
        w("- " + n)
        w("")

    F = R.get("frame")
    if F:
        w("## The configuration")
        w("")
        w("| | |")
        w("|---|---:|")
        w("| entities in the `reconfigure` frame | %s |" % n_(F["entities"]))
        w("| frame, gzip'd (what each data plane is sent) | %s bytes (%s) |" % (n_(F["gzip_bytes"]),
                                                                            kib(F["gzip_bytes"] / 1024)))
        w("| inflated JSON | %s bytes (%s); gzip ratio %.1f× |" % (n_(F["json_bytes"]), kib(F["json_bytes"] / 1024),
                                                                  F["json_bytes"] / F["gzip_bytes"]))
        w("| inflate + parse in the emulator (Python), once | %.0f ms |" % (1000 * F["decode_s"]))
        w("")
    if R.get("load"):
        load = R["load"]
        wall = sum(x["wall_s"] for x in load)
        w("Load: %s entities PUT in %s (%s), `wrk -t2 -c10 -s bench/lua/config_put.lua`; non-2xx: %d." % (
            n_(sum(x["count"] for x in load)), fmt_s(wall),
            ", ".join("%s %s %s" % (n_(x["count"]), x["kind"], fmt_s(x["wall_s"])) for x in load),
            sum(x["put_non2xx"] or 0 for x in load)))
        w("")
    if R.get("renders"):
        w("## (a) Render, cold")
        w("")
        w("One route POSTed, then `GET …/expected-config-hash`, which renders (no data plane was connected, so "
          "nothing rendered the configuration since the previous change), then the same GET once more (fresh: "
          "nothing to render).")
        w("")
        w("| | POST route (2xx) | GET expected-config-hash, rendering | same GET, fresh | render / fresh GET |")
        w("|---|---:|---:|---:|---:|")
        for i, x in enumerate(R["renders"]):
            w("| %s | %.1f ms | %.0f ms | %.2f ms | %s |" % (
                "first (cold)" if i == 0 else "again (%d)" % (i + 1), x["write_ms"], x["cold_ms"], x["fresh_ms"],
                fmt_x(x["cold_ms"] / x["fresh_ms"]) if x["fresh_ms"] else "—"))
        w("")
    if C:
        w("## (b) Connect and first configuration")
        w("")
        w("| | |")
        w("|---|---:|")
        w("| data planes holding the configuration | %d of %d%s |" % (
            C["ok"], C["n"], " (**bound of %.0f s reached**)" % C["bound_s"] if C["timed_out"] else ""))
        w("| all of them: first connect → last configuration received | %s |" % fmt_s(C["wall_s"]))
        if C["ok"]:
            w("| TLS + upgrade + basic_info sent, per data plane: p50 / p99 | %s / %s |" % (
                fmt_ms(1000 * C["connect_p50"]), fmt_ms(1000 * C["connect_p99"])))
            w("| connect → configuration received, per data plane: p50 / p99 / max | %s / %s / %s |" % (
                fmt_ms(1000 * C["first_p50"]), fmt_ms(1000 * C["first_p99"]), fmt_ms(1000 * C["first_max"])))
        w("| configurations pushed (server's counter), bytes | %s, %s |" % (
            n_(int(C.get("pushes", 0))), kib(C.get("push_bytes", 0) / 1024)))
        w("| server CPU; emulator CPU; machine busy | %.1f s (%.2f cores); %.1f s; %.0f%% |" % (
            C["server_cpu_s"], C["server_cores"], C["client_cpu_s"], 100 * C["machine_busy"]))
        if T and T.get("ok"):
            w("| baseline: %d plain TLS connections (same client certificate), first → last handshake; p50 per "
              "handshake | %s; %s |" % (T["ok"], fmt_s(T["wall_s"]), fmt_ms(1000 * (T["handshake_p50"] or 0))))
        if C["n_errors"]:
            w("| data planes with an error | %d: %s |" % (C["n_errors"], "; ".join(C["errors"])))
        w("")
    if M:
        w("## (c) Memory")
        w("")
        w("| | |")
        w("|---|---:|")
        w("| server VmRSS idle after start (empty database) | %s |" % kib(R["rss_idle_kib"]))
        w("| VmRSS before the first data plane (10 000 entities loaded, configuration rendered) | %s |" % kib(
            M["before_kib"]))
        w("| VmRSS with %d data planes idle %g s after the last got its configuration (median of 5) | %s |" % (
            M["n"], SETTLE_S, kib(M["idle_kib"])))
        w("| **per data plane** | **%s** |" % kib(M["per_dp_kib"]))
        w("| peak of the 50 ms samples while connecting; VmHWM then | %.1f MiB; %s |" % (
            M["peak_sampled_mib"], kib(M["hwm_kib"])))
        w("| open file descriptors of the server | %d |" % M["open_fds"])
        if R.get("rss_after_rounds_kib"):
            w("| VmRSS after the propagation rounds | %s |" % kib(R["rss_after_rounds_kib"]))
        if T:
            w("| baseline: a fresh server's VmRSS, idle → with %d plain TLS connections (%.1f s after the first)%s | "
              "%s → %s: **%s per connection** |" % (
                  T["ok"], T["measured_at_s"], "" if T["valid"] else " **not valid**", kib(T["before_kib"]),
                  kib(T["after_kib"]), kib(T["per_conn_kib"])))
        w("")
    if rounds:
        w("## (d) Propagation and (e) agreement")
        w("")
        w("Each round: one route POSTed (`POST …/core-entities/routes`); per data plane, from the API's 2xx to "
          "the `reconfigure` frame with the new hash received in full. Then `GET …/expected-config-hash` and "
          "`GET …/nodes?page[size]=1000` (every page, polled every 250 ms until every node's pinged hash is the "
          "expected one, at most %d s)." % NODES_BOUND_S)
        w("")
        w("| round | POST 2xx | received | p50 | p99 | max | max − debounce | ≤ %g s | hold expected hash | nodes API "
          "agrees (after) | renders, pushes | server CPU (cores) | emulator CPU | machine busy |" % TARGET_PROPAGATION_S)
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for x in rounds:
            has = x.get("max_s") is not None
            nd = x["nodes"]
            w("| %d | %.1f ms | %d / %d | %s | %s | %s | %s | %s | %d / %d | %s (%.2f s) | %d, %d | %.2f s (%.2f) | "
              "%.2f s | %.0f%% |" % (
                  x["round"], x["write_ms"], x["received"], x["n"],
                  fmt_ms(1000 * x["p50_s"]) if has else "—", fmt_ms(1000 * x["p99_s"]) if has else "—",
                  fmt_ms(1000 * x["max_s"]) if has else "—",
                  fmt_ms(1000 * x["max_s"] - DEBOUNCE_MS) if has else "—",
                  "%d" % x.get("within", 0), x["holding_expected"], x["n"],
                  ("**yes**" if nd.get("ok") else "**NO** (%s of %s match)" % (nd.get("matching"), nd.get("seen"))),
                  nd.get("after_s", 0), x["renders"], x["pushes"], x["server_cpu_s"], x["server_cores"],
                  x["client_cpu_s"], 100 * x["machine_busy"]))
        w("")
        w("Emulator: %d distinct frames inflated and parsed, %d recognised byte for byte; pong timeouts: %d; data "
          "planes closed by the server before the end: %d%s%s." % (
              R["decoder"]["parsed"], R["decoder"]["compared"], R["pong_timeouts"], R["closed_early"],
              " (%s)" % "; ".join(R["closed_reasons"]) if R["closed_reasons"] else "",
              "; errors: " + "; ".join(R["client_errors"]) if R["client_errors"] else ""))
        w("")
    if "server_alive" in R:
        w("Server alive at the end: %s; VmHWM at the end: %s." % ("yes" if R["server_alive"] else "**NO**",
                                                                 kib(R.get("hwm_end_kib"))))
        w("")
    return "\n".join(out)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    main()
