"""A local DNS server for tests: dnsmasq on a free loopback port.

Tests describe the records they need and point Tern at the server with
dns_servers = 127.0.0.1:PORT; nothing leaves the machine and nothing depends
on the host's resolver:

    from dns_helpers import DnsServer

    def test_something(tmp_path):
        with DnsServer(tmp_path, domains=["example.test"],
                       mx=[("example.test", "mx1.example.test", 10)],
                       a=[("mx1.example.test", "127.0.0.2")]) as dns:
            tern.write_main_cf({"dns_servers": dns.server})

Every domain in `domains` (and each domain that has an MX record) is local
to dnsmasq: a name under it without records gets NXDOMAIN (or an empty
answer when the name has other records), never a query upstream. Records:

    mx     (domain, target, preference); target "." is a null MX (RFC 7505)
    a      (name, "192.0.2.1")      aaaa  (name, "2001:db8::1")
    txt    (name, "text")           cname (alias, target)

When the tests run as root, dnsmasq is started as the unprivileged test
user (conftest.TEST_USER), as every server a test starts.
"""
import os
import pwd
import shutil
import socket
import subprocess
import time

import pytest

from conftest import TEST_USER, free_port


def dnsmasq_path():
    """dnsmasq's path; skips the test when it is not installed (Debian: dnsmasq-base)."""
    path = shutil.which("dnsmasq") or shutil.which("dnsmasq", path="/usr/sbin:/sbin")
    if path is None:
        pytest.skip("dnsmasq is not installed (Debian package dnsmasq-base)")
    return path


def _demote():
    """preexec_fn: become the test user when running as root."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam(TEST_USER)

    def run():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)

    return run


def query(port, name, qtype, timeout=2.0, host="127.0.0.1"):
    """Ask the server directly (a tiny client for checks): returns the raw answer bytes."""
    import struct

    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p)
    packet = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + labels + b"\0"
    packet += struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, port))
        return s.recv(65535)


class DnsServer:
    """dnsmasq answering only from its own table, on 127.0.0.1:port (UDP and TCP)."""

    def __init__(self, tmp_path, domains=(), mx=(), a=(), aaaa=(), txt=(), cname=(), port=None):
        self.tmp_path = tmp_path
        self.port = port or free_port()
        self.domains = set(domains) | {d for d, _, _ in mx}
        self.mx, self.a, self.aaaa = list(mx), list(a), list(aaaa)
        self.txt, self.cname = list(txt), list(cname)
        self.proc = None
        self.log_path = tmp_path / f"dnsmasq-{self.port}.log"

    @property
    def server(self):
        """The value for dns_servers."""
        return f"127.0.0.1:{self.port}"

    def args(self):
        args = [
            dnsmasq_path(),
            "--no-daemon",
            f"--port={self.port}",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--no-negcache",
            "--conf-file=/dev/null",
            "--pid-file=",
            "--log-queries",
            "--log-facility=-",
        ]
        for d in sorted(self.domains):
            args.append(f"--local=/{d}/")
        for domain, target, pref in self.mx:
            args.append(f"--mx-host={domain},{target},{pref}")
        hosts = {}
        for name, addr in self.a + self.aaaa:
            hosts.setdefault(name, []).append(addr)
        for name, addrs in hosts.items():
            args.append(f"--host-record={name},{','.join(addrs)}")
        for name, text in self.txt:
            args.append(f'--txt-record={name},"{text}"')
        for alias, target in self.cname:
            args.append(f"--cname={alias},{target}")
        return args

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.args(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            preexec_fn=_demote(),
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"dnsmasq exited: {self.log_path.read_text()}")
            try:
                query(self.port, "probe.invalid", 1, timeout=0.2)
                return self
            except OSError:
                time.sleep(0.05)
        pytest.fail("dnsmasq did not answer within 10s")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
