"""The lmtp server with real LMTP clients, and on the paths mail really takes.

swaks --protocol LMTP (unix socket and loopback port), Postfix's
smtp-source -L (parallel sessions), Tern's own chain smtpd -> cleanup ->
qmgr -> smtp (LMTP) -> lmtp-store -> store, and Debian's Postfix with
virtual_transport = lmtp:inet:... pointing at Tern's lmtp (a foreign MTA;
Postfix's master must run as root).
"""
import os
import re
import shutil
import signal
import smtplib
import subprocess

import pytest

from conftest import wait_for
from lmtp_helpers import (
    StoreServer,
    message_text,
    no_crashes,  # noqa: F401 (autouse fixture)
)


def tool(name):
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def run(args, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run(args, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------- swaks


def swaks(*args):
    return run([tool("swaks"), "--protocol", "LMTP", "--helo", "mx.example.net",
                "--from", "sender@example.net", "--hide-informational", *args])


def test_swaks_on_the_socket_and_the_port(tern):
    srv = StoreServer(tern)
    r = swaks("--socket", str(srv.socket), "--to",
              "alice@example.org,nobody@example.org,sales@example.org",
              "--header", "Subject: swaks over LMTP")
    # swaks fails the run for the refused recipient, but sends to the others
    assert "<** 550 5.1.1 <nobody@example.org>: Error: user unknown" in r.stdout, r.stdout
    assert re.search(r"<-  250 2.0.0 <alice@example.org> Ok: saved to mailbox INBOX, uid 1\n",
                     r.stdout), r.stdout
    assert re.search(r"<-  250 2.0.0 <sales@example.org> Ok: saved for 2 accounts\n",
                     r.stdout), r.stdout
    r = swaks("--server", "127.0.0.1", "--port", str(srv.port), "--pipeline",
              "--to", "bob@example.org", "--header", "Subject: pipelined")
    assert r.returncode == 0, r.stdout + r.stderr
    (a,) = srv.messages("alice@example.org")
    assert b"\r\nSubject: swaks over LMTP\r\n" in message_text(a)
    assert [b"Subject: pipelined" in message_text(m) for m in srv.messages("bob@example.org")] \
        == [False, True]


# ---------------------------------------------------------------- smtp-source


def test_smtp_source_parallel_sessions(tern):
    srv = StoreServer(tern, maxproc=10)
    r = run([tool("smtp-source"), "-L", "-s", "10", "-m", "200", "-l", "2000",
             "-f", "sender@example.net", "-t", "alice@example.org", "-M", "source.example",
             f"unix:{srv.socket}"])
    assert r.returncode == 0, r.stdout + r.stderr
    # several messages per connection (-d), on the loopback port
    r = run([tool("smtp-source"), "-L", "-d", "-s", "2", "-m", "20", "-S", "reused",
             "-f", "sender@example.net", "-t", "bob@example.org", "-M", "source.example",
             f"127.0.0.1:{srv.port}"])
    assert r.returncode == 0, r.stdout + r.stderr
    msgs = srv.messages("alice@example.org")
    assert [m["uid"] for m in msgs] == list(range(1, 201))
    for m in msgs:
        assert m["path"].stat().st_size == m["size"]
    msgs = srv.messages("bob@example.org")
    assert len(msgs) == 20
    assert all(b"\r\nSubject: reused\r\n" in message_text(m) for m in msgs)
    sessions = re.findall(r"lmtp\[\d+\]: \w+: disconnect from \S+ lhlo=1 mail=(\d+) ",
                          tern.log())
    assert max(int(n) for n in sessions) > 1  # connections were reused


# ---------------------------------------------------------------- Tern end to end


def test_tern_smtpd_to_the_store(tern):
    smtp_port = tern.port()
    srv = StoreServer(tern, main={"mynetworks": "127.0.0.0/8", "smtp_connect_timeout": "5s"},
                      services=[f"127.0.0.1:{smtp_port} inet n - n - 4 smtpd",
                                "cleanup unix - - n - 0 cleanup",
                                "qmgr unix n - n 300 1 qmgr -o max_idle=1d -o max_use=10000000",
                                "lmtp unix - - n - 4 smtp -o smtp_protocol=lmtp"],
                      start=False)
    r = tern.run("ternctl", "check")
    assert r.returncode == 0, r.stdout + r.stderr
    srv.start()
    wait_for(lambda: (tern.queue_dir / "public" / "qmgr").exists(), what="qmgr")
    msg = ("From: <sender@example.net>\r\nTo: <info@example.org>\r\nSubject: end to end\r\n"
           "\r\nthrough the whole chain\r\n")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as s:
        s.ehlo("client.example")
        refused = s.sendmail("sender@example.net", ["info@example.org", "sales@example.org"],
                             msg)
        assert refused == {}
    wait_for(lambda: len(srv.messages("alice@example.org")) == 2
             and len(srv.messages("bob@example.org")) == 1, timeout=30,
             what="delivery into the store")
    qid = re.search(r"smtpd\[\d+\]: (\w+): client=", tern.log()).group(1)
    for m in srv.messages("alice@example.org") + srv.messages("bob@example.org"):
        text = message_text(m)
        assert text.startswith(b"Return-Path: <sender@example.net>\r\n")
        assert b"\r\nSubject: end to end\r\n" in text
        assert f" id {qid}".encode() in text
    log = tern.wait_log(rf"smtp\[\d+\]: {qid}: to=<alice@example.org>, orig_to=<info@example.org>"
                        r", relay=\S+, .*status=sent \(250 2.0.0 <alice@example.org> Ok: saved "
                        r"to mailbox INBOX, uid \d\)")
    assert log
    tern.wait_log(rf"lmtp\[\d+\]: {qid}: to=<bob@example.org>, relay=lmtp, delay=\S+, "
                  r"status=sent \(saved to mailbox INBOX, uid 1\)")


# ---------------------------------------------------------------- Postfix


POSTFIX_SBIN = "/usr/lib/postfix/sbin"


class Postfix:
    """A Postfix of its own in a directory, on loopback, never the system's Postfix."""

    def __init__(self, base, smtp_port, lmtp_port):
        self.base = base
        etc, queue, data = base / "etc", base / "queue", base / "data"
        for d in (etc, queue, data):
            d.mkdir(parents=True)
        shutil.chown(data, "postfix", "postfix")
        (etc / "main.cf").write_text(f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = {POSTFIX_SBIN}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = pf.example.net
mydomain = example.net
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
virtual_mailbox_domains = example.org
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
""")
        (etc / "master.cf").write_text(f"""127.0.0.1:{smtp_port} inet n - n - 4 smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
lmtp      unix - - n - - lmtp
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
""")
        r = run([f"{POSTFIX_SBIN}/post-install", f"config_directory={etc}",
                 "meta_directory=/etc/postfix", "create-missing"])
        assert r.returncode == 0, r.stdout + r.stderr
        r = run([f"{POSTFIX_SBIN}/master", "-c", str(etc), "-w"])
        assert r.returncode == 0, r.stdout + r.stderr
        self.pid_file = queue / "pid" / "master.pid"

    def log(self):
        path = self.base / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=20, what="Postfix to stop")


@pytest.mark.root
def test_postfix_delivers_with_lmtp(tern, tmp_path):
    if not os.path.exists(f"{POSTFIX_SBIN}/master"):
        pytest.skip("Postfix is not installed")
    srv = StoreServer(tern)
    smtp_port = tern.port()
    postfix = Postfix(tmp_path / "postfix", smtp_port, srv.port)
    try:
        body = "".join(f"line {i}\r\n" for i in range(50)) + ".a dot line\r\n"
        msg = ("From: <someone@example.net>\r\nTo: <info@example.org>\r\n"
               f"Subject: from Postfix\r\n\r\n{body}")
        wait_for(lambda: _smtp_up(smtp_port), timeout=20, what="Postfix's smtpd")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as s:
            refused = s.sendmail("someone@example.net",
                                 ["alice@example.org", "bob+x@example.org", "nobody@example.org"],
                                 msg)
        assert refused == {}  # Postfix takes all three; Tern's lmtp refuses nobody
        wait_for(lambda: len(srv.messages("alice@example.org")) == 1
                 and len(srv.messages("bob@example.org")) == 1, timeout=60,
                 what=f"delivery from Postfix: {postfix.log()[-2000:]}")
        m = wait_for(lambda: re.search(r"postfix/lmtp\[\d+\]: (\w+): to=<alice@example.org>, "
                                       r"relay=127.0.0.1\[127.0.0.1\]:\d+, .*status=sent \(250 "
                                       r"2.0.0 <alice@example.org> Ok: saved to mailbox INBOX, "
                                       r"uid 1\)", postfix.log()), timeout=20,
                     what="Postfix's delivery log")
        qid = m.group(1)
        wait_for(lambda: re.search(r"postfix/lmtp\[\d+\]: \w+: to=<nobody@example.org>, .*"
                                   r"status=bounced .*550 5.1.1", postfix.log()), timeout=20,
                 what="the bounce of the unknown recipient")
        tern.wait_log(rf"lmtp\[\d+\]: {qid}: to=<bob@example.org>, orig_to=<bob\+x@example.org>, "
                      r"relay=lmtp, delay=\S+, status=sent")
        for who in ("alice@example.org", "bob@example.org"):
            (stored,) = srv.messages(who)
            text = message_text(stored)
            assert text.startswith(b"Return-Path: <someone@example.net>\r\nDelivered-To: ")
            assert text.endswith(body.encode())
            assert f"(Postfix) with ESMTP id {qid}".encode() in text
    finally:
        postfix.stop()


def _smtp_up(port):
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as s:
            return s.noop()[0] == 250
    except OSError:
        return False
