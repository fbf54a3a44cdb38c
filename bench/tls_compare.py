#!/usr/bin/python3
"""TLS on the API listener against plain HTTP, measured in one run on loopback:

  /usr/bin/python3 bench/tls_compare.py        # about 3 minutes; needs wrk and openssl (nginx, curl optional)

Two servers on one fresh database, one plain (`serve`), one TLS (`serve --tls-cert --tls-key`,
a P-256 self-signed certificate made by `openssl req` in a temporary directory). An organization
is created with `openkonnect org create`; its admin token authenticates every request. When
nginx is installed, it serves the same body on a plain and a TLS port (same certificate, same
TLS 1.2 ciphers, one worker): what TLS costs a server that does nothing else.

1. Authenticated GET throughput, keep-alive: `GET /v3/users/me` with
   `wrk -t2 -c20 -d10s --timeout 10s --latency -s bench/lua/get.lua` (BENCH_PATH=/v3/users/me,
   BENCH_TOKENS_FILE=the token), after a 2 s warm-up; BENCH_ROUNDS rounds (default 3), each
   measuring plain then TLS (then nginx plain, nginx TLS), so that drift on this shared machine
   hits all alike. The ratio is TLS req/s over plain req/s, each the mean of its rounds.
2. A new connection per request: `wrk -t2 -c20 -d5s -H "Authorization: Bearer …"
   -H "Connection: close"`, once each: what a full handshake costs.
3. Memory of idle connections: the openkonnect servers' RSS growth while 500 keep-alive
   connections that have each made one request sit idle.

Environment: OPENKONNECT_BENCH_BIN (binary, default build/openkonnect), BENCH_DURATION (seconds
of each keep-alive run, default 10), BENCH_ROUNDS. Prints a markdown report to stdout. Every wrk
run is bounded by -d, and every process it starts is stopped at the end.
"""

import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (_started, _terminate, fmt_ms, fmt_num, free_port, loadavg, log, machine_info,  # noqa: E402
                          parse_wrk, proc_status_kib, stop_process)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = os.environ.get("OPENKONNECT_BENCH_BIN") or str(ROOT / "build" / "openkonnect")
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CLOSE_DURATION = 5
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARMUP = 2
CONNECTIONS = 20
IDLE_CONNECTIONS = 500
PATH = "/v3/users/me"


def start_server(workdir, name, db, port, extra=()):
    args = [BIN, "serve", "--listen", "127.0.0.1:%d" % port, "--database", "sqlite:" + db,
            "--rate-limit-token", "0", "--rate-limit-org", "0", "--rate-limit-auth-failures", "0",
            "--rate-limit-invites", "0", "--shutdown-grace-ms", "2000", *extra]
    with open(os.path.join(workdir, name + ".stderr.log"), "ab") as stderr:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)
    _started.append(proc)
    return proc


def connect(port, tls_context):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return tls_context.wrap_socket(sock, server_hostname="127.0.0.1") if tls_context else sock


def healthz(port, tls_context):
    """Status of GET /healthz over a new connection, or None."""
    try:
        with connect(port, tls_context) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
    except OSError:
        return None
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None


def wait_healthy(proc, port, tls_context, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthz(port, tls_context) == 200:
            return
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        time.sleep(0.02)
    raise RuntimeError("server did not answer /healthz")


def wrk(url, args, env=None, duration=DURATION, warmup=WARMUP):
    base = ["wrk", "-t2", "-c%d" % CONNECTIONS, "--timeout", "10s"]
    full_env = dict(os.environ, **(env or {}))
    if warmup:
        subprocess.run([*base, "-d%ds" % warmup, *args, url], env=full_env, capture_output=True, timeout=warmup + 30)
    cmd = [*base, "-d%ds" % duration, "--latency", *args, url]
    done = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=duration + 60)
    r = parse_wrk(done.stdout + done.stderr)
    if r["rps"] is None:
        raise RuntimeError("wrk failed: %s" % (done.stdout + done.stderr)[-1000:])
    return r


def idle_rss_growth_kib(proc, port, tls_context):
    """KiB of RSS per idle keep-alive connection: IDLE_CONNECTIONS connections each make one
    request, then sit idle for a second."""
    before = proc_status_kib(proc.pid, "VmRSS")
    conns = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            s = connect(port, tls_context)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while True:
                head, sep, body = data.partition(b"\r\n\r\n")
                if sep and len(body) >= int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0]):
                    break
                chunk = s.recv(4096)
                if not chunk:
                    raise RuntimeError("closed while measuring idle connections")
                data += chunk
            conns.append(s)
        time.sleep(1)
        return (proc_status_kib(proc.pid, "VmRSS") - before) / IDLE_CONNECTIONS
    finally:
        for s in conns:
            s.close()


NGINX_CONF = """worker_processes 1;
daemon off;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    client_body_temp_path {p}/client_body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers {ciphers};
    ssl_prefer_server_ciphers on;
    server {{
        listen 127.0.0.1:{plain};
        listen 127.0.0.1:{tls} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""
# The TLS 1.2 list of src/http/tls.cpp, so that both servers negotiate alike.
TLS12_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")


def start_nginx(workdir, cert, key, body):
    """nginx, one worker, a fixed body on a plain and a TLS port (same certificate): what TLS
    costs a server that does nothing else. Returns (process, plain port, TLS port), or None
    when nginx is not installed."""
    if not shutil.which("nginx"):
        return None
    prefix = os.path.join(workdir, "nginx")
    os.makedirs(prefix)
    plain, tls = free_port(), free_port()
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(p=prefix, plain=plain, tls=tls, cert=cert, key=key, body=body,
                                  ciphers=TLS12_CIPHERS))
    with open(os.path.join(prefix, "stderr.log"), "wb") as stderr:
        proc = subprocess.Popen(["nginx", "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log")],
                            stdout=subprocess.DEVNULL, stderr=stderr)
    _started.append(proc)
    return proc, plain, tls


def main():
    signal.signal(signal.SIGTERM, _terminate)
    workdir = tempfile.mkdtemp(prefix="ok-tls-bench-")
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    client_tls = ssl.create_default_context(cafile=cert)
    db = os.path.join(workdir, "openkonnect.db")
    plain_port, tls_port = free_port(), free_port()
    # (label, URL, wrk arguments for keep-alive, wrk arguments for a new connection per request)
    targets = []
    try:
        org = subprocess.run([BIN, "org", "create", "--database", "sqlite:" + db, "--name", "bench",
                              "--admin-email", "admin@bench.test"], check=True, capture_output=True, text=True,
                             timeout=30)
        token = org.stdout.split('"token":"')[1].split('"')[0]
        tokens_file = os.path.join(workdir, "tokens.txt")
        with open(tokens_file, "w") as f:
            f.write(token + "\n")
        plain = start_server(workdir, "plain", db, plain_port)
        tls = start_server(workdir, "tls", db, tls_port, ["--tls-cert", cert, "--tls-key", key])
        wait_healthy(plain, plain_port, None)
        wait_healthy(tls, tls_port, client_tls)
        body = subprocess.run(["curl", "-s", "-H", "Authorization: Bearer " + token,
                               "http://127.0.0.1:%d%s" % (plain_port, PATH)], capture_output=True, text=True,
                              timeout=10).stdout if shutil.which("curl") else '{"id":"x"}'
        script = ["-s", str(BENCH / "lua" / "get.lua")]
        close = ["-H", "Authorization: Bearer " + token, "-H", "Connection: close"]
        targets = [("openkonnect", "plain", "http://127.0.0.1:%d" % plain_port, PATH),
                   ("openkonnect", "tls", "https://127.0.0.1:%d" % tls_port, PATH)]
        nginx = start_nginx(workdir, cert, key, body.replace("'", ""))
        if nginx:
            _, nginx_plain, nginx_tls = nginx
            wait_healthy(nginx[0], nginx_plain, None)
            wait_healthy(nginx[0], nginx_tls, client_tls)
            targets += [("nginx", "plain", "http://127.0.0.1:%d" % nginx_plain, "/"),
                        ("nginx", "tls", "https://127.0.0.1:%d" % nginx_tls, "/")]
        load_before = loadavg()

        keepalive = {(server, mode): [] for server, mode, _, _ in targets}
        for round_ in range(1, ROUNDS + 1):
            for server, mode, url, path in targets:
                log("keep-alive, %s %s, round %d" % (server, mode, round_))
                env = {"BENCH_PATH": path, "BENCH_TOKENS_FILE": tokens_file if server == "openkonnect" else ""}
                keepalive[(server, mode)].append(wrk(url, script, env=env))
        per_request = {}
        for server, mode, url, path in targets:
            log("new connection per request, %s %s" % (server, mode))
            per_request[(server, mode)] = wrk(url + path, close, duration=CLOSE_DURATION)
        log("idle connections")
        idle = {"plain": idle_rss_growth_kib(plain, plain_port, None),
                "tls": idle_rss_growth_kib(tls, tls_port, client_tls)}
        load_after = loadavg()
    finally:
        for proc in list(_started):
            stop_process(proc)

    info = machine_info(BIN, ROOT)
    rps = {k: statistics.mean(r["rps"] for r in runs) for k, runs in keepalive.items()}
    errors = sum(r["non2xx"] + r["socket_errors"] for runs in keepalive.values() for r in runs)
    out = ["## TLS on the API listener (%s)" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "",
           "%s; %d × %s, %s, kernel %s; %s; %s. Load average %.1f before, %.1f after." % (
               info["source"], info["nproc"], info["cpu"], info["mem"], info["kernel"], info["wrk"], info["nginx"],
               load_before, load_after), "",
           "| | plain req/s | TLS req/s | TLS / plain | plain p50 / p99 | TLS p50 / p99 |",
           "|---|---:|---:|---:|---:|---:|"]

    def row(label, p, t):
        out.append("| %s | %s | %s | %.2f | %s / %s | %s / %s |" % (
            label, fmt_num(p["rps"]), fmt_num(t["rps"]), t["rps"] / p["rps"], fmt_ms(p["p50_ms"]),
            fmt_ms(p["p99_ms"]), fmt_ms(t["p50_ms"]), fmt_ms(t["p99_ms"])))

    servers = sorted({server for server, _, _, _ in targets}, key=lambda s: s != "openkonnect")
    for server in servers:
        what = "`GET %s`, admin PAT" % PATH if server == "openkonnect" else "fixed body"
        for i in range(ROUNDS):
            row("%s, %s, keep-alive, round %d" % (server, what, i + 1), keepalive[(server, "plain")][i],
                keepalive[(server, "tls")][i])
        out.append("| **%s, keep-alive, mean of %d** | **%s** | **%s** | **%.2f** | | |" % (
            server, ROUNDS, fmt_num(rps[(server, "plain")]), fmt_num(rps[(server, "tls")]),
            rps[(server, "tls")] / rps[(server, "plain")]))
    for server in servers:
        row("%s, new connection per request (`Connection: close`)" % server, per_request[(server, "plain")],
            per_request[(server, "tls")])
    out += ["", "Non-2xx answers and socket errors in the keep-alive runs: %d." % errors,
            "Idle keep-alive connections (%d, after one request each): %.1f KiB of RSS each plain, %.1f KiB TLS." % (
                IDLE_CONNECTIONS, idle["plain"], idle["tls"])]
    print("\n".join(out))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
