"""What bench/suite.py and bench/config_suite.py share: logging, ports and processes, /proc
readings, wrk's output, the machine's description and number formats."""

import datetime
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time

# Every Popen a suite started; each suite stops what is left in its main()'s finally.
_started = []


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(port, path="/healthz"):
    """Status of one GET over a fresh connection, or None when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
    except OSError:
        return None
    if not data.startswith(b"HTTP/"):
        return None
    return int(data.split(b" ", 2)[1])


def stop_process(proc, timeout=30, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in _started:
        _started.remove(proc)


def proc_status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/%d/status" % (field, pid))


def loadavg():
    """The 1-minute load average (a suite's own wrk and server count: about 2-3 while measuring)."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_wrk(out):
    r = {"rps": None, "p50_ms": None, "p99_ms": None, "requests": None, "non2xx": 0, "socket_errors": None}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if m:
        r["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+(\S+)" % pct, out, re.M)
        if m:
            r[key] = _ms(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    r["socket_errors_text"] = m.group(0) if m else ""
    return r


def machine_info(bin_path, root):
    """The machine, the tools and the source measured (a suite's report header)."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])

    def first_line(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    commit = first_line(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    try:
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src", "CMakeLists.txt"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    built = datetime.datetime.fromtimestamp(os.stat(bin_path).st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    return {
        "source": "commit %s%s; binary %s, built %s UTC" % (
            commit, " with uncommitted changes under src/ or to CMakeLists.txt" if dirty else "", bin_path, built),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem": "%.1f GiB" % (mem_kib / 1024 / 1024),
        "kernel": platform.release(),
        "openkonnect": first_line([bin_path, "version"]),
        "wrk": first_line(["wrk", "--version"]).split(" [")[0],
        "nginx": first_line(["nginx", "-v"]),
        "sqlite": first_line(["sqlite3", "--version"]).split(" ")[0],
        "python": platform.python_version(),
    }


def fmt_num(x):
    return "—" if x is None else "{:,.0f}".format(x)


def fmt_ms(x):
    if x is None:
        return "—"
    return "%.2f ms" % x if x < 100 else "%.0f ms" % x


def fmt_duration(s):
    return "%dm %02ds" % (int(s) // 60, int(s) % 60) if s >= 60 else "%.1fs" % s


def verdict(ok):
    return "—" if ok is None else ("**yes**" if ok else "**NO**")


def _terminate(signum, frame):
    """SIGTERM/SIGINT: leave through main()'s finally, which stops what the suite started."""
    raise SystemExit("interrupted by signal %d" % signum)


def cpu_s(pid):
    """CPU seconds (user + system) process `pid` has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
