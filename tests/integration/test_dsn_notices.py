"""Delivery status notifications end to end: cleanup, qmgr and the smtp agent
deliver to a relay host that is a small SMTP server in this file; each notice
that qmgr sends (mail/bounce.h) is delivered like any message and lands on that
same server, where the tests take it apart with Python's email package.

A 5xx reply bounces to the sender; a message from the null sender that fails
goes to the postmaster from double_bounce_sender; a message that stays deferred
past maximal_queue_lifetime is returned (4.4.7); a delay warning goes out once
after delay_warning_time; NOTIFY=SUCCESS gets a success notice; a virtual alias
loop bounces. Notices carry the RFC 3464 fields and RFC 3834's Auto-Submitted.
"""
import email
import email.policy
import email.utils
import re
import socket
import threading
import time

import pytest

from conftest import free_port, wait_for

HOST = "mx.test.example"
ORIGIN = "test.example"
SENDER = "alice@example.org"


# ---------------------------------------------------------------- the relay host


class SmtpServer:
    """An SMTP server on 127.0.0.1: RCPT answers come from reply(address); each
    accepted transaction is kept as (mail_from, [rcpts], data bytes)."""

    def __init__(self, reply):
        self.reply = reply
        self.port = free_port()
        self.messages = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        f = conn.makefile("rb")
        send = lambda line: conn.sendall(line.encode() + b"\r\n")
        try:
            send("220 relay.test ESMTP")
            mail_from, rcpts = None, []
            for raw in f:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb = line[:4].upper()
                if verb in ("EHLO", "HELO"):
                    send("250-relay.test\r\n250-8BITMIME\r\n250 SMTPUTF8")
                elif verb == "MAIL":
                    mail_from, rcpts = re.search(r"<([^>]*)>", line).group(1), []
                    send("250 2.1.0 ok")
                elif verb == "RCPT":
                    addr = re.search(r"<([^>]*)>", line).group(1)
                    code, text = self.reply(addr)
                    if code == 250:
                        rcpts.append(addr)
                    send(f"{code} {text}")
                elif verb == "DATA":
                    send("354 go ahead")
                    data = b""
                    for d in f:
                        if d in (b".\r\n", b".\n"):
                            break
                        data += d[1:] if d.startswith(b".") else d
                    with self.lock:
                        self.messages.append((mail_from, rcpts, data))
                    send("250 2.0.0 queued here")
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    send("250 ok")
                elif verb == "QUIT":
                    send("221 bye")
                    break
                else:
                    send("250 ok")
        except OSError:
            pass
        finally:
            conn.close()

    def received(self, mail_from=None):
        with self.lock:
            return [m for m in self.messages if mail_from is None or m[0] == mail_from]

    def stop(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


def replies(addr):
    local = addr.split("@")[0]
    if local.startswith("bad"):
        return 550, "5.1.1 <%s>: no such user here" % addr
    if local.startswith("slow"):
        return 451, "4.2.2 mailbox busy, try later"
    return 250, "2.1.5 ok"


@pytest.fixture
def relay():
    server = SmtpServer(replies)
    yield server
    server.stop()


# ---------------------------------------------------------------- Tern


@pytest.fixture(autouse=True)
def no_sanitizer_reports(tern):
    """Under ASan/UBSan builds, a report on master's stderr (children share it) fails the test."""
    yield
    path = tern.stderr_path
    text = path.read_text(errors="replace") if path.exists() else ""
    assert "runtime error" not in text and "Sanitizer" not in text, text[:3000]



def start(tern, relay, **params):
    main = {
        "myhostname": HOST,
        "myorigin": ORIGIN,
        "mydomain": ORIGIN,
        "relayhost": f"[127.0.0.1]:{relay.port}",
        "minimal_backoff_time": "2s",
        "maximal_backoff_time": "4s",
        "queue_run_delay": "1s",
        "service_throttle_time": "1s",
        "delay_warning_time": "0",
        "smtp_connection_cache_time": "0s",
    }
    main.update(params)
    tern.write_main_cf(main)
    tern.write_master_cf([
        "cleanup unix - - n - 0 cleanup",
        "auth unix - - n - 1 auth",
        "qmgr unix n - n 300 1 qmgr -o max_idle=86400s -o max_use=10000000",
        "smtp unix - - n - 4 smtp",
    ])
    r = tern.run("ternctl", "check")
    assert r.returncode == 0, r.stderr
    tern.start()
    for sock in ("private/cleanup", "public/qmgr", "private/smtp"):
        wait_for((tern.queue_dir / sock).exists, what=f"the socket {sock}")
    return tern


def _netstring(value):
    value = value if isinstance(value, bytes) else str(value).encode()
    return str(len(value)).encode() + b":" + value + b","


def submit(tern, sender, rcpts, notify=0, ret=0, envid="", orcpt="", subject="lunch"):
    """Queue a message through cleanup (as smtpd does); returns its queue ID."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(str(tern.queue_dir / "private" / "cleanup"))

    def answer():
        buf = b""
        while not buf.endswith(b"0:,"):
            data = s.recv(65536)
            assert data, "cleanup closed the connection"
            buf += data
        return buf

    assert answer() == b"8:protocol,7:cleanup,7:version,1:1,0:,"
    rec = lambda pairs: s.sendall(b"".join(_netstring(n) + _netstring(v) for n, v in pairs)
                                  + b"0:,")
    rec([("request", "envelope"), ("sender", sender), ("flags", 0), ("ret", ret),
         ("size_hint", -1), ("envid", envid), ("client_addr", "192.0.2.7"),
         ("client_name", "client.example"), ("helo", "client.example"), ("protocol", "ESMTP")])
    for r in rcpts:
        rec([("request", "rcpt"), ("rcpt", r), ("orcpt", orcpt), ("notify", notify)])
    content = (f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\nSubject: {subject}\r\n"
               f"Message-ID: <{subject}.1@example.org>\r\n\r\nsee you at noon\r\n").encode()
    rec([("request", "data"), ("data", content)])
    rec([("request", "end")])
    buf = answer()
    s.close()
    m = re.search(rb"8:queue_id,(\d+):([0-9A-Z]*),", buf)
    assert m and b"6:status,1:0," in buf, buf
    return m.group(2).decode()


def queue_empty(tern):
    return all(not [n for n in (tern.queue_dir / d).iterdir() if not n.name.startswith(".")]
               for d in ("incoming", "active", "deferred"))


# ---------------------------------------------------------------- notices


class Notice:
    """A delivery status notification taken apart."""

    def __init__(self, data):
        self.msg = email.message_from_bytes(data, policy=email.policy.compat32)
        assert self.msg.get_content_type() == "multipart/report"
        assert self.msg.get_param("report-type") == "delivery-status"
        self.parts = self.msg.get_payload()
        assert len(self.parts) == 3
        self.text = self.parts[0].get_payload()
        assert self.parts[1].get_content_type() == "message/delivery-status"
        groups = self.parts[1].get_payload()  # email parses the field groups as messages
        self.per_message = groups[0]
        self.recipients = groups[1:]
        self.original = self.parts[2]

    def rcpt(self, address):
        (g,) = [g for g in self.recipients if g["Final-Recipient"] == f"rfc822; {address}"]
        return g


def notices(relay, to, subject=None, count=1, timeout=30):
    """Wait for count notices from <> to the address; return them."""
    def found():
        got = [Notice(d) for f, r, d in relay.received("") if r == [to]]
        got = [n for n in got if subject is None or n.msg["Subject"] == subject]
        return got if len(got) >= count else None
    return wait_for(found, timeout=timeout, what=f"{count} notice(s) to {to}")


def check_common(n, to, original_subject="lunch"):
    assert n.msg["From"] == f"Mail Delivery System <MAILER-DAEMON@{HOST}>"
    assert n.msg["To"] == f"<{to}>"
    assert n.msg["Auto-Submitted"] == "auto-replied"
    assert n.msg["In-Reply-To"] == f"<{original_subject}.1@example.org>"
    assert n.msg["References"] == f"<{original_subject}.1@example.org>"
    assert n.msg["Message-ID"] and n.msg["Date"]
    assert n.per_message["Reporting-MTA"] == f"dns; {HOST}"
    assert n.per_message["Arrival-Date"]


# ---------------------------------------------------------------- tests


def test_5xx_bounces_to_the_sender(tern, relay):
    start(tern, relay)
    qid = submit(tern, SENDER, ["bad@example.net", "good@example.net"], envid="ENV-1",
                 orcpt="rfc822;Bad@Example.NET")
    (n,) = notices(relay, SENDER)
    check_common(n, SENDER)
    assert n.msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert n.per_message["Original-Envelope-Id"] == "ENV-1"
    assert n.per_message["X-Tern-Queue-ID"] == qid
    g = n.rcpt("bad@example.net")
    assert len(n.recipients) == 1  # good@ was delivered
    assert g["Original-Recipient"] == "rfc822;Bad@Example.NET"
    assert g["Action"] == "failed" and g["Status"] == "5.1.1"
    assert g["Remote-MTA"] in ("dns; 127.0.0.1", "dns; [127.0.0.1]")
    assert g["Diagnostic-Code"].startswith("smtp; 550 5.1.1 <bad@example.net>: no such user")
    assert g["Last-Attempt-Date"]
    assert re.search(r"<bad@example.net>: host \[?127.0.0.1\]? said: 550 5.1.1", n.text)
    # the whole message comes back
    assert n.original.get_content_type() == "message/rfc822"
    returned = n.original.get_payload()[0]
    assert returned["Subject"] == "lunch" and "see you at noon" in returned.get_payload()
    # the original went to good@ only, and the queue empties
    assert [(f, r) for f, r, d in relay.received(SENDER)] == [(SENDER, ["good@example.net"])]
    wait_for(lambda: queue_empty(tern), what="an empty queue")
    assert not any((tern.queue_dir / k / qid).exists() for k in ("bounce", "defer", "trace"))


def test_null_sender_failure_goes_to_postmaster(tern, relay):
    start(tern, relay)
    submit(tern, "", ["bad@example.net"], subject="autoreply")
    wait_for(lambda: relay.received(f"double-bounce@{ORIGIN}"), timeout=30,
             what="the double bounce")
    ((frm, rcpts, data),) = relay.received(f"double-bounce@{ORIGIN}")
    assert rcpts == [f"postmaster@{ORIGIN}"]
    n = Notice(data)
    check_common(n, f"postmaster@{ORIGIN}", "autoreply")
    assert n.msg["Subject"] == "Undelivered Mail Returned to Postmaster"
    assert n.rcpt("bad@example.net")["Status"] == "5.1.1"
    # nothing goes to <> itself
    assert relay.received("") == []
    wait_for(lambda: queue_empty(tern), what="an empty queue")


def test_expired_message_is_returned(tern, relay):
    start(tern, relay, maximal_queue_lifetime="1s")
    qid = submit(tern, SENDER, ["slow@example.net"], ret=2)  # RET=HDRS
    (n,) = notices(relay, SENDER)
    check_common(n, SENDER)
    g = n.rcpt("slow@example.net")
    assert g["Action"] == "failed" and g["Status"] == "4.4.7"
    assert g["Diagnostic-Code"] == "smtp; 451 4.2.2 mailbox busy, try later"
    assert "within 1 second" in n.text
    assert n.original.get_content_type() == "text/rfc822-headers"
    assert "Subject: lunch" in n.original.get_payload()
    assert "see you at noon" not in n.original.get_payload()
    wait_for(lambda: queue_empty(tern), what="an empty queue")
    assert not any((tern.queue_dir / k / qid).exists() for k in ("bounce", "defer", "trace"))


def test_delay_warning_once(tern, relay):
    start(tern, relay, delay_warning_time="1s", maximal_queue_lifetime="1h")
    qid = submit(tern, SENDER, ["slow@example.net", "slow2@example.net"], notify=4 | 8)
    (n,) = notices(relay, SENDER)
    check_common(n, SENDER)
    assert n.msg["Subject"] == "Delayed Mail (still being retried)"
    assert {g["Final-Recipient"] for g in n.recipients} == {
        "rfc822; slow@example.net", "rfc822; slow2@example.net"}
    g = n.rcpt("slow@example.net")
    assert g["Action"] == "delayed" and g["Status"] == "4.2.2"
    assert g["Diagnostic-Code"] == "smtp; 451 4.2.2 mailbox busy, try later"
    arrival = email.utils.parsedate_to_datetime(n.per_message["Arrival-Date"])
    until = email.utils.parsedate_to_datetime(g["Will-Retry-Until"])
    assert abs((until - arrival).total_seconds() - 3600) <= 1
    assert n.original.get_content_type() == "text/rfc822-headers"
    # more rounds pass; the warning is not repeated, and the message waits on
    time.sleep(6)
    assert len([1 for f, r, d in relay.received("") if r == [SENDER]]) == 1
    r = tern.run("ternqueue", "list", "--json")
    assert qid in r.stdout and "mailbox busy" in r.stdout
    assert tern.run("ternqueue", "delete", qid).returncode == 0


def test_success_notice(tern, relay):
    start(tern, relay)
    submit(tern, SENDER, ["good@example.net", "quiet@example.net"], notify=2)
    (n,) = notices(relay, SENDER)
    check_common(n, SENDER)
    assert n.msg["Subject"] == "Successful Mail Delivery Report"
    assert len(n.recipients) == 2
    g = n.rcpt("good@example.net")
    assert g["Action"] in ("relayed", "delivered") and g["Status"].startswith("2.")
    assert n.original.get_content_type() == "text/rfc822-headers"


def test_alias_loop_bounces(tern, relay, tmp_path):
    aliases = tmp_path / "virtual"
    aliases.write_text("loop1@example.net loop2@example.net\n"
                       "loop2@example.net loop1@example.net\n")
    aliases.chmod(0o644)
    tmp_path.chmod(0o755)
    start(tern, relay, virtual_alias_maps=f"texthash:{aliases}")
    submit(tern, SENDER, ["loop1@example.net"])
    (n,) = notices(relay, SENDER)
    check_common(n, SENDER)
    (g,) = n.recipients
    assert g["Action"] == "failed" and g["Status"] == "5.4.6"
    assert "loop" in g["Diagnostic-Code"]
    assert relay.received(SENDER) == []
    wait_for(lambda: queue_empty(tern), what="an empty queue")
