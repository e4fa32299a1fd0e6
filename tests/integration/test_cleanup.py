"""cleanup: messages submitted over the cleanup protocol (spoken here from
Python, netstrings as in util/attr.h) become queue files in incoming/, read
back with the independent reader of queue_file.py: envelope, headers added
(Received:, Message-ID:, Date:, From:), content verbatim, limits refused
with the right codes and log lines, nothing left by clients that abort or
go away, and nothing lost or half-written when cleanup processes are killed
with SIGKILL under load.
"""
import hashlib
import os
import random
import re
import signal
import socket
import threading
import time

import pytest

import queue_file
from conftest import children_of, wait_for

HOST = "mx.test.example"
ORIGIN = "test.example"
TLS_INFO = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
SMTP_CLIENT = {
    "client_name": "client.example.net",
    "client_addr": "192.0.2.10",
    "client_port": "40000",
    "helo": "client.example.net",
    "protocol": "ESMTPS",
    "tls_info": TLS_INFO,
}


# ---------------------------------------------------------------- the protocol


def netstring(value):
    value = value if isinstance(value, bytes) else str(value).encode()
    return str(len(value)).encode() + b":" + value + b","


def encode(pairs):
    return b"".join(netstring(n) + netstring(v) for n, v in pairs) + b"0:,"


class ProtocolEnd(Exception):
    """The server closed the connection."""


class Cleanup:
    """A client of the cleanup service."""

    def __init__(self, tern, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(tern.queue_dir / "private" / "cleanup"))
        self.buf = b""
        hello = self.read_record()
        assert hello == {"protocol": b"cleanup", "version": b"1"}, hello

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

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise ProtocolEnd()
        self.buf += data

    def read_record(self):
        out = {}
        while True:
            name = self._netstring()
            if name == b"":
                return out
            out[name.decode()] = self._netstring()

    def send(self, pairs):
        self.sock.sendall(encode(pairs))

    def envelope(self, sender, flags=0, ret=0, size_hint=-1, **info):
        pairs = [
            ("request", "envelope"),
            ("sender", sender),
            ("flags", flags),
            ("ret", ret),
            ("size_hint", size_hint),
        ]
        pairs += [(k, v) for k, v in info.items() if v is not None]
        self.send(pairs)

    def rcpt(self, address, orcpt="", notify=0):
        self.send([("request", "rcpt"), ("rcpt", address), ("orcpt", orcpt), ("notify", notify)])

    def data(self, content, chunk=65536):
        for i in range(0, len(content), chunk):
            self.send([("request", "data"), ("data", content[i : i + chunk])])

    def end(self):
        self.send([("request", "end")])
        r = self.read_record()
        return {
            "status": int(r["status"]),
            "dsn": r["dsn"].decode(),
            "text": r["text"].decode(),
            "queue_id": r["queue_id"].decode(),
        }

    def abort(self):
        self.send([("request", "abort")])

    def submit(self, sender, rcpts, content, **info):
        self.envelope(sender, **info)
        for r in rcpts:
            self.rcpt(r)
        self.data(content)
        return self.end()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def no_sanitizer_reports(tern):
    """Under ASan/UBSan builds, a report on master's stderr (children share it) fails the test."""
    yield
    path = tern.stderr_path
    text = path.read_text(errors="replace") if path.exists() else ""
    assert "runtime error" not in text and "Sanitizer" not in text, text[:3000]


def start_mta(tern, **params):
    """main.cf with params, master.cf with the cleanup service; start; wait for its socket."""
    base = {"myhostname": HOST, "myorigin": ORIGIN, "service_throttle_time": "1s"}
    base.update(params)
    tern.write_main_cf(base)
    tern.write_master_cf(["cleanup unix - - n - 0 cleanup"])
    tern.start()
    sock = tern.queue_dir / "private" / "cleanup"
    wait_for(sock.exists, what="the cleanup socket")
    return tern


def submit(tern, sender="alice@example.org", rcpts=("bob@example.org",), content=b"", **info):
    env = dict(SMTP_CLIENT)
    env.update(info)
    with Cleanup(tern) as c:
        return c.submit(sender, rcpts, content, **env)


def incoming(tern):
    d = tern.queue_dir / "incoming"
    return sorted(os.listdir(d)) if d.exists() else []


def read_queue_file(tern, qid):
    return queue_file.parse((tern.queue_dir / "incoming" / qid).read_bytes())


def message(*header, body=b"", eol=b"\r\n"):
    return b"".join(h + eol for h in header) + eol + body


def wait_empty(tern, what):
    """Give cleanup time to see the client go; incoming/ must then be empty."""
    time.sleep(0.5)
    assert incoming(tern) == [], what


# ---------------------------------------------------------------- tests


def test_queued_message(tern):
    start_mta(tern)
    offset = tern.log_size()
    body = b"first line\r\nbare\rCR inside\r\n\r\nlast line, LF only\n"
    content = message(b"From: Alice <alice@example.org>", b"Subject: hello", body=body)
    res = submit(tern, content=content, envid="env-7", ret=2)
    assert res["status"] == 0 and res["dsn"] == "2.0.0", res
    qid = res["queue_id"]
    assert queue_file.QUEUE_ID.match(qid), qid
    assert res["text"] == f"queued as {qid}"
    assert incoming(tern) == [qid]
    qf = read_queue_file(tern, qid)
    assert qf.sender == "alice@example.org"
    assert qf.envid == "env-7" and qf.ret == "HDRS" and qf.flags == 0
    assert [r["address"] for r in qf.rcpts] == ["bob@example.org"]
    assert qf.attrs["client_addr"] == "192.0.2.10" and qf.attrs["helo"] == "client.example.net"
    assert qf.attrs["tls_info"] == TLS_INFO
    header, lines = queue_file.header_and_body(qf)
    flds = queue_file.fields(header)
    received = b"\n".join(flds[0])
    assert re.match(
        rb"Received: from client\.example\.net \(client\.example\.net \[192\.0\.2\.10\]\)\n"
        rb"\t\(using TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 \(256/256 bits\)\)\n"
        rb"\tby mx\.test\.example \(Tern\) with ESMTPS id " + qid.encode() + rb"\n"
        rb"\tfor <bob@example\.org>\n"
        rb"\ttls TLS_AES_256_GCM_SHA384; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}",
        received,
    ), received
    assert flds[1] == [b"From: Alice <alice@example.org>"]
    assert flds[2] == [b"Subject: hello"]
    msgid = flds[3][0].decode()
    assert re.fullmatch(r"Message-ID: <" + qid + r"\.[0-9a-z]{8}@mx\.test\.example>", msgid)
    assert flds[4][0].startswith(b"Date: ")
    assert len(flds) == 5
    assert lines == [b"first line", b"bare\rCR inside", b"", b"last line, LF only"]
    assert qf.extracted == {"message_id": msgid[len("Message-ID: ") :]}
    assert qf.sizes["size"] == sum(len(line) + 2 for line in qf.lines)
    tern.wait_log(rf"{qid}: message-id=" + re.escape(msgid[len("Message-ID: "):]), offset)


def test_headers_of_the_message_kept(tern):
    start_mta(tern)
    offset = tern.log_size()
    content = message(
        b"Message-ID: <own.1@example.org> ",
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000",
        b"Subject: folded",
        b"  second line",
        body=b"body\r\n",
    )
    res = submit(tern, rcpts=("a@example.org", "b@example.org"), content=content,
                 sasl_method="PLAIN", sasl_username="alice.secret", protocol="ESMTPSA")
    qf = read_queue_file(tern, res["queue_id"])
    header, body = queue_file.header_and_body(qf)
    flds = queue_file.fields(header)
    assert [f[0].split(b":")[0] for f in flds] == [b"Received", b"Message-ID", b"Date", b"Subject"]
    assert flds[3] == [b"Subject: folded", b"  second line"]
    received = b"\n".join(flds[0])
    assert b" for <" not in received  # two recipients: none named
    assert b"with ESMTPSA" in received and b"alice.secret" not in received
    assert qf.attrs["sasl_username"] == "alice.secret"
    assert body == [b"body"]
    assert qf.extracted["message_id"] == "<own.1@example.org>"
    tern.wait_log(rf"{res['queue_id']}: message-id=<own\.1@example\.org>", offset)


def test_sasl_username_when_asked(tern):
    start_mta(tern, received_sasl_username="yes")
    res = submit(tern, content=message(b"Subject: x"), sasl_method="PLAIN",
                 sasl_username="alice", protocol="ESMTPSA")
    qf = read_queue_file(tern, res["queue_id"])
    received = b"\n".join(queue_file.fields(queue_file.header_and_body(qf)[0])[0])
    assert b"\n\t(authenticated sender: alice)\n\tby " in received


def test_received_of_odd_clients(tern):
    start_mta(tern, received_sasl_username="yes")
    res = submit(tern, content=message(b"Subject: x"), client_name="unknown",
                 client_addr="2001:db8::7", helo="bad (helo) name;", tls_info=None,
                 sasl_username="user (with) parens \\", protocol="ESMTPA")
    qf = read_queue_file(tern, res["queue_id"])
    flds = queue_file.fields(queue_file.header_and_body(qf)[0])
    assert flds[0][0] == b"Received: from bad??helo??name? ([IPv6:2001:db8::7])"
    assert flds[0][1] == b"\t(authenticated sender: user (with) parens \\\\)"
    assert flds[0][2] == b"\tby mx.test.example (Tern) with ESMTPA id " + res["queue_id"].encode()
    # no HELO and no name: the address literal stands for the client
    res = submit(tern, content=message(b"Subject: x"), client_name=None, helo=None,
                 sasl_username="unbalanced ) paren", protocol="SMTP", tls_info=None)
    qf = read_queue_file(tern, res["queue_id"])
    flds = queue_file.fields(queue_file.header_and_body(qf)[0])
    assert flds[0][0] == b"Received: from [192.0.2.10] ([192.0.2.10])"
    assert flds[0][1] == b"\t(authenticated sender: unbalanced \\) paren)"


def test_wakes_qmgr(tern):
    start_mta(tern)
    path = tern.queue_dir / "public" / "qmgr"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as qmgr:
        qmgr.bind(str(path))
        os.chmod(path, 0o666)  # cleanup may run as mail_owner
        qmgr.listen(5)
        qmgr.settimeout(10)
        res = submit(tern, content=message(b"Subject: wake up"))
        assert res["status"] == 0
        conn, _ = qmgr.accept()
        with conn:
            conn.settimeout(10)
            assert conn.recv(16) == b"W"
    os.unlink(path)


def test_local_submission(tern):
    start_mta(tern)
    content = b"Subject: from pickup\n\nhi\n"
    with Cleanup(tern) as c:
        c.envelope("alice@test.example", flags=8, local_user="alice",
                   full_name="Alice Q. Example")
        c.rcpt("bob@example.org")
        c.data(content)
        res = c.end()
        # a second message on the same connection, with a name that needs encoding
        c.envelope("alice@test.example", flags=8, local_user="alice", full_name="Zoë Ünal")
        c.rcpt("bob@example.org")
        c.data(content)
        res2 = c.end()
    qf = read_queue_file(tern, res["queue_id"])
    header, _ = queue_file.header_and_body(qf)
    flds = queue_file.fields(header)
    assert flds[0][0] == b"Received: by mx.test.example (Tern, from user alice)"
    assert flds[0][1].startswith(b"\tid " + res["queue_id"].encode())
    assert [b"From: \"Alice Q. Example\" <alice@test.example>"] in flds
    qf2 = read_queue_file(tern, res2["queue_id"])
    frm = [f for f in queue_file.fields(queue_file.header_and_body(qf2)[0]) if f[0].startswith(b"From:")]
    assert frm == [[b"From: =?UTF-8?Q?Zo=C3=AB_=C3=9Cnal?= <alice@test.example>"]]


def test_header_without_empty_line(tern):
    start_mta(tern)
    content = b"Subject: x\r\nthis is the body already\r\nsecond\r\n"
    res = submit(tern, content=content)
    qf = read_queue_file(tern, res["queue_id"])
    header, body = queue_file.header_and_body(qf)
    assert [f[0][:5] for f in queue_file.fields(header)] == [b"Recei", b"Subje", b"Messa", b"Date:"]
    assert body == [b"this is the body already", b"second"]


def test_long_lines_and_no_final_newline(tern):
    start_mta(tern)
    rnd = random.Random(5)
    long_line = bytes(rnd.choice(b"abcdefghij") for _ in range(300000))
    content = message(b"Subject: long", body=b"a\r\n" + long_line + b"\r\nend without newline")
    with Cleanup(tern) as c:
        c.envelope("alice@example.org", **SMTP_CLIENT)
        c.rcpt("bob@example.org")
        # odd chunk sizes: line ends and CRLF pairs split between records
        for i in range(0, len(content), 4093):
            c.data(content[i : i + 4093])
        res = c.end()
    qf = read_queue_file(tern, res["queue_id"])
    _, body = queue_file.header_and_body(qf)
    assert body == [b"a", long_line, b"end without newline"]
    assert sum(1 for r in qf.records if r[0] == "C") >= 300000 // 4096


def test_abort_and_disconnect_leave_nothing(tern):
    start_mta(tern)
    content = message(b"Subject: x", body=b"y" * 200000 + b"\r\n")
    with Cleanup(tern) as c:
        c.envelope("alice@example.org", **SMTP_CLIENT)
        c.rcpt("bob@example.org")
        c.data(content)
        c.abort()
        # the connection goes on: the next message is queued
        res = c.submit("alice@example.org", ["bob@example.org"], b"Subject: y\r\n\r\nz\r\n",
                       **SMTP_CLIENT)
    assert incoming(tern) == [res["queue_id"]]
    os.unlink(tern.queue_dir / "incoming" / res["queue_id"])
    for cut in (0, 1, 3):
        with Cleanup(tern) as c:
            c.envelope("alice@example.org", **SMTP_CLIENT)
            c.rcpt("bob@example.org")
            if cut >= 1:
                c.data(content[:100000])
            if cut >= 3:
                c.sock.sendall(b"7:request,3:end")  # half a record
        wait_empty(tern, f"client gone (case {cut})")


def test_message_size_limit(tern):
    start_mta(tern, message_size_limit="20k")
    offset = tern.log_size()
    body = b"x" * 78 + b"\r\n"
    ok = message(b"Subject: fits", body=body * 200)
    assert len(ok) < 20 * 1024
    assert submit(tern, content=ok)["status"] == 0
    res = submit(tern, content=message(b"Subject: too big", body=body * 300))
    assert (res["status"], res["dsn"], res["text"]) == (552, "5.3.4",
                                                         "message size exceeds fixed limit")
    assert res["queue_id"] == ""
    assert len(incoming(tern)) == 1
    tern.wait_log(r"\w+: reject: message size over the limit of 20480 bytes from "
                  r"client\.example\.net\[192\.0\.2\.10\]; from=<alice@example\.org> "
                  r"to=<bob@example\.org> proto=ESMTPS helo=<client\.example\.net>: "
                  r"552 5\.3\.4 message size exceeds fixed limit", offset)
    # an announced size over the limit is refused as well
    res = submit(tern, content=ok, size_hint=30000)
    assert res["status"] == 552


def test_header_limits(tern):
    start_mta(tern, header_size_limit="2k", header_count_limit="20", hopcount_limit="5")
    offset = tern.log_size()
    # a field of exactly 2048 bytes with its CRLFs fits; one byte more does not
    first = b"X-Long: " + b"a" * 1000
    cont = b" " + b"b" * (2048 - (len(first) + 2) - 2 - 1)
    assert submit(tern, content=message(first, cont))["status"] == 0
    res = submit(tern, content=message(first, cont + b"c"))
    assert (res["status"], res["dsn"], res["text"]) == (552, "5.3.4",
                                                         "message header field too long")
    tern.wait_log(r"reject: header X-Long: a{92} from client\.example\.net\[192\.0\.2\.10\]; "
                  r"from=<alice@example\.org> to=<bob@example\.org> proto=ESMTPS "
                  r"helo=<client\.example\.net>: 552 5\.3\.4 message header field too long",
                  offset)
    # one unterminated line longer than the limit, sent before its end is known
    with Cleanup(tern) as c:
        c.envelope("alice@example.org", **SMTP_CLIENT)
        c.rcpt("bob@example.org")
        c.data(b"X-Huge: " + b"h" * 10000)
        c.data(b"h" * 10000 + b"\r\n\r\nbody\r\n")
        assert c.end()["dsn"] == "5.3.4"
    # a long first line that is no header field begins the body, even before its end is seen
    with Cleanup(tern) as c:
        c.envelope("alice@example.org", **SMTP_CLIENT)
        c.rcpt("bob@example.org")
        c.data(b"z" * 5000)
        c.data(b"\r\nmore\r\n")
        res = c.end()
    assert res["status"] == 0
    _, body = queue_file.header_and_body(read_queue_file(tern, res["queue_id"]))
    assert body == [b"z" * 5000, b"more"]
    # 20 fields fit, 21 do not
    fields = [b"X-F%d: v" % i for i in range(20)]
    assert submit(tern, content=message(*fields))["status"] == 0
    res = submit(tern, content=message(*fields, b"X-One-More: v"))
    assert (res["status"], res["dsn"], res["text"]) == (552, "5.3.4",
                                                         "too many message header fields")
    # 4 Received: fields pass (with cleanup's own, 5), 5 make a loop
    hops = [b"Received: from h%d by h%d; Mon, 1 Jan 2024 00:00:00 +0000" % (i, i + 1)
            for i in range(5)]
    assert submit(tern, content=message(*hops[:4]))["status"] == 0
    res = submit(tern, content=message(*hops))
    assert (res["status"], res["dsn"], res["text"]) == (554, "5.4.6", "too many hops")
    tern.wait_log(r"\w+: reject: header Received: from h4 by h5; Mon, 1 Jan 2024 00:00:00 "
                  r"\+0000 from client\.example\.net\[192\.0\.2\.10\]; from=<alice@example\.org> "
                  r"to=<bob@example\.org> proto=ESMTPS helo=<client\.example\.net>: "
                  r"554 5\.4\.6 too many hops", offset)
    for name in incoming(tern):
        read_queue_file(tern, name)  # only complete files


def test_protocol_violation_leaves_nothing(tern):
    start_mta(tern)
    offset = tern.log_size()
    with Cleanup(tern) as c:
        c.envelope("alice@example.org", **SMTP_CLIENT)
        c.data(b"Subject: x\r\n\r\n")
        c.rcpt("late@example.org")  # a recipient after the content
        with pytest.raises((ProtocolEnd, ConnectionError)):
            c.end()
    tern.wait_log(r"client protocol error: recipient after the content began", offset)
    wait_empty(tern, "protocol violation")


# ---------------------------------------------------------------- kill -9 under load


def make_message(rnd, token):
    """A message with its own Message-ID and Date (so cleanup adds only Received:)."""
    header = [
        b"From: <load@example.org>",
        b"To: <sink@example.org>",
        b"Subject: " + token.encode(),
        b"Message-ID: <" + token.encode() + b"@example.org>",
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000",
    ]
    body = []
    for _ in range(rnd.randint(1, 200)):
        n = rnd.choice((0, 10, 76, 76, 76, 200, 5000))
        body.append(bytes(rnd.randrange(33, 127) for _ in range(n)) if n < 200 else
                    (token.encode() * (n // len(token) + 1))[:n])
    lines = header + [b""] + body
    return b"".join(line + b"\r\n" for line in lines), lines


def digest(lines):
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


def cleanup_pids(tern):
    pids = []
    for pid in children_of(tern.pid):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "cleanup":
                    pids.append(pid)
        except FileNotFoundError:
            pass
    return pids


def test_kill9_under_load(tern):
    """SIGKILL cleanup processes while 8 clients submit: acknowledged means on disk, intact.

    The killer picks 1 to 3 of the cleanup processes 25 times, 50 to 300 ms
    apart; each client submits messages in a loop until the killer is done.
    """
    start_mta(tern)
    workers, per_worker_max, kills_wanted = 8, 1000, 25
    results = []  # (queue_id or None, sender, digest)
    lock = threading.Lock()
    stop = threading.Event()
    kills = []

    def worker(n):
        rnd = random.Random(1000 + n)
        for i in range(per_worker_max):
            if stop.is_set():
                return
            token = f"w{n}m{i}x{rnd.randrange(1 << 30)}"
            content, lines = make_message(rnd, token)
            sender = f"{token}@example.org"
            qid = None
            try:
                with Cleanup(tern, timeout=30) as c:
                    res = c.submit(sender, ["sink@example.org"], content, **SMTP_CLIENT)
                assert res["status"] == 0, res
                qid = res["queue_id"]
            except (OSError, ProtocolEnd):
                pass  # killed mid-conversation: not acknowledged
            with lock:
                results.append((qid, sender, digest(lines)))

    def killer():
        rnd = random.Random(7)
        deadline = time.monotonic() + 60
        while len(kills) < kills_wanted and time.monotonic() < deadline and not stop.is_set():
            time.sleep(rnd.uniform(0.05, 0.3))
            pids = cleanup_pids(tern)
            if not pids:
                continue
            for pid in rnd.sample(pids, rnd.randint(1, min(3, len(pids)))):
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
                except ProcessLookupError:
                    pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    kt = threading.Thread(target=killer)
    for t in threads + [kt]:
        t.start()
    kt.join(70)
    stop.set()  # the load goes on while the killer works, then each client ends its message
    deadline = time.monotonic() + 100
    for t in threads:
        t.join(max(1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads + [kt]), "load did not finish in time"

    acked = {qid: (sender, d) for qid, sender, d in results if qid}
    lost = [(sender, d) for qid, sender, d in results if not qid]
    assert len(kills) >= 10, f"only {len(kills)} kills"
    assert lost, "no submission was cut off by a kill: the test proves nothing"
    assert len(acked) > len(results) // 4

    # let killed sessions' files disappear and surviving ones finish
    time.sleep(1)
    names = incoming(tern)
    by_digest = {}
    for name in names:
        if name.startswith("."):
            continue  # a temporary file of a killed cleanup: never taken by qmgr
        assert queue_file.QUEUE_ID.match(name), f"unexpected file {name}"
        qf = read_queue_file(tern, name)  # raises unless complete
        header, body = queue_file.header_and_body(qf)
        flds = queue_file.fields(header)
        assert flds[0][0].startswith(b"Received: from client.example.net ")
        lines = qf.lines[len(flds[0]) :]
        by_digest[name] = (qf.sender, digest(lines))
    for qid, (sender, d) in acked.items():
        assert qid in by_digest, f"acknowledged {qid} is not in incoming/"
        assert by_digest[qid] == (sender, d), f"acknowledged {qid} differs from what was sent"
    # files of unacknowledged messages: complete (checked above) and intact
    lost_set = set(lost)
    for name, got in by_digest.items():
        if name not in acked:
            assert got in lost_set, f"{name} matches no submission"
    print(f"kill test: {len(results)} submissions, {len(acked)} acknowledged, "
          f"{len(lost)} cut off, {len(kills)} kills, {len(by_digest) - len(acked)} "
          f"unacknowledged but queued, {sum(n.startswith('.') for n in names)} temporary files")
