"""Helpers for qmgr's integration tests.

start_qmgr() configures and starts a Tern instance with cleanup and qmgr
(and whatever else a test adds). Submit() hands messages to cleanup over
its protocol (netstrings, util/attr.h), as smtpd does. FakeAgent is a
delivery agent of the deliver protocol (mail/deliver_proto.h) written in
Python: it listens on $queue_directory/private/<transport>, answers each
recipient as its policy says (after an optional delay), marks delivered and
failed recipients done in the queue file as a real agent does, and records
every request with its timing, so that tests can check what qmgr asked for,
how often and how many at once.
"""
import os
import re
import socket
import threading
import time

import queue_file
from conftest import wait_for

HOSTNAME = "mx.test.example"
# The qmgr line of master.cf: qmgr manages its own lifetime, so the
# per-connection recycling limits of other daemons must not stop it.
QMGR_LINE = "qmgr unix n - n 300 1 qmgr -o max_idle=1d -o max_use=10000000"
CLEANUP_LINE = "cleanup unix - - n - 0 cleanup"
AUTH_LINE = "auth unix - - n - 1 auth"
# A process that dies of a signal other than the tests' own SIGKILL, or a sanitizer report.
CRASH = re.compile(r"killed by signal (?!9\b)|panic: |AddressSanitizer|runtime error: ")


# ---------------------------------------------------------------- netstrings


def netstring(value):
    value = value if isinstance(value, bytes) else str(value).encode()
    return str(len(value)).encode() + b":" + value + b","


def encode(pairs):
    return b"".join(netstring(n) + netstring(v) for n, v in pairs) + b"0:,"


class Closed(Exception):
    """The peer closed the connection."""


class RecordReader:
    """Reads attr records from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed()
        self.buf += data

    def _netstring(self):
        while b":" not in self.buf:
            self._more()
        head, _, rest = self.buf.partition(b":")
        n = int(head)
        while len(rest) < n + 1:
            self._more()
            head, _, rest = self.buf.partition(b":")
        assert rest[n : n + 1] == b",", "malformed netstring"
        self.buf = rest[n + 1 :]
        return rest[:n]

    def read(self):
        out = {}
        while True:
            name = self._netstring()
            if name == b"":
                return out
            out[name.decode()] = self._netstring().decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------- submission


class Submit:
    """A client of the cleanup service."""

    def __init__(self, tern, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(tern.queue_dir / "private" / "cleanup"))
        self.reader = RecordReader(self.sock)
        hello = self.reader.read()
        assert hello == {"protocol": "cleanup", "version": "1"}, hello

    def message(self, sender, rcpts, body=b"hello\r\n", subject="test", notify=0, ret=0,
                orcpt=""):
        """Queue one message; returns its queue ID."""
        send = self.sock.sendall
        send(encode([("request", "envelope"), ("sender", sender), ("flags", 0), ("ret", ret),
                     ("size_hint", -1), ("client_addr", "192.0.2.1"),
                     ("client_name", "client.example"), ("helo", "client.example"),
                     ("protocol", "ESMTP")]))
        for r in rcpts:
            send(encode([("request", "rcpt"), ("rcpt", r), ("orcpt", orcpt),
                         ("notify", notify)]))
        content = (f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\nSubject: {subject}\r\n\r\n"
                   .encode() + body)
        send(encode([("request", "data"), ("data", content)]))
        send(encode([("request", "end")]))
        r = self.reader.read()
        assert r["status"] == "0", r
        return r["queue_id"]

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def submit(tern, sender, rcpts, **kw):
    with Submit(tern) as s:
        return s.message(sender, rcpts, **kw)


# ---------------------------------------------------------------- the fake agent


def accept_all(req, rcpt):
    return 2, "2.0.0", "250 ok", "fake.example[192.0.2.25]:25"


AGENTS = []  # every FakeAgent made, for close_agents()


def close_agents():
    while AGENTS:
        AGENTS.pop().close()


class FakeAgent:
    """A delivery agent for transport, in threads of the test process.

    policy(request, rcpt) -> (status, dsn, text, relay), or None to crash:
    close the connection without answering (the marks of the recipients
    before stay); delay(request) -> seconds to wait before answering. Each
    request is appended to self.requests as a dict (the request's
    attributes, "rcpts", "start", "end", "answers", and with capture the
    parsed queue file as "qf").
    """

    def __init__(self, tern, transport="smtp", policy=accept_all, delay=None, capture=False):
        self.tern = tern
        self.capture = capture
        self.transport = transport
        self.policy = policy
        self.delay = delay
        self.requests = []
        self.lock = threading.Lock()
        self.active = {}  # nexthop -> deliveries in progress
        self.max_active = {}  # nexthop -> the most at once
        self.total_active = 0
        self.max_total = 0
        self.connections = 0
        self.stopping = False
        directory = tern.queue_dir / "private"
        directory.mkdir(exist_ok=True)
        self.path = directory / transport
        if self.path.exists():
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        os.chmod(self.path, 0o666)
        self.sock.listen(256)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        AGENTS.append(self)

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _mark_done(self, req, offset):
        with open(self.tern.queue_dir / req["queue_path"], "r+b") as f:
            f.seek(offset)
            assert f.read(1) in (b"R", b"D")
            f.seek(offset)
            f.write(b"D")
            f.flush()
            os.fsync(f.fileno())

    def _serve(self, conn):
        conn.settimeout(120)
        reader = RecordReader(conn)
        try:
            conn.sendall(encode([("protocol", "deliver"), ("version", 1)]))
            while True:
                req = reader.read()
                req["rcpts"] = [reader.read() for _ in range(int(req["rcpt_count"]))]
                self._deliver(conn, req)
        except (Closed, OSError):
            pass
        finally:
            conn.close()

    def _deliver(self, conn, req):
        nexthop = req["nexthop"]
        req["start"] = time.monotonic()
        with self.lock:
            n = self.active.get(nexthop, 0) + 1
            self.active[nexthop] = n
            self.max_active[nexthop] = max(self.max_active.get(nexthop, 0), n)
            self.total_active += 1
            self.max_total = max(self.max_total, self.total_active)
        try:
            if self.delay is not None:
                time.sleep(self.delay(req))
            req["answers"] = []
            if self.capture:
                req["qf"] = queue_file.parse((self.tern.queue_dir / req["queue_path"])
                                             .read_bytes())
            out = []
            for rcpt in req["rcpts"]:
                answer = self.policy(req, rcpt)
                if answer is None:
                    raise Closed()
                status, dsn, text, relay = answer
                if status in (2, 5):
                    self._mark_done(req, int(rcpt["offset"]))
                req["answers"].append(status)
                out.append(encode([("offset", rcpt["offset"]), ("status", status),
                                   ("dsn", dsn), ("text", text), ("relay", relay)]))
            conn.sendall(b"".join(out) + encode([("done", 1)]))
        finally:
            req["end"] = time.monotonic()
            with self.lock:
                self.active[nexthop] -= 1
                self.total_active -= 1
                self.requests.append(req)

    def delivered(self):
        """(queue_id, address) of every recipient answered with status 2, in order."""
        with self.lock:
            return [(r["queue_id"], rc["address"])
                    for r in self.requests for rc, st in zip(r["rcpts"], r.get("answers", []))
                    if st == 2]

    def rcpts_seen(self):
        with self.lock:
            return [(r["queue_id"], rc["address"]) for r in self.requests for rc in r["rcpts"]]

    def close(self):
        if self.stopping:
            return
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        if self.path.exists():
            self.path.unlink()


# ---------------------------------------------------------------- the instance


STARTED = []


def start_qmgr(tern, params=None, extra_lines=(), qmgr_line=QMGR_LINE, directory=()):
    """main.cf for fast retries, master.cf with cleanup, auth (the directory) and qmgr
    (none when qmgr_line is None) and extra_lines; ternadmin runs each argument tuple of
    directory first; start."""
    main = {
        "myhostname": HOSTNAME,
        "mydomain": "test.example",
        "minimal_backoff_time": "2s",
        "maximal_backoff_time": "8s",
        "queue_run_delay": "1s",
        "service_throttle_time": "1s",
        "delay_warning_time": "0",
    }
    main.update(params or {})
    tern.write_main_cf(main)
    for args in directory:
        admin(tern, *args)
    lines = [CLEANUP_LINE, AUTH_LINE] + ([qmgr_line] if qmgr_line else []) + list(extra_lines)
    tern.write_master_cf(lines)
    tern.start()
    STARTED.append(tern)
    wait_for((tern.queue_dir / "private" / "cleanup").exists, what="the cleanup socket")
    if qmgr_line:
        wait_for((tern.queue_dir / "public" / "qmgr").exists, what="the qmgr socket")
    wait_for((tern.queue_dir / "private" / "auth").exists, what="the auth socket")
    return tern


def queue_ids(tern, directory):
    d = tern.queue_dir / directory
    try:
        return sorted(n for n in os.listdir(d) if not n.startswith("."))
    except FileNotFoundError:
        return []


def queue_empty(tern):
    return all(not queue_ids(tern, d) for d in ("incoming", "active", "deferred"))


def read_queue(tern, directory, qid):
    return queue_file.parse((tern.queue_dir / directory / qid).read_bytes())


def wake(tern, byte=b"W"):
    """Send a request byte to qmgr's socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(tern.queue_dir / "public" / "qmgr"))
        s.sendall(byte)


def qmgr_pids(tern):
    result = []
    for pid in tern.children():
        try:
            if os.readlink(f"/proc/{pid}/exe") == str(tern.daemon_dir / "qmgr"):
                result.append(pid)
        except OSError:
            pass
    return result


def restart_with_qmgr(tern, extra_lines=()):
    """Stop master, then start it again with qmgr in master.cf."""
    assert tern.stop() == 0
    tern.proc = None
    tern.write_master_cf([CLEANUP_LINE, AUTH_LINE, QMGR_LINE, *extra_lines])
    tern.start()
    wait_for((tern.queue_dir / "public" / "qmgr").exists, what="the qmgr socket")


def chown_like_queue(tern, path):
    """Give path the owner of the queue's incoming/ (the test may run as root)."""
    st = os.stat(tern.queue_dir / "incoming")
    os.chown(path, st.st_uid, st.st_gid)


def admin(tern, *args):
    """Run ternadmin; when root, give the directory files to the test user afterwards."""
    r = tern.run("ternadmin", *args, input="Secret-pw-1\n")
    assert r.returncode == 0, f"ternadmin {' '.join(args)}: {r.stderr}"
    if os.geteuid() == 0:
        import pwd

        from conftest import TEST_USER

        user = pwd.getpwnam(TEST_USER)
        for root, dirs, files in os.walk(tern.data_dir):
            for name in [root] + [os.path.join(root, f) for f in dirs + files]:
                os.chown(name, user.pw_uid, user.pw_gid)
