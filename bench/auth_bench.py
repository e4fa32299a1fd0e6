#!/usr/bin/python3
"""Password checks per second through the auth daemon, and its memory.

Starts its own Tern (from $TERN_PREFIX) in a temporary directory with the
auth service, creates one yescrypt and one argon2id account with ternadmin,
then for each scheme and each number of concurrent clients (default 1 and 2)
runs successful PLAIN logins for a fixed time (default 5 s), each client on
its own connection, one request after another. Prints checks per second and
the median and p99 latency, then the auth process's resident memory (VmRSS)
when idle and its peak (VmHWM) after the runs.

    TERN_PREFIX=/path/to/inst bench/auth_bench.py [-t 5] [-c 1,2] [--threads N]
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
import threading
import time

PASSWORD = "bench-password"
ACCOUNTS = {"yescrypt": "y@bench.example", "argon2id": "a@bench.example"}


def _netstring(data):
    return str(len(data)).encode() + b":" + data + b","


def encode(pairs):
    out = b""
    for name, value in pairs:
        if isinstance(value, int):
            value = str(value).encode()
        elif isinstance(value, str):
            value = value.encode()
        out += _netstring(name.encode()) + _netstring(value)
    return out + b"0:,"


class AuthConn:
    """A minimal client of the auth protocol (mail/auth_client.h)."""

    def __init__(self, path, timeout=60.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""
        if self.read().get("protocol") != b"auth":
            raise RuntimeError("not the auth service")

    def _netstring(self):
        while b":" not in self.buf:
            self._fill()
        colon = self.buf.index(b":")
        length = int(self.buf[:colon])
        while len(self.buf) < colon + length + 2:
            self._fill()
        value = self.buf[colon + 1 : colon + 1 + length]
        self.buf = self.buf[colon + 2 + length :]
        return value

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("auth closed the connection")
        self.buf += data

    def read(self):
        record = {}
        while True:
            name = self._netstring()
            if not name:
                return record
            record[name.decode()] = self._netstring()

    def login(self, user, password):
        self.sock.sendall(
            encode(
                [
                    ("request", "auth"),
                    ("mechanism", "PLAIN"),
                    ("service", "bench"),
                    ("client_addr", "127.0.0.1"),
                    ("local_port", 0),
                    ("tls", 1),
                    ("response", f"\0{user}\0{password}"),
                ]
            )
        )
        return self.read()

    def close(self):
        self.sock.close()


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


class Instance:
    def __init__(self, prefix, base, threads):
        self.prefix = prefix
        self.etc = base / "etc"
        self.etc.mkdir(parents=True)
        self.queue = base / "queue"
        params = {
            "queue_directory": self.queue,
            "data_directory": base / "data",
            "store_directory": base / "data" / "store",
            "daemon_directory": prefix / "libexec" / "tern",
            "log_to": base / "tern.log",
            "auth_verify_threads": threads,
            "max_idle": "1h",
            "max_use": 1000000,
        }
        (self.etc / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in params.items()))
        # as root, run auth as root too: the directory below is root's
        unpriv = "n" if os.geteuid() == 0 else "-"
        (self.etc / "master.cf").write_text(f"auth unix - {unpriv} n - 1 auth\n")
        self.admin("domain", "add", "bench.example")
        for scheme, user in ACCOUNTS.items():
            self.admin("user", "add", user, "--scheme", scheme, password=PASSWORD)
        self.proc = subprocess.Popen(
            [str(prefix / "libexec" / "tern" / "master"), "-f", "-c", str(self.etc)],
            stdin=subprocess.DEVNULL,
        )
        self.socket = self.queue / "private" / "auth"
        deadline = time.monotonic() + 10
        while True:
            try:
                AuthConn(self.socket, timeout=2).close()
                break
            except (OSError, EOFError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("auth did not start; see " + str(base / "tern.log"))
                time.sleep(0.05)

    def admin(self, *args, password=None):
        r = subprocess.run(
            [str(self.prefix / "sbin" / "ternadmin"), "-c", str(self.etc), *args],
            input=None if password is None else password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        if r.returncode != 0:
            raise RuntimeError(f"ternadmin {' '.join(args)}: {r.stderr}")

    def auth_pid(self):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                exe = os.readlink(f"/proc/{entry}/exe")
            except OSError:
                continue
            if ppid == self.proc.pid and exe.endswith("/auth"):
                return int(entry)
        raise RuntimeError("no auth process")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_clients(sock, user, clients, seconds):
    """clients threads logging in for seconds; returns (checks, latencies)."""
    latencies = [[] for _ in range(clients)]
    errors = []
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(i):
        conn = AuthConn(sock)
        try:
            start.wait()
            while time.perf_counter() < stop_at[0]:
                t0 = time.perf_counter()
                r = conn.login(user, PASSWORD)
                latencies[i].append(time.perf_counter() - t0)
                if r.get("status") != b"ok":
                    errors.append(r)
                    return
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(seconds + 120)
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"a login failed: {errors[0]}")
    flat = sorted(x for per in latencies for x in per)
    return len(flat), elapsed, flat


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-t", type=float, default=5.0, help="seconds per measurement (1 to 60)")
    ap.add_argument("-c", default="1,2", help="numbers of concurrent clients (1 to 16)")
    ap.add_argument("--threads", type=int, default=0, help="auth_verify_threads (0: one per CPU)")
    args = ap.parse_args()
    concurrency = [int(x) for x in args.c.split(",")]
    if not 1 <= args.t <= 60 or not all(1 <= c <= 16 for c in concurrency):
        ap.error("-t must be from 1 to 60 and each -c from 1 to 16")
    prefix = os.environ.get("TERN_PREFIX")
    if not prefix:
        sys.exit("TERN_PREFIX is not set: point it at an installed Tern tree")
    with tempfile.TemporaryDirectory(prefix="tern-bench-") as d:
        tmp = pathlib.Path(d)
        os.chmod(tmp, 0o755)
        inst = Instance(pathlib.Path(prefix), tmp, args.threads)
        try:
            pid = inst.auth_pid()
            rss_idle = proc_status(pid, "VmRSS")
            print(f"auth: {os.cpu_count()} CPUs, auth_verify_threads={args.threads or 'auto'}")
            print(f"{'scheme':<10} {'clients':>7} {'checks/s':>9} {'median ms':>10} {'p99 ms':>8}")
            for scheme, user in ACCOUNTS.items():
                for clients in concurrency:
                    n, elapsed, lat = run_clients(inst.socket, user, clients, args.t)
                    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
                    print(
                        f"{scheme:<10} {clients:>7} {n / elapsed:9.1f}"
                        f" {statistics.median(lat) * 1000:10.2f} {p99 * 1000:8.2f}",
                        flush=True,
                    )
            print()
            print(f"auth VmRSS idle: {rss_idle} KiB; after the runs: "
                  f"{proc_status(pid, 'VmRSS')} KiB; peak (VmHWM): {proc_status(pid, 'VmHWM')} KiB")
        finally:
            inst.stop()


if __name__ == "__main__":
    main()
