#!/usr/bin/python3
"""Connect-to-greeting latency of the health service under master.

Starts its own Tern (from $TERN_PREFIX) in a temporary directory, listening on
a free 127.0.0.1 port, and measures N sequential connections (default 1000):
the time from connect() to the complete "220 ..." line, then QUIT. It does so
with service_prefork=1 and service_prefork=0, each with max_use large (children
are reused) and with max_use=1 (every connection needs a fresh child), and
prints the median, p90, p99 and maximum in milliseconds, plus master's
resident memory (VmRSS).

    TERN_PREFIX=/path/to/inst bench/connect_latency.py [-n 1000]
"""
import argparse
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def hello(port, timeout=10.0):
    """One session; returns the connect-to-greeting time in seconds."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        f = s.makefile("rb")
        line = f.readline()
        t1 = time.perf_counter()
        if not line.startswith(b"220 "):
            raise RuntimeError(f"unexpected greeting {line!r}")
        s.sendall(b"QUIT\r\n")
        f.readline()
        f.close()
    return t1 - t0


class Instance:
    def __init__(self, prefix, base, prefork, max_use, services=1):
        self.base = base
        self.port = free_port()
        etc = base / "etc"
        etc.mkdir(parents=True)
        params = {
            "queue_directory": base / "queue",
            "data_directory": base / "data",
            "store_directory": base / "data" / "store",
            "daemon_directory": prefix / "libexec" / "tern",
            "log_to": base / "tern.log",
            "service_prefork": prefork,
            "max_use": max_use,
            "max_idle": "1h",
        }
        if os.geteuid() == 0:
            params["mail_owner"] = params["store_owner"] = "nobody"
        (etc / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in params.items()))
        lines = [f"127.0.0.1:{self.port} inet n - n - 4 health"]
        # Extra services, to see what master's memory costs per service.
        for i in range(1, services):
            lines.append(f"127.0.0.1:{free_port()} inet n - n - 4 health")
        (etc / "master.cf").write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(
            [str(prefix / "libexec" / "tern" / "master"), "-f", "-c", str(etc)],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                hello(self.port, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("Tern did not start; see " + str(base / "tern.log"))
                time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def percentile(sorted_values, p):
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def measure(prefix, tmp, prefork, max_use, n):
    inst = Instance(prefix, tmp / f"p{prefork}-u{max_use}", prefork, max_use)
    try:
        times = sorted(hello(inst.port) for _ in range(n))
    finally:
        inst.stop()
    ms = [t * 1000 for t in times]
    return {
        "median": statistics.median(ms),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "max": ms[-1],
    }


def master_rss(prefix, tmp, services):
    inst = Instance(prefix, tmp / f"rss{services}", 1, 100, services=services)
    try:
        time.sleep(0.5)
        return vm_rss_kib(inst.proc.pid)
    finally:
        inst.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="connections per configuration")
    args = ap.parse_args()
    if not 1 <= args.n <= 100000:
        ap.error("-n must be from 1 to 100000")
    prefix = os.environ.get("TERN_PREFIX")
    if not prefix:
        sys.exit("TERN_PREFIX is not set: point it at an installed Tern tree")
    prefix = pathlib.Path(prefix)
    with tempfile.TemporaryDirectory(prefix="tern-bench-") as d:
        tmp = pathlib.Path(d)
        os.chmod(tmp, 0o755)
        print(f"connect-to-greeting latency, {args.n} sequential connections (ms)")
        print(f"{'configuration':<34} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8}")
        for max_use in (1000000, 1):
            for prefork in (1, 0):
                r = measure(prefix, tmp, prefork, max_use, args.n)
                name = f"service_prefork={prefork} max_use={max_use}"
                print(
                    f"{name:<34} {r['median']:8.3f} {r['p90']:8.3f} {r['p99']:8.3f}"
                    f" {r['max']:8.3f}",
                    flush=True,
                )
        print()
        print("master VmRSS (KiB), health services with prefork=1")
        for services in (1, 5, 20):
            print(f"  {services:>2} services: {master_rss(prefix, tmp, services)}")


if __name__ == "__main__":
    main()
