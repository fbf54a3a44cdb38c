#!/usr/bin/python3
"""What the audit log costs (issue 16): authenticated reads and durable creates with audit on
against the same with `--no-audit`, in one run; the target is at most 10 % fewer requests/s.

Run it through bench/run.sh (`BENCH_ONLY=audit bash bench/run.sh`), or directly:
`OPENKONNECT_BENCH_BIN=build/openkonnect /usr/bin/python3 bench/audit_suite.py`.

One SQLite database with an organization and 200 control planes (made through the API). Then
BENCH_AUDIT_ROUNDS rounds (default 3); each round starts one `openkonnect serve` at a time on that
database, in an order that alternates between rounds so that drift on this shared machine hits
every configuration alike:

- `--no-audit`: nothing recorded (the baseline);
- audit on (the default): every request's record appended to the journal and stored in SQLite
  every 100 ms, with no webhook;
- audit on and delivered: the organization's webhook enabled, pointing at a local nginx that
  answers 200, so records are also read back, rendered, signed, gzipped and POSTed.

On each server, `wrk -t2 -c64 -d<BENCH_AUDIT_DURATION, default 8>s --latency` after a 2 s warm-up:
`GET /v2/control-planes/{id}` (bench/lua/get.lua, the admin's PAT, the 200 ids rotated), then
`POST /v2/control-planes` (bench/lua/post_control_plane.lua, durable 201s). A configuration's
figure is the mean of its rounds; the ratio is against `--no-audit` of the same run.

Writes a markdown report to bench/results/audit-latest.md (BENCH_AUDIT_OUTPUT to change)."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_common import (_started, _terminate, cpu_s, fmt_duration, fmt_ms, fmt_num, free_port, http_status,  # noqa: E402
                          log, machine_info, parse_wrk, stop_process)

ROOT = BENCH.parent
LUA = BENCH / "lua"
BIN = os.environ.get("OPENKONNECT_BENCH_BIN") or str(ROOT / "build" / "openkonnect")
OUTPUT = os.environ.get("BENCH_AUDIT_OUTPUT") or str(BENCH / "results" / "audit-latest.md")
DURATION = int(os.environ.get("BENCH_AUDIT_DURATION", "8"))
ROUNDS = int(os.environ.get("BENCH_AUDIT_ROUNDS", "3"))
WARMUP = 2
THREADS, CONNECTIONS = 2, 64
CONTROL_PLANES = 200
NO_LIMITS = ["--rate-limit-token", "0", "--rate-limit-org", "0", "--rate-limit-auth-failures", "0",
             "--rate-limit-invites", "0", "--cluster-listen", "off"]
CONFIGS = (("off", "--no-audit (baseline)"), ("on", "audit on, no webhook"),
           ("delivered", "audit on, delivered to a local webhook"))
SCENARIOS = (("read", "GET /v2/control-planes/{id}"), ("create", "POST /v2/control-planes (durable 201)"))


def start_nginx(workdir):
    """A webhook receiver that answers 200 to anything: nginx, one worker, the body discarded."""
    prefix = os.path.join(workdir, "nginx")
    os.makedirs(os.path.join(prefix, "logs"))
    port = free_port()
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""worker_processes 1;
daemon off;
pid {p}/nginx.pid;
error_log {p}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_max_body_size 64m;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    server {{ listen 127.0.0.1:{port}; location / {{ return 200; }} }}
}}
""".format(p=prefix, port=port))
    proc = subprocess.Popen(["nginx", "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "logs", "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _started.append(proc)
    deadline = time.time() + 10
    while http_status(port, "/") != 200:
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("nginx did not start")
        time.sleep(0.01)
    return proc, "http://127.0.0.1:%d/audit" % port


def serve(workdir, db, key, extra):
    port = free_port()
    args = [BIN, "serve", "--listen", "127.0.0.1:%d" % port, "--database", db, *NO_LIMITS, *extra]
    stderr = open(os.path.join(workdir, key + ".stderr.log"), "ab")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)
    _started.append(proc)
    deadline = time.time() + 30
    while http_status(port) != 200:
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("the server did not start: %s" % " ".join(args))
        time.sleep(0.02)
    return proc, port


def wrk(url, script, env, duration):
    return ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % duration, "--timeout", "10s", "--latency",
            "-s", str(LUA / script), url]


def drain_seconds(db, limit=120):
    """Seconds until delivery's cursor reaches the last record stored (the backlog the load left)."""
    path = db[len("sqlite:"):]
    t0 = time.time()
    while time.time() - t0 < limit:
        with sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10) as c:
            last = c.execute("SELECT COALESCE(MAX(last_seq), 0) FROM audit_records").fetchone()[0]
            row = c.execute("SELECT body FROM audit_settings WHERE kind = 'delivery'").fetchone()
        cursor = json.loads(row[0]).get("cursor", 0) if row else 0
        # Records are stored every 100 ms: the last one is stored once the journal is read.
        if cursor >= last and time.time() - t0 > 0.3:
            return time.time() - t0
        time.sleep(0.1)
    return float("inf")


def measure(workdir, db, token, ids_file, config, round_no, webhook_url):
    extra = ["--no-audit"] if config == "off" else []
    proc, port = serve(workdir, db, "%s-%d" % (config, round_no), extra)
    base = "http://127.0.0.1:%d" % port
    try:
        headers = {"Authorization": "Bearer " + token}
        webhook = {"enabled": config == "delivered"}
        if config == "delivered":
            webhook.update(endpoint=webhook_url, log_format="json")
        resp = requests.patch(base + "/v2/audit-log-webhook", json=webhook, headers=headers, timeout=10)
        if resp.status_code != 200:
            raise RuntimeError("webhook not set: %s" % resp.text)
        tokens = os.path.join(workdir, "token.txt")
        out = {}
        for scenario, _ in SCENARIOS:
            if scenario == "read":
                script = "get.lua"
                env = dict(os.environ, BENCH_PATH="/v2/control-planes/{id}", BENCH_TOKENS_FILE=tokens,
                           BENCH_IDS_FILE=ids_file)
                warm_env = env
            else:
                script = "post_control_plane.lua"
                nonce = "%s%d-%d" % (config, round_no, int(time.time()))
                env = dict(os.environ, BENCH_TOKEN=token, BENCH_NONCE=nonce + "r")
                warm_env = dict(env, BENCH_NONCE=nonce + "w")
            subprocess.run(wrk(base + "/", script, warm_env, WARMUP), env=warm_env, capture_output=True,
                           timeout=WARMUP + 30)
            cmd = wrk(base + "/", script, env, DURATION)
            cpu0, t0 = cpu_s(proc.pid), time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=DURATION + 60)
            wall = time.perf_counter() - t0
            r = parse_wrk(done.stdout + done.stderr)
            if done.returncode != 0 or not r["rps"] or r["non2xx"] or r["socket_errors"]:
                raise RuntimeError("%s %s: wrk exited %d, non-2xx %s: %s" % (
                    config, scenario, done.returncode, r["non2xx"], (done.stdout + done.stderr)[-500:]))
            r["server_cores"] = (cpu_s(proc.pid) - cpu0) / wall
            r["cmd"] = " ".join(cmd[:-1] + ["URL"])
            out[scenario] = r
            log("round %d, %-9s %-7s %10s req/s  p50 %8s  p99 %8s  server %.2f cores" % (
                round_no, config, scenario, fmt_num(r["rps"]), fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
                r["server_cores"]))
        if config == "delivered":
            out["drain_s"] = drain_seconds(db)
            status = requests.get(base + "/v2/audit-log-webhook/status", headers=headers, timeout=10).json()
            out["webhook_status"] = status
            log("round %d, delivered: the backlog was delivered %.1f s after the load stopped" % (
                round_no, out["drain_s"]))
        return out
    finally:
        stop_process(proc)


def main():
    signal.signal(signal.SIGTERM, _terminate)
    started = time.time()
    workdir = tempfile.mkdtemp(prefix="ok-bench-audit-")
    results = {config: [] for config, _ in CONFIGS}
    try:
        db = "sqlite:" + os.path.join(workdir, "audit.db")
        org = json.loads(subprocess.run([BIN, "org", "create", "--database", db, "--name", "bench-audit",
                                         "--admin-email", "admin@audit.bench.example"], capture_output=True,
                                        text=True, timeout=60, check=True).stdout)
        with open(os.path.join(workdir, "token.txt"), "w") as f:
            f.write(org["token"] + "\n")
        proc, port = serve(workdir, db, "seed", ["--no-audit"])
        ids = []
        with requests.Session() as s:
            s.headers["Authorization"] = "Bearer " + org["token"]
            for i in range(CONTROL_PLANES):
                resp = s.post("http://127.0.0.1:%d/v2/control-planes" % port, json={"name": "seed-%d" % i}, timeout=10)
                resp.raise_for_status()
                ids.append(resp.json()["id"])
        stop_process(proc)
        ids_file = os.path.join(workdir, "ids.txt")
        with open(ids_file, "w") as f:
            f.write("\n".join(ids) + "\n")
        nginx, webhook_url = start_nginx(workdir)
        load0 = os.getloadavg()[0]
        order = [config for config, _ in CONFIGS]
        for round_no in range(1, ROUNDS + 1):
            for config in (order if round_no % 2 else list(reversed(order))):
                results[config].append(measure(workdir, db, org["token"], ids_file, config, round_no, webhook_url))
        load1 = os.getloadavg()[0]
        stop_process(nginx)
    finally:
        for proc in list(_started):
            stop_process(proc)
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, load0, load1, time.time() - started)


def mean(values):
    return sum(values) / len(values)


def report(results, load0, load1, wall):
    info = machine_info(BIN, ROOT)
    first = results["off"][0]["read"]
    lines = ["# openkonnect: what the audit log costs", "",
             "Generated by `bench/audit_suite.py` on %s (UTC). Suite wall time: **%s**." % (
                 time.strftime("%Y-%m-%d %H:%M", time.gmtime()), fmt_duration(wall)), "",
             "Machine: %d CPUs (%s), %s RAM; %s; %s." % (info["nproc"], info["cpu"], info["mem"], info["openkonnect"],
                                                       info["wrk"]),
             "Measured: %s. Load average (1 min) at the start: %.1f; at the end: %.1f. The server, wrk (and nginx as "
             "the webhook) share the machine's cores: read each figure against `--no-audit` of this run." % (
                 info["source"], load0, load1), "",
             "Command: `BENCH_ONLY=audit bash bench/run.sh`; %d rounds, each configuration once per round in an order "
             "that alternates; each run `%s` after a %d s warm-up." % (ROUNDS, first["cmd"], WARMUP), "",
             "| scenario | configuration | req/s (mean of rounds) | each round | against --no-audit | p50 | p99 | "
             "server cores | target |",
             "|---|---|---:|---|---:|---:|---:|---:|---|"]
    verdicts = []
    for scenario, scenario_label in SCENARIOS:
        base = mean([r[scenario]["rps"] for r in results["off"]])
        for config, label in CONFIGS:
            runs = [r[scenario] for r in results[config]]
            rps = mean([r["rps"] for r in runs])
            target = "—"
            if config == "on":
                met = rps / base >= 0.90
                verdicts.append(met)
                target = "≥ 0.90× (%s)" % ("met" if met else "**NOT met**")
            lines.append("| %s | %s | %s | %s | %.2f× | %s | %s | %.2f | %s |" % (
                scenario_label, label, fmt_num(rps), ", ".join(fmt_num(r["rps"]) for r in runs), rps / base,
                fmt_ms(mean([r["p50_ms"] for r in runs])), fmt_ms(mean([r["p99_ms"] for r in runs])),
                mean([r["server_cores"] for r in runs]), target))
    statuses = [r["webhook_status"] for r in results["delivered"]]
    lines += ["", "The delivered runs' webhook status at their end: %s. Delivery had not kept up with the load: "
              "what it left was delivered %s s after the load stopped (each round)." % (
                  "; ".join("%s, last answer %s" % (s["webhook_status"], s["last_response_code"]) for s in statuses),
                  ", ".join("%.1f" % r["drain_s"] for r in results["delivered"])), ""]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
