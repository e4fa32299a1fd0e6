"""smtpd: the SMTP protocol on a running server, with Python's smtplib and raw sockets.

Greeting and EHLO, the order and syntax of commands and their replies, mail
going into the queue (checked byte for byte in the queue file), PIPELINING,
BDAT, SMTPUTF8, 8BITMIME and the DSN parameters, VRFY and EXPN, HTTP
clients, and the log lines that Postfix log tools read (checked with
pflogsumm itself).
"""
import os
import pwd
import re
import shutil
import smtplib
import subprocess

import pytest

from conftest import TEST_USER, proc_uid
from smtp_helpers import (
    HOSTNAME,
    MailServer,
    RawSmtp,
    body_intact,
    client_tls_context,
    make_message,
    module_server,
    no_crashes,  # noqa: F401 (autouse fixture)
    queue_id_of,
    stop_server,
)

EXTENSIONS = ["PIPELINING", "SIZE 52428800", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME",
              "DSN", "SMTPUTF8", "CHUNKING"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = module_server(tmp_path_factory, "smtpd")
    yield s
    stop_server(s)


def smtp(server):
    return smtplib.SMTP("127.0.0.1", server.port, local_hostname="client.example", timeout=20)


# ---------------------------------------------------------------- greeting, EHLO, HELO


def test_greeting_and_ehlo(server):
    with RawSmtp(server.port) as c:
        assert c.greeting == (220, f"{HOSTNAME} ESMTP Tern")
        code, text = c.cmd("EHLO client.example")
        assert code == 250
        lines = text.split("\n")
        assert lines[0] == HOSTNAME
        assert lines[1:] == EXTENSIONS  # no AUTH (not enabled), no VRFY
        assert c.cmd("QUIT") == (221, "2.0.0 Bye")
        assert c.closed()


def test_helo_has_no_extensions(server):
    with RawSmtp(server.port) as c:
        assert c.cmd("HELO client.example") == (250, HOSTNAME)
        assert c.cmd("MAIL FROM:<a@remote.example> SIZE=10")[0] == 555
        assert c.cmd("MAIL FROM:<a@remote.example>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org> NOTIFY=NEVER")[0] == 555
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250


def test_ehlo_resets_the_transaction(server):
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>")[0] == 250
        c.ehlo()
        assert c.cmd("RCPT TO:<alice@example.org>") == (503, "5.5.1 Error: need MAIL command")


# ---------------------------------------------------------------- order and syntax


@pytest.mark.parametrize("commands", [
    [("MAIL FROM:<a@remote.example>", "503 5.5.1 Error: send HELO/EHLO first")],
    [("EHLO c", None), ("RCPT TO:<alice@example.org>", "503 5.5.1 Error: need MAIL command")],
    [("EHLO c", None), ("DATA", "503 5.5.1 Error: need MAIL command")],
    [("EHLO c", None), ("MAIL FROM:<>", "250 2.1.0 Ok"),
     ("DATA", "554 5.5.1 Error: no valid recipients")],
    [("EHLO c", None), ("MAIL FROM:<>", "250 2.1.0 Ok"),
     ("MAIL FROM:<>", "503 5.5.1 Error: nested MAIL command")],
    [("EHLO c", None), ("MAIL FROM:<>", "250 2.1.0 Ok"),
     ("RCPT TO:<nobody@example.org>", "550 5.1.1 "),
     ("DATA", "554 5.5.1 Error: no valid recipients")],
])
def test_command_order(server, commands):
    with RawSmtp(server.port) as c:
        for line, expected in commands:
            code, text = c.cmd(line)
            if expected is not None:
                assert f"{code} {text}".startswith(expected), (line, code, text)


@pytest.mark.parametrize("line,expected", [
    ("FOO", "500 5.5.2 Error: command not recognized"),
    ("", "500 5.5.2 Error: bad syntax"),
    ("MAIL FROM", "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]"),
    ("MAIL TO:<a@remote.example>", "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]"),
    ("MAIL FROM:<a@remote.example", "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]"),
    ("MAIL FROM:<a@@remote.example>", "553 5.1.7 Error: bad sender address syntax"),
    ("MAIL FROM:<a b@remote.example>", "553 5.1.7 Error: bad sender address syntax"),
    ("MAIL FROM:<a@remote.example> FOO=bar", "555 5.5.4 Error: unsupported parameter"),
    ("MAIL FROM:<a@remote.example> BODY=BINARYMIME", "555 5.5.4 Error: unsupported BODY type"),
    ("MAIL FROM:<a@remote.example> SIZE=x", "501 5.5.4 Error: bad SIZE parameter"),
    ("MAIL FROM:<a@remote.example> SIZE=1 SIZE=2", "501 5.5.4 Error: duplicate parameter"),
    ("MAIL FROM:<jöe@remote.example>", "553 5.6.7 "),
    ("DATA now", "501 5.5.4 Syntax: DATA"),
    ("EHLO", "501 5.5.4 Syntax: EHLO hostname"),
    ("NOOP \x01", "500 5.5.2 Error: control character in command"),
    ("EXPN staff", "502 5.5.1 Error: command not implemented"),
    ("VRFY alice@example.org", "502 5.5.1 VRFY command is disabled"),
])
def test_replies_to_bad_commands(server, line, expected):
    with RawSmtp(server.port) as c:
        c.ehlo()
        code, text = c.cmd(line)
        assert f"{code} {text}".startswith(expected), (line, code, text)
        assert c.cmd("NOOP") == (250, "2.0.0 Ok")  # the session goes on


@pytest.mark.parametrize("rcpt,expected", [
    ("<>", "553 5.1.3 Error: bad recipient address syntax"),
    ("<alice>", "553 5.1.3 Error: bad recipient address syntax"),
    ("<alice@example..org>", "553 5.1.3 Error: bad recipient address syntax"),
    ("<alice@-example.org>", "553 5.1.3 Error: bad recipient address syntax"),
    ("<用户@example.org>", "553 5.6.7 "),
])
def test_bad_recipient_syntax(server, rcpt, expected):
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>")[0] == 250
        code, text = c.cmd(f"RCPT TO:{rcpt}")
        assert f"{code} {text}".startswith(expected), (rcpt, code, text)


def test_noop_rset_help_quit(server):
    with RawSmtp(server.port) as c:
        assert c.cmd("NOOP") == (250, "2.0.0 Ok")
        assert c.cmd("NOOP what ever") == (250, "2.0.0 Ok")
        code, text = c.cmd("HELP")
        assert code == 214 and "EHLO" in text
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>")[0] == 250
        assert c.cmd("RSET") == (250, "2.0.0 Ok")
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 503
        assert c.cmd("QUIT") == (221, "2.0.0 Bye")
        assert c.closed()


def test_http_client_is_sent_away(server):
    offset = server.tern.log_size()
    with RawSmtp(server.port) as c:
        c.send("GET / HTTP/1.1\r\nHost: mx\r\n\r\n")
        code, text = c.reply()
        assert code == 221 and text.startswith("2.7.0")
        assert c.closed()
    server.tern.wait_log(r"warning: non-SMTP command from \S+\[127\.0\.0\.1\]: GET / HTTP/1\.1",
                         offset)


# ---------------------------------------------------------------- mail into the queue


def test_message_is_queued_intact(server):
    msg = make_message("intact", 20000)
    with smtp(server) as s:
        refused = s.sendmail("sender@remote.example", ["alice@example.org", "info@example.org"],
                             msg)
        assert refused == {}
        code, text = s.noop()
    with smtp(server) as s:
        s.ehlo()
        s.mail("sender@remote.example")
        s.rcpt("alice@example.org")
        code, text = s.data(msg)
        assert code == 250
        queue_id = queue_id_of(text.decode())
    q = server.queued(queue_id)
    assert q.sender == "sender@remote.example"
    assert [r[0] for r in q.rcpts] == ["alice@example.org"]
    assert q.attrs["client_addr"] == "127.0.0.1"
    assert q.attrs["helo"] == "client.example"
    assert q.attrs["protocol"] == "ESMTP"
    assert body_intact(q.content)
    assert q.header("Received").startswith("from client.example")
    assert q.content.endswith(msg.split(b"\r\n\r\n", 1)[1])


def test_dot_stuffing_and_empty_message(server):
    with RawSmtp(server.port) as c:
        c.ehlo()
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.org>")
        assert c.cmd("DATA")[0] == 354
        c.send("Subject: dots\r\n\r\n..leading dot\r\n...\r\n.\r\n")
        code, text = c.reply()
        assert code == 250
        q = server.queued(queue_id_of(text))
        assert q.content.endswith(b"\r\n.leading dot\r\n..\r\n")
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.org>")
        assert c.cmd("DATA")[0] == 354
        code, text = c.cmd(".")
        assert code == 250, text


def test_pipelining_with_smtplib(server):
    """smtplib announces nothing itself: the commands go out in one write on its socket."""
    with smtp(server) as s:
        s.ehlo()
        assert s.has_extn("pipelining")
        s.send(b"MAIL FROM:<p@remote.example>\r\nRCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
        replies = [s.getreply() for _ in range(5)]
        assert [r[0] for r in replies] == [250, 250, 550, 250, 354]
        s.send(make_message("pipelined") + b".\r\nMAIL FROM:<q@remote.example>\r\n"
               b"RCPT TO:<bob@example.org>\r\nDATA\r\n")
        code, text = s.getreply()
        assert code == 250
        first = queue_id_of(text.decode())
        assert [s.getreply()[0] for _ in range(3)] == [250, 250, 354]
        s.send(make_message("pipelined-2") + b".\r\nQUIT\r\n")
        code, text = s.getreply()
        assert code == 250
        second = queue_id_of(text.decode())
        assert s.getreply()[0] == 221
    assert [r[0] for r in server.queued(first).rcpts] == ["alice@example.org", "bob@example.org"]
    assert body_intact(server.queued(second).content)


def test_whole_session_in_one_write(server):
    """A client that sends everything at once gets every reply, in order, once."""
    msg = make_message("oneshot", 3000)
    with RawSmtp(server.port) as c:
        c.send(b"EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\n"
               b"DATA\r\n" + msg + b".\r\nNOOP\r\nRSET\r\nQUIT\r\n")
        codes = [c.reply()[0] for _ in range(8)]
        assert codes == [250, 250, 250, 354, 250, 250, 250, 221]
        assert c.closed()


def test_bdat_with_smtplib(server):
    chunks = [b"Subject: chunks\r\n\r\n", b"line one\r\n.\r\n..not stuffed\r\n",
              b"bare\nLF and a bare\rCR stay as they are in BDAT\r\n"]
    with smtp(server) as s:
        s.ehlo()
        assert s.has_extn("chunking")
        s.mail("b@remote.example")
        s.rcpt("alice@example.org")
        for chunk in chunks[:-1]:
            s.send(f"BDAT {len(chunk)}\r\n".encode() + chunk)
            assert s.getreply() == (250, f"2.0.0 Ok: {len(chunk)} bytes".encode())
        s.send(f"BDAT {len(chunks[-1])} LAST\r\n".encode() + chunks[-1])
        code, text = s.getreply()
        assert code == 250
        q = server.queued(queue_id_of(text.decode()))
        # no end-of-data marker and no dot-unstuffing in BDAT content
        assert b"\r\nline one\r\n.\r\n..not stuffed\r\n" in q.content
        # BDAT 0 LAST ends a message too; DATA after BDAT is out of order
        s.mail("b@remote.example")
        s.rcpt("alice@example.org")
        s.send(b"BDAT 10\r\nSubject:\r\n")
        assert s.getreply()[0] == 250
        assert s.docmd("DATA")[0] == 503
        s.send(b"BDAT 0 LAST\r\n")
        assert s.getreply()[0] == 250


def test_bdat_refused_chunk_is_still_read(server):
    with RawSmtp(server.port) as c:
        c.ehlo()
        # no transaction: the 20 bytes are read and dropped, not taken for commands
        c.send("BDAT 20\r\nQUIT\r\nQUIT\r\nQUIT\r\nQU")
        assert c.reply() == (503, "5.5.1 Error: need MAIL command")
        assert c.cmd("NOOP") == (250, "2.0.0 Ok")
        c.send("BDAT x\r\n")
        assert c.reply()[0] == 501
        assert c.closed()


def test_smtputf8_with_smtplib(server):
    msg = "From: <jöe@remote.example>\r\nSubject: ünïcode\r\n\r\nBody ✓\r\n".encode()
    with smtp(server) as s:
        s.ehlo()
        assert s.has_extn("smtputf8")
        s.mail("jöe@remote.example", ["SMTPUTF8", "BODY=8BITMIME"])
        assert s.rcpt("alice@example.org")[0] == 250
        assert s.rcpt("用户@例え.jp")[0] == 250  # loopback is in mynetworks: relayed
        code, text = s.data(msg)
        assert code == 250
    q = server.queued(queue_id_of(text.decode()))
    assert q.sender == "jöe@remote.example"
    assert q.flags & 1 and q.flags & 2  # SMTPUTF8, 8BITMIME
    assert [r[0] for r in q.rcpts] == ["alice@example.org", "用户@xn--r8jz45g.jp"]
    assert q.attrs["protocol"] == "UTF8SMTP"
    assert "Body ✓".encode() in q.content


def test_dsn_parameters_are_kept(server):
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<d@remote.example> RET=HDRS ENVID=env+2Bid-1")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE "
                     "ORCPT=rfc822;Alice+2Btag@Example.org")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org> NOTIFY=NEVER")[0] == 250
        assert c.cmd("RCPT TO:<info@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        code, text = c.cmd("Subject: dsn\r\n\r\nx\r\n.")
        assert code == 250
    q = server.queued(queue_id_of(text))
    assert q.envid == "env+id-1"
    assert q.ret == "HDRS"
    assert q.rcpts == [("alice@example.org", "rfc822;Alice+tag@Example.org", 2 | 4),
                       ("bob@example.org", "", 1), ("info@example.org", "", 0)]


def test_null_sender_and_postmaster(server):
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<>")[0] == 250
        code, text = c.cmd("RCPT TO:<Postmaster>")
        # postmaster@$mydomain is not in the test directory: refused as unknown there
        assert code == 550 and "postmaster@example.org" in text.lower()


# ---------------------------------------------------------------- VRFY


def test_vrfy_enabled(tern):
    server = MailServer(tern, main={"smtpd_vrfy_enable": "yes"})
    with RawSmtp(server.port) as c:
        assert "VRFY" in c.ehlo()
        assert c.cmd("VRFY alice@example.org") == (252, "2.0.0 <alice@example.org>")
        assert c.cmd("VRFY info@example.org")[0] == 252
        assert c.cmd("VRFY nobody@example.org")[:1] == (550,)
        assert c.cmd("VRFY someone@remote.example")[0] == 252
        assert c.cmd("VRFY not an address")[0] == 501


# ---------------------------------------------------------------- logging


def test_log_lines(server):
    offset = server.tern.log_size()
    with RawSmtp(server.port) as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.example>")
        c.cmd("RCPT TO:<alice@example.org>")
        c.cmd("RCPT TO:<nobody@example.org>")
        c.cmd("DATA")
        code, text = c.cmd("Subject: log\r\n\r\nx\r\n.")
        queue_id = queue_id_of(text)
        c.cmd("QUIT")
    t = server.tern
    t.wait_log(r"tern/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]\n", offset)
    t.wait_log(rf"tern/smtpd\[\d+\]: {queue_id}: client=localhost\[127\.0\.0\.1\]\n", offset)
    t.wait_log(r"tern/smtpd\[\d+\]: NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: "
               r"550 5\.1\.1 <nobody@example\.org>: Recipient address rejected: User unknown; "
               r"from=<s@remote\.example> to=<nobody@example\.org> proto=ESMTP "
               r"helo=<client\.example>\n", offset)
    t.wait_log(r"tern/smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 "
               r"rcpt=1/2 data=1 quit=1 commands=5/6\n", offset)


def test_pflogsumm_reads_the_log(server):
    """pflogsumm counts what smtpd logged (syslog puts a host name after the time stamp)."""
    pflogsumm = shutil.which("pflogsumm") or shutil.which("pflogsumm", path="/usr/sbin")
    if pflogsumm is None:
        pytest.skip("pflogsumm is not installed")
    with smtp(server) as s:
        s.sendmail("p@remote.example", ["alice@example.org"], make_message("pflog"))
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("p@remote.example", ["nobody@example.org"], make_message("pflog"))
    text = server.tern.log()
    syslog = re.sub(r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d)\.\d+ ", r"\1 mx ", text, flags=re.M)
    r = subprocess.run([pflogsumm, "--syslog-name=tern", "--problems-first"], input=syslog,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    received = re.search(r"^\s*(\d+)\s+received", r.stdout, re.M)
    rejected = re.search(r"^\s*(\d+)\s+rejected", r.stdout, re.M)
    assert received and int(received.group(1)) >= 1, r.stdout
    assert rejected and int(rejected.group(1)) >= 1, r.stdout
    assert "User unknown" in r.stdout


# ---------------------------------------------------------------- privileges


@pytest.mark.root
def test_chrooted_smtpd_runs_as_mail_owner(tern):
    """As root: smtpd drops to mail_owner, chroots to the queue, and still queues mail."""
    server = MailServer(tern, chroot=True, main={"smtpd_sasl_auth_enable": "yes"})
    msg = make_message("jailed")
    with smtp(server) as s:
        s.starttls(context=client_tls_context())
        s.login("alice@example.org", "alice-pw")
        s.ehlo()
        s.mail("alice@example.org")
        s.rcpt("bob@example.org")
        code, text = s.data(msg)
        assert code == 250
    q = server.queued(queue_id_of(text.decode()))
    assert body_intact(q.content)
    pids = server.pids("smtpd")
    assert pids
    user = pwd.getpwnam(TEST_USER)
    for pid in pids:
        assert proc_uid(pid) == user.pw_uid
        assert os.readlink(f"/proc/{pid}/root") == str(tern.queue_dir)
