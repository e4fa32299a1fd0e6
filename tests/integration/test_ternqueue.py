"""ternqueue(1) against queue files that the cleanup service wrote: list (text and
JSON, with the defer reasons of mail/status_log.h), show, flush, delete, hold,
release and requeue (through cleanup, with the notices a message still owes),
selection by ALL, --from and --to, exit codes, and hold ALL while another process
keeps moving the files as qmgr would. qmgr is not started: messages stay where
the tests put them.
"""
import json
import os
import re
import socket
import subprocess
import threading
import time
import zlib

import pytest

import queue_file
from conftest import wait_for

HOST = "mx.test.example"
ORIGIN = "test.example"


# ---------------------------------------------------------------- cleanup client


def _netstring(value):
    value = value if isinstance(value, bytes) else str(value).encode()
    return str(len(value)).encode() + b":" + value + b","


class Cleanup:
    """Just enough of the cleanup protocol (mail/cleanup_client.h) to queue messages."""

    def __init__(self, tern):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(str(tern.queue_dir / "private" / "cleanup"))
        self.buf = b""
        assert self.record() == {"protocol": b"cleanup", "version": b"1"}

    def _ns(self):
        while b":" not in self.buf:
            self._more()
        head, _, rest = self.buf.partition(b":")
        n = int(head)
        while len(rest) < n + 1:
            self._more()
            head, _, rest = self.buf.partition(b":")
        self.buf = rest[n + 1 :]
        return rest[:n]

    def _more(self):
        data = self.sock.recv(65536)
        assert data, "cleanup closed the connection"
        self.buf += data

    def record(self):
        out = {}
        while True:
            name = self._ns()
            if not name:
                return out
            out[name.decode()] = self._ns()

    def send(self, pairs):
        self.sock.sendall(b"".join(_netstring(n) + _netstring(v) for n, v in pairs) + b"0:,")

    def submit(self, sender, rcpts, content, envid="", ret=0):
        self.send([("request", "envelope"), ("sender", sender), ("flags", 0), ("ret", ret),
                   ("size_hint", -1), ("envid", envid)])
        for r in rcpts:
            address, orcpt, notify = r if isinstance(r, tuple) else (r, "", 0)
            self.send([("request", "rcpt"), ("rcpt", address), ("orcpt", orcpt),
                       ("notify", notify)])
        self.send([("request", "data"), ("data", content)])
        self.send([("request", "end")])
        answer = self.record()
        assert int(answer["status"]) == 0, answer
        return answer["queue_id"].decode()

    def close(self):
        self.sock.close()


def submit(tern, sender="alice@example.org", rcpts=("bob@example.net",), subject="hello",
           body=b"body\r\n", **kw):
    content = (f"From: <{sender}>\r\nSubject: {subject}\r\n\r\n").encode() + body
    c = Cleanup(tern)
    try:
        return c.submit(sender, rcpts, content, **kw)
    finally:
        c.close()


# ---------------------------------------------------------------- the status logs


def status_record(address, status, dsn, text, offset=-1, relay="none", when=1700000000,
                  orcpt="", notify=0):
    """One record line of a status log, made from the format that mail/status_log.h documents."""

    def enc(value):
        out = []
        for b in value.encode():
            out.append(chr(b) if 0x20 < b < 0x7F and b != 0x25 else "%%%02X" % b)
        return "".join(out)

    action = {2: "delivered", 4: "delayed", 5: "failed"}[status]
    body = (f"address={enc(address)} orcpt={enc(orcpt)} notify={notify} offset={offset} "
            f"status={status} action={action} dsn={dsn} time={when} relay={enc(relay)} "
            f"text={enc(text)} ")
    return (body + "crc=%08x\n" % zlib.crc32(body.encode())).encode()


def add_log(tern, kind, qid, *records):
    path = tern.queue_dir / kind / qid
    with open(path, "ab") as f:
        for r in records:
            f.write(r)


# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def no_sanitizer_reports(tern):
    """Under ASan/UBSan builds, a report on master's stderr (children share it) fails the test."""
    yield
    path = tern.stderr_path
    text = path.read_text(errors="replace") if path.exists() else ""
    assert "runtime error" not in text and "Sanitizer" not in text, text[:3000]



def start(tern, services=("cleanup unix - - n - 0 cleanup",), **params):
    base = {"myhostname": HOST, "myorigin": ORIGIN}
    base.update(params)
    tern.write_main_cf(base)
    tern.write_master_cf(list(services))
    r = tern.run("ternctl", "check")
    assert r.returncode == 0, r.stderr
    tern.start()
    wait_for((tern.queue_dir / "private" / "cleanup").exists, what="the cleanup socket")
    return tern


def tq(tern, *args, **kw):
    return tern.run("ternqueue", *args, **kw)


def where(tern, qid):
    """The queue directories that hold qid."""
    return [d for d in ("incoming", "active", "deferred", "hold")
            if (tern.queue_dir / d / qid).exists()]


def files(tern, d):
    p = tern.queue_dir / d
    return sorted(n for n in os.listdir(p) if queue_file.QUEUE_ID.match(n)) if p.exists() else []


def mark_done(tern, qid, address, d="incoming"):
    """Mark a recipient done in the file, as a delivery agent does (type byte R -> D)."""
    path = tern.queue_dir / d / qid
    qf = queue_file.parse(path.read_bytes())
    (r,) = [r for r in qf.rcpts if r["address"] == address]
    with open(path, "r+b") as f:
        f.seek(r["offset"])
        assert f.read(1) == b"R"
        f.seek(r["offset"])
        f.write(b"D")
    return r["offset"]


def rcpt_offset(tern, qid, address, d="incoming"):
    qf = queue_file.parse((tern.queue_dir / d / qid).read_bytes())
    return [r for r in qf.rcpts if r["address"] == address][0]["offset"]


@pytest.fixture
def mta(tern):
    return start(tern)


# ---------------------------------------------------------------- list


def test_list_empty(mta):
    r = tq(mta, "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Mail queue is empty\n"
    r = tq(mta, "list", "--json")
    assert r.returncode == 0 and r.stdout == ""


def test_list_with_reasons(mta):
    q1 = submit(mta, "alice@example.org", ["bob@example.net", "carol@example.net",
                                           "dave@example.net"])
    time.sleep(0.01)
    q2 = submit(mta, "", ["postmaster@example.net"], body=b"x" * 3000 + b"\r\n")
    mark_done(mta, q1, "dave@example.net")
    add_log(mta, "defer", q1,
            status_record("bob@example.net", 4, "4.4.1", "connect to mx.example.net: refused",
                          offset=rcpt_offset(mta, q1, "bob@example.net")),
            status_record("carol@example.net", 4, "4.2.2", "452 4.2.2 mailbox full"),
            b"address=torn record from a crash")
    os.rename(mta.queue_dir / "incoming" / q2, mta.queue_dir / "hold" / q2)

    r = tq(mta, "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("-Queue ID-")
    i1 = next(i for i, l in enumerate(lines) if l.startswith(q1))
    assert lines[i1].split()[0] == q1 and "alice@example.org" in lines[i1]
    assert lines[i1 + 1].strip() == "(connect to mx.example.net: refused)"
    assert lines[i1 + 2].strip() == "bob@example.net"
    assert lines[i1 + 3].strip() == "(452 4.2.2 mailbox full)"
    assert lines[i1 + 4].strip() == "carol@example.net"
    assert lines[i1 + 5] == ""  # dave is done: not listed
    i2 = next(i for i, l in enumerate(lines) if l.startswith(q2))
    assert lines[i2].startswith(q2 + "!") and "MAILER-DAEMON" in lines[i2]
    assert re.fullmatch(r"-- \d+ Kbytes in 2 Requests\.", lines[-1])

    r = tq(mta, "list", "--json")
    assert r.returncode == 0, r.stderr
    objs = {o["queue_id"]: o for o in map(json.loads, r.stdout.splitlines())}
    assert set(objs) == {q1, q2}
    assert objs[q1]["queue_name"] == "incoming" and objs[q2]["queue_name"] == "hold"
    assert objs[q1]["sender"] == "alice@example.org" and objs[q2]["sender"] == ""
    assert objs[q1]["recipients"] == [
        {"address": "bob@example.net", "delay_reason": "connect to mx.example.net: refused"},
        {"address": "carol@example.net", "delay_reason": "452 4.2.2 mailbox full"},
    ]
    assert objs[q2]["message_size"] > 3000 and objs[q1]["arrival_time"] > 1600000000

    # the active mark; sendmail -bp shows the same listing
    os.rename(mta.queue_dir / "incoming" / q1, mta.queue_dir / "active" / q1)
    r = mta.run("sendmail", "-bp")
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^{q1}\*", r.stdout, re.M)


def test_show(mta):
    qid = submit(mta, "alice@example.org", [("bob@example.net", "rfc822;Bob@example.net", 6)],
                 subject="shown", envid="ENV7", ret=2)
    add_log(mta, "defer", qid, status_record("bob@example.net", 4, "4.4.1", "no route",
                                             orcpt="rfc822;Bob@example.net", notify=6))
    r = tq(mta, "show", qid)
    assert r.returncode == 0, r.stderr
    envelope, _, message = r.stdout.partition("*** MESSAGE ***\n")
    assert f"queue_id: {qid}\nqueue_name: incoming\n" in envelope
    assert "sender: <alice@example.org>" in envelope
    assert "envid: ENV7" in envelope and "ret: HDRS" in envelope
    assert ("recipient: <bob@example.net> pending orcpt=rfc822;Bob@example.net "
            "notify=SUCCESS,FAILURE") in envelope
    assert "  deferred: no route (dsn=4.4.1, relay=none)" in envelope
    assert message.startswith("Received: ")
    assert "Subject: shown\n" in message and message.endswith("\nbody\n")

    r = tq(mta, "show", "--envelope", qid)
    assert r.returncode == 0 and "*** MESSAGE ***" not in r.stdout and qid in r.stdout
    r = tq(mta, "show", "1NV0J3K6Q2W7G4F")
    assert r.returncode == 1 and "no such message" in r.stderr
    assert tq(mta, "show").returncode == 2
    assert tq(mta, "show", "--bogus", qid).returncode == 2


# ---------------------------------------------------------------- changes


def test_hold_and_release(mta):
    q1 = submit(mta)
    q2 = submit(mta, rcpts=["x@example.net"])
    q3 = submit(mta, rcpts=["y@example.net"])
    os.rename(mta.queue_dir / "incoming" / q2, mta.queue_dir / "deferred" / q2)
    offset = mta.log_size()
    r = tq(mta, "hold", q1, q2)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "placed on hold: 2 messages\n"
    assert where(mta, q1) == ["hold"] and where(mta, q2) == ["hold"]
    assert where(mta, q3) == ["incoming"]
    mta.wait_log(rf"ternqueue\[\d+\]: {q1}: placed on hold", offset)
    # already held: left alone, not an error
    r = tq(mta, "hold", q1)
    assert r.returncode == 0 and "left alone" in r.stderr

    # release wakes qmgr; a stand-in listens on public/qmgr
    path = mta.queue_dir / "public" / "qmgr"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
        s.listen(4)
        s.settimeout(10)
        r = tq(mta, "release", q1)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "released: 1 message\n"
        conn, _ = s.accept()
        with conn:
            conn.settimeout(10)
            assert conn.recv(16) == b"W"
    os.unlink(path)
    assert where(mta, q1) == ["incoming"]
    # ALL: hold everything, release everything
    assert tq(mta, "hold", "ALL").stdout == "placed on hold: 2 messages\n"
    assert files(mta, "hold") == sorted([q1, q2, q3])
    r = tq(mta, "release", "ALL")
    assert r.returncode == 0 and r.stdout == "released: 3 messages\n"
    assert files(mta, "incoming") == sorted([q1, q2, q3]) and files(mta, "hold") == []
    # releasing what is not held
    r = tq(mta, "release", q1)
    assert r.returncode == 0 and "left alone" in r.stderr and r.stdout == "released: 0 messages\n"


def test_delete(mta):
    a = submit(mta, "alice@example.org", ["bob@example.net"])
    b = submit(mta, "Mallory@Example.NET", ["bob@example.net", "carol@example.net"])
    c = submit(mta, "carl@example.org", ["carol@example.net"])
    d = submit(mta, "dora@example.org", ["dave@example.net"])
    for kind in ("bounce", "defer", "trace"):
        add_log(mta, kind, a, status_record("bob@example.net",
                                            {"bounce": 5, "defer": 4, "trace": 2}[kind],
                                            {"bounce": "5.0.0", "defer": "4.0.0",
                                             "trace": "2.0.0"}[kind], "x"))
    os.rename(mta.queue_dir / "incoming" / d, mta.queue_dir / "deferred" / d)
    offset = mta.log_size()
    r = tq(mta, "delete", a)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "deleted: 1 message\n"
    assert where(mta, a) == []
    for kind in ("bounce", "defer", "trace"):
        assert not (mta.queue_dir / kind / a).exists()
    mta.wait_log(rf"{a}: removed", offset)

    r = tq(mta, "delete", "--from", "mallory@example.net")
    assert r.returncode == 0 and r.stdout == "deleted: 1 message\n"
    assert where(mta, b) == []
    # --to matches recipients not yet delivered only
    mark_done(mta, c, "carol@example.net")
    r = tq(mta, "delete", "--to", "CAROL@example.net")
    assert r.returncode == 0 and r.stdout == "deleted: 0 messages\n"
    r = tq(mta, "delete", "--from", "dora@example.org", "--to", "nobody@example.net")
    assert r.stdout == "deleted: 0 messages\n"
    r = tq(mta, "delete", "--from", "dora@example.org", "--to", "dave@example.net")
    assert r.stdout == "deleted: 1 message\n" and where(mta, d) == []
    # a queue ID that is not there fails the command, the others are still done
    r = tq(mta, "delete", "1NV0J3K6Q2W7G4F", c)
    assert r.returncode == 1 and "1NV0J3K6Q2W7G4F: no such message" in r.stderr
    assert r.stdout == "deleted: 1 message\n" and where(mta, c) == []
    e = submit(mta)
    r = tq(mta, "delete", "ALL")
    assert r.returncode == 0 and r.stdout == "deleted: 1 message\n" and where(mta, e) == []
    assert tq(mta, "list").stdout == "Mail queue is empty\n"


def test_requeue(mta):
    qid = submit(mta, "alice@example.org",
                 [("bob@example.net", "rfc822;Bob@example.net", 2 | 4), "carol@example.net",
                  ("dave@example.net", "", 4)],
                 subject="again", envid="E9", ret=1, body=b"line one\r\nline two\r\n")
    old = queue_file.parse((mta.queue_dir / "incoming" / qid).read_bytes())
    mark_done(mta, qid, "carol@example.net")
    # dave failed earlier: the failure notice is still owed and goes out first
    add_log(mta, "bounce", qid, status_record("dave@example.net", 5, "5.1.1",
                                              "550 5.1.1 no such user",
                                              offset=rcpt_offset(mta, qid, "dave@example.net"),
                                              notify=4))
    mark_done(mta, qid, "dave@example.net")
    add_log(mta, "defer", qid, status_record("bob@example.net", 4, "4.4.1", "later"))
    os.rename(mta.queue_dir / "incoming" / qid, mta.queue_dir / "deferred" / qid)
    offset = mta.log_size()

    r = tq(mta, "requeue", qid)
    assert r.returncode == 0, r.stderr
    m = re.search(rf"^{qid}: requeued as ([0-9A-Z]+)$", r.stdout, re.M)
    assert m, r.stdout
    new = m.group(1)
    assert r.stdout.endswith("requeued: 1 message\n")
    assert where(mta, qid) == [] and not (mta.queue_dir / "defer" / qid).exists()
    assert not (mta.queue_dir / "bounce" / qid).exists()
    mta.wait_log(rf"{qid}: requeued as {new}", offset)
    mta.wait_log(rf"{qid}: sender non-delivery notification: ", offset)

    qf = queue_file.parse((mta.queue_dir / "incoming" / new).read_bytes())
    assert qf.sender == "alice@example.org" and qf.envid == "E9" and qf.ret == "FULL"
    assert [(r["address"], r["orcpt"], r["notify"], r["done"]) for r in qf.rcpts] == [
        ("bob@example.net", "rfc822;Bob@example.net", 6, False)]
    # the same content under one more Received: header
    added = qf.lines[: len(qf.lines) - len(old.lines)]
    assert qf.lines[len(added):] == old.lines
    assert added[0].startswith(b"Received: by " + HOST.encode())
    assert all(line[:1] in (b" ", b"\t") for line in added[1:])

    # the failure notice for dave went to alice from <>
    (notice,) = [n for n in files(mta, "incoming") if n != new]
    nf = queue_file.parse((mta.queue_dir / "incoming" / notice).read_bytes())
    assert nf.sender == "" and [r["address"] for r in nf.rcpts] == ["alice@example.org"]
    text = b"\n".join(nf.lines).decode()
    assert "multipart/report; report-type=delivery-status" in text
    assert "Final-Recipient: rfc822; dave@example.net" in text
    assert "Status: 5.1.1" in text


def test_requeue_fails_without_cleanup(tern):
    start(tern)
    qid = submit(tern)
    os.rename(tern.queue_dir / "incoming" / qid, tern.queue_dir / "deferred" / qid)
    assert tern.stop() == 0
    r = tq(tern, "requeue", "ALL")
    assert r.returncode == 1 and "requeue" in r.stderr and "cleanup" in r.stderr
    assert r.stdout == "requeued: 0 messages\n"
    assert where(tern, qid) == ["deferred"]  # back where it was


def test_flush(mta):
    r = tq(mta, "flush")
    assert r.returncode == 0 and "not running" in r.stderr
    path = mta.queue_dir / "public" / "qmgr"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
        s.listen(1)
        s.settimeout(10)
        r = tq(mta, "flush")
        assert r.returncode == 0 and r.stderr == ""
        conn, _ = s.accept()
        with conn:
            conn.settimeout(10)
            assert conn.recv(16) == b"F"


def test_usage(mta):
    for args in ((), ("bogus",), ("delete",), ("hold", "ALL", "1NV0J3K6Q2W7G4F"),
                 ("list", "--xml"), ("delete", "--from"), ("-x", "list"), ("flush", "now")):
        r = tq(mta, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "usage:" in r.stderr
    r = tq(mta, "delete", "not-a-queue-id")
    assert r.returncode == 1 and "not a queue ID" in r.stderr
    r = subprocess.run([mta.program("ternqueue"), "-c", "/nonexistent", "list"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "main.cf" in r.stderr


def test_hold_all_while_files_move(mta):
    """hold ALL while another process moves files between incoming/ and deferred/ and
    removes some, as qmgr does: no error, and no message in two places or lost."""
    ids = [submit(mta, rcpts=[f"r{i}@example.net"]) for i in range(40)]
    stop = threading.Event()
    removed = set()

    def mover():
        n = 0
        while not stop.is_set():
            qid = ids[n % len(ids)]
            n += 1
            src = ("incoming", "deferred")[n % 2]
            dst = ("deferred", "incoming")[n % 2]
            try:
                if n % 29 == 0:
                    os.unlink(mta.queue_dir / src / qid)
                    removed.add(qid)
                else:
                    os.rename(mta.queue_dir / src / qid, mta.queue_dir / dst / qid)
            except FileNotFoundError:
                pass

    t = threading.Thread(target=mover)
    t.start()
    try:
        results = [tq(mta, "hold", "ALL") for _ in range(3)]
    finally:
        stop.set()
        t.join()
    for r in results:
        assert r.returncode == 0, r.stderr
    for qid in ids:
        places = where(mta, qid)
        assert len(places) == (0 if qid in removed else 1), (qid, places)
    assert len(files(mta, "hold")) > 0
