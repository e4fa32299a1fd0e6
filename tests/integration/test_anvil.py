"""anvil: connection counts and rates per (service, client address), served to
many clients at once by one process under master, with the counts of a client
that goes away released, malformed requests refused, and statistics logged.

The clients here speak the attr protocol (util/attr.h) over
$queue_directory/private/anvil themselves, as smtpd does through
mail/anvil_client.h.
"""
import socket
import threading
import time

import pytest

from conftest import wait_for


def encode(*pairs):
    """One attr record from (name, value) pairs; values are str or int."""
    out = b""
    for name, value in pairs:
        for item in (name.encode(), str(value).encode()):
            out += str(len(item)).encode() + b":" + item + b","
    return out + b"0:,"


class Anvil:
    """A client of the anvil service."""

    def __init__(self, tern, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(tern.queue_dir / "private" / "anvil"))
        self.buf = b""
        hello = self.read_record()
        assert hello == {"protocol": "anvil", "version": "1"}, hello

    def _netstring(self):
        while b":" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b":")
        n = int(head)
        while len(rest) < n + 1:
            self._fill()
            head, _, rest = self.buf.partition(b":")
        assert rest[n : n + 1] == b",", self.buf
        self.buf = rest[n + 1 :]
        return rest[:n].decode()

    def _fill(self):
        data = self.sock.recv(4096)
        if not data:
            raise EOFError("anvil closed the connection")
        self.buf += data

    def read_record(self):
        record = {}
        while True:
            name = self._netstring()
            if name == "":
                return record
            record[name] = self._netstring()

    def request(self, req, service, client):
        self.sock.sendall(encode(("request", req), ("service", service), ("client", client)))
        answer = self.read_record()
        assert answer["status"] == "ok", answer
        return int(answer["count"]), int(answer["rate"])

    def connect(self, service, client):
        return self.request("connect", service, client)

    def disconnect(self, service, client):
        return self.request("disconnect", service, client)

    def lookup(self, service, client):
        return self.request("lookup", service, client)

    def close(self):
        self.sock.close()


def start_anvil(tern, **params):
    tern.write_main_cf(params)
    tern.write_master_cf(["anvil unix - - n - 1 anvil"])
    tern.start()
    wait_for(lambda: (tern.queue_dir / "private" / "anvil").exists(), what="the anvil socket")


def anvil_pids(tern):
    return [p for p in tern.children() if "anvil" in open(f"/proc/{p}/cmdline").read()]


def test_counts_from_concurrent_clients(tern):
    start_anvil(tern)
    clients = [Anvil(tern) for _ in range(8)]
    errors = []

    def work(c):
        try:
            for _ in range(5):
                c.connect("smtp", "192.0.2.1")
            c.connect("submission", "192.0.2.1")
        except Exception as e:  # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    probe = Anvil(tern)
    assert probe.lookup("smtp", "192.0.2.1") == (40, 40)
    assert probe.lookup("submission", "192.0.2.1") == (8, 8)
    assert probe.lookup("smtp", "192.0.2.2") == (0, 0)
    # each connect answered with the count including itself: one more than before
    assert probe.connect("smtp", "192.0.2.1") == (41, 41)
    assert probe.disconnect("smtp", "192.0.2.1") == (40, 41)
    for c in clients:
        c.disconnect("smtp", "192.0.2.1")
    assert probe.lookup("smtp", "192.0.2.1") == (32, 41)
    # a disconnect of what this client never counted changes nothing
    assert probe.disconnect("smtp", "192.0.2.1") == (32, 41)
    # all of it served by a single process
    assert len(anvil_pids(tern)) == 1
    for c in clients + [probe]:
        c.close()


def test_release_when_a_client_goes_away(tern):
    start_anvil(tern)
    a, b = Anvil(tern), Anvil(tern)
    for _ in range(3):
        a.connect("smtp", "2001:db8::7")
    b.connect("smtp", "2001:db8::7")
    assert b.lookup("smtp", "2001:db8::7") == (4, 4)
    # a client that crashes just closes its socket, in the middle of nothing
    a.sock.shutdown(socket.SHUT_RDWR)
    a.close()
    wait_for(lambda: b.lookup("smtp", "2001:db8::7")[0] == 1, what="the counts of a released")
    assert b.lookup("smtp", "2001:db8::7") == (1, 4)
    b.close()
    c = Anvil(tern)
    wait_for(lambda: c.lookup("smtp", "2001:db8::7")[0] == 0, what="the counts of b released")
    c.close()


def test_rate_window(tern):
    start_anvil(tern, anvil_rate_time_unit="1s")
    c = Anvil(tern)
    assert c.connect("smtp", "198.51.100.1") == (1, 1)
    assert c.connect("smtp", "198.51.100.1") == (2, 2)
    c.disconnect("smtp", "198.51.100.1")
    assert c.connect("smtp", "198.51.100.1") == (2, 3)
    time.sleep(1.2)
    # the window is over: the rate starts again, the count stands
    assert c.lookup("smtp", "198.51.100.1") == (2, 0)
    assert c.connect("smtp", "198.51.100.1") == (3, 1)
    c.close()


def test_malformed_requests_are_refused(tern):
    start_anvil(tern)
    good = Anvil(tern)
    good.connect("smtp", "192.0.2.9")
    pid = anvil_pids(tern)
    for raw in (
        encode(("request", "connect"), ("service", "smtp")),  # no client
        encode(("request", "explode"), ("service", "smtp"), ("client", "192.0.2.9")),
        encode(("request", "connect"), ("service", "smtp"), ("client", "a b")),
        encode(("request", "connect"), ("service", "x" * 101), ("client", "192.0.2.9")),
        b"99999999999:x,",
    ):
        bad = Anvil(tern)
        bad.sock.sendall(raw)
        answer = bad.read_record()
        assert answer["status"] == "error" and answer.get("reason"), answer
        with pytest.raises(EOFError):
            bad.read_record()
        bad.close()
    # the others are served as before, by the same process
    assert good.connect("smtp", "192.0.2.9") == (2, 2)
    assert anvil_pids(tern) == pid
    good.close()


def test_statistics_are_logged(tern):
    start_anvil(tern, anvil_status_update_time="1s")
    c = Anvil(tern)
    for _ in range(4):
        c.connect("smtp", "203.0.113.5")
    c.connect("smtp", "203.0.113.6")
    tern.wait_log(r"anvil\[\d+\]: statistics: max connection rate 4/60s for \(smtp:203\.0\.113\.5\)")
    tern.wait_log(r"anvil\[\d+\]: statistics: max connection count 4 for \(smtp:203\.0\.113\.5\)")
    tern.wait_log(r"anvil\[\d+\]: statistics: max cache size 2 at ")
    c.close()


def test_many_connections_and_clean_stop(tern):
    start_anvil(tern)
    clients = [Anvil(tern) for _ in range(50)]
    for i, c in enumerate(clients):
        assert c.connect("smtp", "192.0.2.77") == (i + 1, i + 1)
    assert len(anvil_pids(tern)) == 1
    offset = tern.log_size()
    # master's stop makes anvil close its clients and exit, logging what it saw
    assert tern.stop() == 0
    assert "statistics: max connection count 50 for (smtp:192.0.2.77)" in tern.log(offset)
    for c in clients:
        with pytest.raises((EOFError, ConnectionResetError)):
            c.read_record()
        c.close()
