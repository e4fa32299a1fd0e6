"""The smtp delivery agent (SMTP and LMTP client) against real peers.

Each test runs a Tern instance with cleanup and the smtp/lmtp services,
queues a message through cleanup, moves it to active/ and plays qmgr: it
speaks the deliver protocol (mail/deliver_proto.h) on private/smtp or
private/lmtp. The peers are Postfix's smtp-sink (the remote MX, on
127.0.0.2/127.0.0.3 or ::1, behind dnsmasq serving the MX records: see
dns_helpers.py), Tern's own smtpd (a relay host with STARTTLS and AUTH),
a small scripted LMTP/SMTP server in this file (per-recipient LMTP
replies, SIZE, connection reuse) and Dovecot's LMTP.
"""
import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

import queue_file
from conftest import TEST_USER, free_port, wait_for
from dns_helpers import DnsServer

CLIENT_HOST = "client.test"
SENDER = "alice@client.test"

# ---------------------------------------------------------------- the deliver protocol


def netstring(value):
    value = value if isinstance(value, bytes) else str(value).encode()
    return str(len(value)).encode() + b":" + value + b","


def encode(pairs):
    return b"".join(netstring(n) + netstring(v) for n, v in pairs) + b"0:,"


class Conversation:
    """A netstring-record client of a Tern unix service."""

    def __init__(self, path, protocol, timeout=60.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""
        hello = self.read_record()
        assert hello == {"protocol": protocol.encode(), "version": b"1"}, hello

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
        assert data, "the service closed the connection"
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

    def close(self):
        self.sock.close()


class Agent(Conversation):
    """qmgr's side of the deliver protocol."""

    def __init__(self, tern, service="smtp"):
        super().__init__(tern.queue_dir / "private" / service, "deliver")

    def deliver(self, msg, nexthop, rcpts=None):
        """Hand over msg (a Queued) for nexthop; returns {address: reply dict}."""
        rcpts = rcpts if rcpts is not None else [r for r in msg.qf.rcpts if not r["done"]]
        self.send([
            ("queue_id", msg.qid), ("queue_path", f"active/{msg.qid}"), ("transport", "smtp"),
            ("nexthop", nexthop), ("sender", msg.qf.sender), ("flags", msg.qf.flags),
            ("arrival", msg.qf.time), ("rcpt_count", len(rcpts)),
        ])
        for r in rcpts:
            self.send([("address", r["address"]), ("orcpt", r["orcpt"]),
                       ("notify", r["notify"]), ("offset", r["offset"])])
        by_offset = {r["offset"]: r["address"] for r in rcpts}
        replies = {}
        while True:
            rec = self.read_record()
            if "done" in rec:
                assert rec == {"done": b"1"}, rec
                break
            reply = {k: v.decode() for k, v in rec.items()}
            reply["status"] = int(reply["status"])
            replies[by_offset[int(reply["offset"])]] = reply
        assert len(replies) == len(rcpts), replies
        return replies


class Queued:
    """A message in active/: its queue ID and its parsed queue file."""

    def __init__(self, tern, qid):
        self.tern, self.qid = tern, qid

    @property
    def path(self):
        return self.tern.queue_dir / "active" / self.qid

    @property
    def qf(self):
        return queue_file.parse(self.path.read_bytes())

    def done(self):
        return {r["address"]: r["done"] for r in self.qf.rcpts}

    def status_log(self, kind):
        path = self.tern.queue_dir / kind / self.qid
        return path.read_text() if path.exists() else ""


def queue_message(tern, rcpts, content=None, sender=SENDER, flags=0, envid=None, ret=0,
                  notify=0, orcpt=""):
    """Queue a message through cleanup and move it to active/ as qmgr would."""
    if content is None:
        content = b"Subject: test\r\nFrom: <alice@client.test>\r\n\r\nhello\r\n.leading dot\r\n"
    c = Conversation(tern.queue_dir / "private" / "cleanup", "cleanup")
    env = [("request", "envelope"), ("sender", sender), ("flags", flags), ("ret", ret),
           ("size_hint", -1), ("client_addr", "127.0.0.1"), ("client_name", "localhost"),
           ("helo", "localhost"), ("protocol", "ESMTP")]
    if envid:
        env.append(("envid", envid))
    c.send(env)
    for r in rcpts:
        c.send([("request", "rcpt"), ("rcpt", r), ("orcpt", orcpt), ("notify", notify)])
    c.send([("request", "data"), ("data", content)])
    c.send([("request", "end")])
    res = c.read_record()
    c.close()
    assert res["status"] == b"0", res
    qid = res["queue_id"].decode()
    os.rename(tern.queue_dir / "incoming" / qid, tern.queue_dir / "active" / qid)
    return Queued(tern, qid)


def start_client(tern, dns=None, **params):
    """main.cf for the delivering instance; master.cf with cleanup, smtp and lmtp."""
    base = {
        "myhostname": CLIENT_HOST,
        "smtp_connect_timeout": "5s",
        "smtp_helo_timeout": "10s",
        "smtp_command_timeout": "10s",
        "smtp_connection_cache_time": "0s",
        "dns_timeout": "2s",
        "dns_retries": "1",
        "service_throttle_time": "1s",
        "inet_protocols": "all",
    }
    if dns is not None:
        base["dns_servers"] = dns.server
    base.update(params)
    tern.write_main_cf(base)
    tern.write_master_cf([
        "cleanup unix - - n - 0 cleanup",
        "smtp unix - - n - 1 smtp",
        "lmtp unix - - n - 1 smtp -o smtp_protocol=lmtp",
    ])
    # the directories qmgr (or "ternctl start") makes
    for name in ("active", "bounce", "defer", "trace"):
        d = tern.queue_dir / name
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(TEST_USER)
            os.chown(d, pw.pw_uid, pw.pw_gid)
    tern.start()
    for name in ("cleanup", "smtp", "lmtp"):
        wait_for((tern.queue_dir / "private" / name).exists, what=f"the {name} socket")
    return tern


@pytest.fixture(autouse=True)
def no_sanitizer_reports(tmp_path):
    """Under ASan/UBSan builds, a report on any master's stderr (children share it) fails the test."""
    yield
    for path in tmp_path.glob("**/master.stderr"):
        text = path.read_text(errors="replace")
        assert "runtime error" not in text and "Sanitizer" not in text, text[:3000]


# ---------------------------------------------------------------- smtp-sink


def sink_path():
    path = shutil.which("smtp-sink") or shutil.which("smtp-sink", path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.skip("smtp-sink is not installed (Debian package postfix)")
    return path


class Sink:
    """Postfix's smtp-sink on host:port, dumping each transaction to a file."""

    def __init__(self, tmp_path, host, port, *args):
        self.host, self.port, self.args = host, port, list(args)
        self.dir = tmp_path / f"sink-{host.strip('[]').replace(':', '_')}-{port}-{time.monotonic_ns()}"
        self.dir.mkdir()
        self.proc = None

    def start(self):
        cmd = [sink_path(), "-d", f"{self.dir}/%H%M%S.", *self.args]
        if os.geteuid() == 0:
            pw = pwd.getpwnam(TEST_USER)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            cmd += ["-u", TEST_USER]
        cmd += [f"{self.host}:{self.port}", "32"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        addr = self.host.strip("[]")

        def up():
            assert self.proc.poll() is None, self.proc.stderr.read().decode()
            try:
                with socket.create_connection((addr, self.port), timeout=1) as s:
                    return s.recv(64).startswith(b"220")
            except OSError:
                return False
        wait_for(up, what=f"smtp-sink on {self.host}:{self.port}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None

    def messages(self):
        return [p.read_bytes() for p in sorted(self.dir.iterdir())]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def mx_dns(tmp_path, mx, hosts, **kw):
    """dnsmasq with MX records mx [(domain, host, pref)] and A/AAAA records hosts [(name, addr)]."""
    a = [(n, addr) for n, addr in hosts if ":" not in addr]
    aaaa = [(n, addr) for n, addr in hosts if ":" in addr]
    return DnsServer(tmp_path, mx=mx, a=a, aaaa=aaaa, **kw)


LOG_LINE = re.compile(
    r"smtp\[\d+\]: (?P<qid>\S+): to=<(?P<to>[^>]*)>(, orig_to=<[^>]*>)?, relay=(?P<relay>\S+), "
    r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=(?P<dsn>\d\.\d+\.\d+), "
    r"status=(?P<status>sent|deferred|bounced) \((?P<text>.*)\)$", re.M)


def log_lines(tern, qid):
    return [m.groupdict() for m in LOG_LINE.finditer(tern.log()) if m["qid"] == qid]


# ---------------------------------------------------------------- MX and DNS


def test_mx_preference_and_failover(tern, tmp_path):
    port = free_port()
    dns = mx_dns(tmp_path, [("example.test", "mx1.example.test", 10),
                            ("example.test", "mx2.example.test", 20)],
                 [("mx1.example.test", "127.0.0.2"), ("mx2.example.test", "127.0.0.3")])
    with dns, Sink(tmp_path, "127.0.0.2", port) as mx1, Sink(tmp_path, "127.0.0.3", port) as mx2:
        start_client(tern, dns)
        msg = queue_message(tern, ["bob@example.test", "carol@example.test"])
        agent = Agent(tern)
        replies = agent.deliver(msg, f"example.test:{port}")
        assert {r["status"] for r in replies.values()} == {2}, replies
        assert replies["bob@example.test"]["relay"] == f"mx1.example.test[127.0.0.2]:{port}"
        assert msg.done() == {"bob@example.test": True, "carol@example.test": True}
        wait_for(lambda: len(mx1.messages()) == 1, what="the message at mx1")
        dump = mx1.messages()[0]
        assert b"X-Rcpt-Args: <bob@example.test>" in dump
        assert b"X-Rcpt-Args: <carol@example.test>" in dump
        assert b"\n.leading dot\n" in dump.replace(b"\r\n", b"\n")
        assert mx2.messages() == []
        lines = log_lines(tern, msg.qid)
        assert [(l["to"], l["status"], l["dsn"]) for l in lines] == [
            ("bob@example.test", "sent", "2.0.0"), ("carol@example.test", "sent", "2.0.0")]

        # the preferred MX is down: the next one takes the mail
        mx1.stop()
        msg2 = queue_message(tern, ["dave@example.test"])
        replies = agent.deliver(msg2, f"example.test:{port}")
        assert replies["dave@example.test"]["status"] == 2, replies
        assert replies["dave@example.test"]["relay"] == f"mx2.example.test[127.0.0.3]:{port}"
        wait_for(lambda: len(mx2.messages()) == 1, what="the message at mx2")
        agent.close()


def test_equal_preferences_are_shuffled(tern, tmp_path):
    port = free_port()
    dns = mx_dns(tmp_path, [("even.test", "a.even.test", 10), ("even.test", "b.even.test", 10)],
                 [("a.even.test", "127.0.0.2"), ("b.even.test", "127.0.0.3")])
    with dns, Sink(tmp_path, "127.0.0.2", port) as a, Sink(tmp_path, "127.0.0.3", port) as b:
        start_client(tern, dns)
        agent = Agent(tern)
        relays = []
        for i in range(16):
            msg = queue_message(tern, [f"user{i}@even.test"])
            reply = agent.deliver(msg, f"even.test:{port}")[f"user{i}@even.test"]
            assert reply["status"] == 2, reply
            relays.append(reply["relay"].split("[")[0])
        agent.close()
        # 16 deliveries all to one of two equal MX hosts: probability 2^-15
        assert set(relays) == {"a.even.test", "b.even.test"}, relays


def test_ipv6_mx(tern, tmp_path):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    port = free_port()
    dns = mx_dns(tmp_path, [("six.test", "mx.six.test", 5)], [("mx.six.test", "::1")])
    with dns, Sink(tmp_path, "[::1]", port) as sink:
        start_client(tern, dns)
        msg = queue_message(tern, ["bob@six.test"])
        reply = Agent(tern).deliver(msg, f"six.test:{port}")["bob@six.test"]
        assert reply["status"] == 2, reply
        assert reply["relay"] == f"mx.six.test[::1]:{port}"
        wait_for(lambda: len(sink.messages()) == 1, what="the message over IPv6")


def test_domain_without_mx_uses_its_address(tern, tmp_path):
    port = free_port()
    dns = DnsServer(tmp_path, domains=["plain.test"], a=[("plain.test", "127.0.0.2")])
    with dns, Sink(tmp_path, "127.0.0.2", port) as sink:
        start_client(tern, dns)
        msg = queue_message(tern, ["bob@plain.test"])
        reply = Agent(tern).deliver(msg, f"plain.test:{port}")["bob@plain.test"]
        assert reply["status"] == 2, reply
        assert reply["relay"] == f"plain.test[127.0.0.2]:{port}"
        wait_for(lambda: len(sink.messages()) == 1, what="the message")


def test_dns_failures_bounce_or_defer(tern, tmp_path):
    dns = DnsServer(tmp_path, domains=["test"],
                    mx=[("nullmx.test", ".", 0), ("loop.test", CLIENT_HOST, 10),
                        ("loop.test", "backup.loop.test", 20)],
                    a=[(CLIENT_HOST, "127.0.0.1"), ("backup.loop.test", "127.0.0.2")])
    with dns:
        start_client(tern, dns)
        agent = Agent(tern)
        cases = [("nullmx.test", 5, "5.1.10", "does not accept mail (nullMX)"),
                 ("nowhere.test", 5, "5.4.4", "type=MX: Host not found"),
                 ("loop.test", 5, "5.4.6", "loops back to myself")]
        for domain, status, dsn, text in cases:
            msg = queue_message(tern, [f"bob@{domain}"])
            reply = agent.deliver(msg, domain)[f"bob@{domain}"]
            assert (reply["status"], reply["dsn"]) == (status, dsn), reply
            assert text in reply["text"], reply
            assert reply["relay"] == "none"
            assert msg.done() == {f"bob@{domain}": True}
            assert f"dsn={dsn}" in msg.status_log("bounce")
            assert log_lines(tern, msg.qid)[0]["status"] == "bounced"
        agent.close()
    # no DNS server at all: try again later
    msg = queue_message(tern, ["bob@example.test"])
    reply = Agent(tern).deliver(msg, "example.test")["bob@example.test"]
    assert (reply["status"], reply["dsn"]) == (4, "4.4.3"), reply
    assert msg.done() == {"bob@example.test": False}
    assert "dsn=4.4.3" in msg.status_log("defer")


# ---------------------------------------------------------------- replies


def test_4xx_moves_to_the_next_mx(tern, tmp_path):
    port = free_port()
    dns = mx_dns(tmp_path, [("soft.test", "mx1.soft.test", 10), ("soft.test", "mx2.soft.test", 20)],
                 [("mx1.soft.test", "127.0.0.2"), ("mx2.soft.test", "127.0.0.3")])
    with dns, Sink(tmp_path, "127.0.0.2", port, "-r", "RCPT", "-b", "451 4.3.0 try later") as mx1, \
            Sink(tmp_path, "127.0.0.3", port) as mx2:
        start_client(tern, dns)
        msg = queue_message(tern, ["bob@soft.test"])
        reply = Agent(tern).deliver(msg, f"soft.test:{port}")["bob@soft.test"]
        assert reply["status"] == 2, reply
        assert reply["relay"].startswith("mx2.soft.test[127.0.0.3]")
        wait_for(lambda: len(mx2.messages()) == 1, what="the message at mx2")
        assert mx1.messages() == []


def test_4xx_defers_then_success(tern, tmp_path):
    port = free_port()
    dns = mx_dns(tmp_path, [("later.test", "mx.later.test", 10)], [("mx.later.test", "127.0.0.2")])
    with dns:
        start_client(tern, dns)
        msg = queue_message(tern, ["bob@later.test"])
        with Sink(tmp_path, "127.0.0.2", port, "-r", "RCPT", "-b", "452 4.2.2 mailbox full"):
            reply = Agent(tern).deliver(msg, f"later.test:{port}")["bob@later.test"]
        assert (reply["status"], reply["dsn"]) == (4, "4.2.2"), reply
        assert reply["text"] == "452 4.2.2 mailbox full"
        assert msg.done() == {"bob@later.test": False}
        assert "mailbox%20full" in msg.status_log("defer")
        line = log_lines(tern, msg.qid)[-1]
        assert line["status"] == "deferred"
        assert line["text"] == (f"host mx.later.test[127.0.0.2]:{port} said: 452 4.2.2 mailbox "
                                "full (in reply to RCPT TO command)")
        with Sink(tmp_path, "127.0.0.2", port) as sink:
            reply = Agent(tern).deliver(msg, f"later.test:{port}")["bob@later.test"]
            assert reply["status"] == 2, reply
            wait_for(lambda: len(sink.messages()) == 1, what="the message")
        assert msg.done() == {"bob@later.test": True}


def test_5xx_bounces(tern, tmp_path):
    port = free_port()
    dns = mx_dns(tmp_path, [("hard.test", "mx.hard.test", 10), ("hard.test", "mx2.hard.test", 20)],
                 [("mx.hard.test", "127.0.0.2"), ("mx2.hard.test", "127.0.0.3")])
    with dns, Sink(tmp_path, "127.0.0.2", port, "-f", "RCPT",
                   "-B", "550 5.1.1 no such user") as sink, \
            Sink(tmp_path, "127.0.0.3", port) as backup:
        start_client(tern, dns)
        msg = queue_message(tern, ["nobody@hard.test"], notify=4)
        reply = Agent(tern).deliver(msg, f"hard.test:{port}")["nobody@hard.test"]
        assert (reply["status"], reply["dsn"]) == (5, "5.1.1"), reply
        assert msg.done() == {"nobody@hard.test": True}
        log = msg.status_log("bounce")
        assert "status=5 " in log and "dsn=5.1.1 " in log and "no%20such%20user" in log
        assert log_lines(tern, msg.qid)[0]["text"].endswith("(in reply to RCPT TO command)")
        # a 5xx is final: the backup MX never sees the recipient
        assert backup.messages() == [] and sink.messages() == []


def test_envelope_parameters(tern, tmp_path):
    port = free_port()
    dns = mx_dns(tmp_path, [("dsn.test", "mx.dsn.test", 10)], [("mx.dsn.test", "127.0.0.2")])
    body = b"Subject: 8bit\r\n\r\ncaf\xc3\xa9\r\n..two dots\r\n.\r\n" + b"x" * 1500 + b"\r\n"
    with dns, Sink(tmp_path, "127.0.0.2", port) as sink:
        start_client(tern, dns)
        msg = queue_message(tern, ["bob@dsn.test"], content=body, flags=2, envid="env+id 1",
                            ret=2, notify=6, orcpt="rfc822;bob@orig.test")
        reply = Agent(tern).deliver(msg, f"dsn.test:{port}")["bob@dsn.test"]
        assert reply["status"] == 2, reply
        wait_for(lambda: len(sink.messages()) == 1, what="the message")
        dump = sink.messages()[0]
        assert b"X-Mail-Args: <alice@client.test> BODY=8BITMIME RET=HDRS ENVID=env+2Bid+201" in dump
        assert b"X-Rcpt-Args: <bob@dsn.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@orig.test" in dump
        text = dump.replace(b"\r\n", b"\n")
        assert b"\ncaf\xc3\xa9\n..two dots\n.\n" + b"x" * 998 + b"\n" + b"x" * 502 + b"\n" in text
        # NOTIFY=SUCCESS: the delivery is in the trace log
        assert "status=2" in msg.status_log("trace")
        assert re.search(rf"{msg.qid}: to=<bob@dsn.test>, orig_to=<bob@orig.test>, ", tern.log())


def test_smtputf8_needed_but_not_offered(tern, tmp_path):
    port = free_port()
    dns = mx_dns(tmp_path, [("utf.test", "mx.utf.test", 10)], [("mx.utf.test", "127.0.0.2")])
    with dns, Sink(tmp_path, "127.0.0.2", port) as sink:
        start_client(tern, dns)
        msg = queue_message(tern, ["j\u00f6rg@utf.test".encode().decode()], flags=1)
        rcpt = msg.qf.rcpts[0]["address"]
        reply = Agent(tern).deliver(msg, f"utf.test:{port}")[rcpt]
        assert (reply["status"], reply["dsn"]) == (5, "5.6.7"), reply
        assert "SMTPUTF8 is required" in reply["text"]
        assert msg.done() == {rcpt: True}
        assert sink.messages() == []
        # flagged SMTPUTF8 but all ASCII: sent without it
        msg2 = queue_message(tern, ["ascii@utf.test"], flags=1)
        assert Agent(tern).deliver(msg2, f"utf.test:{port}")["ascii@utf.test"]["status"] == 2


# ---------------------------------------------------------------- a scripted peer


class ScriptedServer:
    """A small SMTP/LMTP server: fixed replies per recipient, transcripts, connection count."""

    def __init__(self, path=None, port=None, lmtp=False, ehlo=("PIPELINING", "ENHANCEDSTATUSCODES"),
                 rcpt_reply=None, final_reply=None):
        self.lmtp, self.ehlo = lmtp, None if ehlo is None else list(ehlo)
        self.rcpt_reply = rcpt_reply or (lambda addr: "250 2.1.5 ok")
        self.final_reply = final_reply or (lambda addr: "250 2.0.0 queued")
        self.connections, self.transcript, self.messages = 0, [], []
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(str(path))
            os.chmod(path, 0o777)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, conn):
        conn.settimeout(30)
        f = conn.makefile("rb")
        send = lambda line: conn.sendall(line.encode() + b"\r\n")
        send("220 scripted ready")
        rcpts = []
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode().rstrip("\r\n")
                self.transcript.append(cmd)
                verb = cmd.split(" ")[0].upper()
                if verb == "EHLO" and self.ehlo is None:
                    send("502 5.5.2 no ESMTP here")
                elif verb == "HELO":
                    send("250 scripted")
                elif verb == "STARTTLS":
                    send("220 2.0.0 go ahead")
                    return  # and hang up: the handshake fails
                elif verb in ("EHLO", "LHLO"):
                    send("\r\n".join(["250-scripted"] + [f"250-{k}" for k in self.ehlo[:-1]]
                                     + [f"250 {self.ehlo[-1]}"]) if self.ehlo else "250 scripted")
                elif verb == "MAIL":
                    rcpts = []
                    send("250 2.1.0 ok")
                elif verb == "RCPT":
                    addr = cmd[cmd.index("<") + 1:cmd.index(">")]
                    reply = self.rcpt_reply(addr)
                    if reply.startswith("2"):
                        rcpts.append(addr)
                    send(reply)
                elif verb == "DATA":
                    if not rcpts:
                        send("554 5.5.1 no valid recipients")
                        continue
                    send("354 go ahead")
                    data = b""
                    while True:
                        l = f.readline()
                        if l in (b".\r\n", b""):
                            break
                        data += l
                    self.messages.append((list(rcpts), data))
                    for r in (rcpts if self.lmtp else rcpts[:1]):
                        send(self.final_reply(r))
                elif verb == "RSET":
                    rcpts = []
                    send("250 2.0.0 ok")
                elif verb == "QUIT":
                    send("221 2.0.0 bye")
                    return
                else:
                    send("502 5.5.2 what")
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


def test_lmtp_per_recipient_replies(tern, tmp_path):
    path = tmp_path / "lmtp.sock"
    server = ScriptedServer(path=path, lmtp=True,
                            final_reply=lambda a: ("452 4.2.2 over quota" if a.startswith("full")
                                                   else "250 2.0.0 saved"))
    try:
        start_client(tern)
        msg = queue_message(tern, ["full@store.test", "fine@store.test"])
        replies = Agent(tern, "lmtp").deliver(msg, f"unix:{path}")
        assert replies["full@store.test"]["status"] == 4, replies
        assert replies["full@store.test"]["dsn"] == "4.2.2"
        assert replies["fine@store.test"]["status"] == 2, replies
        assert msg.done() == {"full@store.test": False, "fine@store.test": True}
        assert "over%20quota" in msg.status_log("defer")
        assert server.transcript[0] == f"LHLO {CLIENT_HOST}"
        assert len(server.messages) == 1 and server.messages[0][0] == [
            "full@store.test", "fine@store.test"]
        lines = {l["to"]: l for l in log_lines(tern, msg.qid)}
        assert lines["fine@store.test"]["relay"] == f"localhost[{path}]"
        assert lines["full@store.test"]["status"] == "deferred"
    finally:
        server.stop()


def test_tls_may_falls_back_encrypt_does_not(tern, tmp_path):
    port = free_port()
    server = ScriptedServer(port=port, ehlo=("STARTTLS", "PIPELINING"))
    try:
        start_client(tern, smtp_tls_security_level="may")
        msg = queue_message(tern, ["bob@tls.test"])
        reply = Agent(tern).deliver(msg, f"[127.0.0.1]:{port}")["bob@tls.test"]
        assert reply["status"] == 2, reply
        assert server.connections == 2
        assert server.transcript.count("STARTTLS") == 1
        assert "trying without TLS" in tern.log()
    finally:
        server.stop()
    server = ScriptedServer(port=port, ehlo=("PIPELINING",))
    try:
        tern.stop()
        tern.proc = None
        start_client(tern, smtp_tls_security_level="encrypt")
        msg = queue_message(tern, ["carol@tls.test"])
        reply = Agent(tern).deliver(msg, f"[127.0.0.1]:{port}")["carol@tls.test"]
        assert (reply["status"], reply["dsn"]) == (4, "4.7.4"), reply
        assert "TLS is required, but was not offered" in reply["text"]
        assert not any(c.startswith("MAIL") for c in server.transcript)
        assert msg.done() == {"carol@tls.test": False}
    finally:
        server.stop()


def test_helo_when_ehlo_is_refused(tern, tmp_path):
    port = free_port()
    server = ScriptedServer(port=port, ehlo=None)
    try:
        start_client(tern)
        msg = queue_message(tern, ["bob@old.test"], notify=2, orcpt="rfc822;x@old.test")
        reply = Agent(tern).deliver(msg, f"[127.0.0.1]:{port}")["bob@old.test"]
        assert reply["status"] == 2, reply
        assert server.transcript[:4] == [f"EHLO {CLIENT_HOST}", f"HELO {CLIENT_HOST}",
                                         "MAIL FROM:<alice@client.test>", "RCPT TO:<bob@old.test>"]
    finally:
        server.stop()


def test_size_limit_refused_early(tern, tmp_path):
    port = free_port()
    server = ScriptedServer(port=port, ehlo=("SIZE 1000", "PIPELINING"))
    try:
        start_client(tern)
        msg = queue_message(tern, ["bob@big.test"], content=b"Subject: big\r\n\r\n" + b"y" * 2000 + b"\r\n")
        reply = Agent(tern).deliver(msg, f"[127.0.0.1]:{port}")["bob@big.test"]
        assert (reply["status"], reply["dsn"]) == (5, "5.3.4"), reply
        assert "exceeds size limit 1000" in reply["text"]
        assert not any(c.startswith("MAIL") for c in server.transcript)
    finally:
        server.stop()


def test_connection_reuse(tern, tmp_path):
    port = free_port()
    server = ScriptedServer(port=port, ehlo=("PIPELINING",))
    try:
        start_client(tern, smtp_connection_cache_time="30s")
        agent = Agent(tern)
        for i in range(3):
            msg = queue_message(tern, [f"u{i}@reuse.test"])
            assert agent.deliver(msg, f"[127.0.0.1]:{port}")[f"u{i}@reuse.test"]["status"] == 2
        agent.close()
        # a new qmgr connection to the same process still finds the session
        agent = Agent(tern)
        msg = queue_message(tern, ["u3@reuse.test"])
        assert agent.deliver(msg, f"[127.0.0.1]:{port}")["u3@reuse.test"]["status"] == 2
        agent.close()
        assert server.connections == 1, server.transcript
        assert server.transcript.count("RSET") == 3
        assert len(server.messages) == 4
    finally:
        server.stop()


def test_reuse_survives_a_server_that_went_away(tern, tmp_path):
    port = free_port()
    server = ScriptedServer(port=port)
    try:
        start_client(tern, smtp_connection_cache_time="30s")
        agent = Agent(tern)
        msg = queue_message(tern, ["a@gone.test"])
        assert agent.deliver(msg, f"[127.0.0.1]:{port}")["a@gone.test"]["status"] == 2
        server.stop()
        server = ScriptedServer(port=port)
        msg = queue_message(tern, ["b@gone.test"])
        assert agent.deliver(msg, f"[127.0.0.1]:{port}")["b@gone.test"]["status"] == 2
        agent.close()
    finally:
        server.stop()


# ---------------------------------------------------------------- relay host with TLS and AUTH


def test_relayhost_with_starttls_and_auth(tern_factory, tmp_path):
    from smtp_helpers import HOSTNAME, MailServer

    relay = MailServer(tern_factory("relay"), submission=True)
    client = tern_factory("client")
    maps = tmp_path / "sasl_passwd"
    nexthop = f"[127.0.0.1]:{relay.submission_port}"
    maps.write_text(f"{nexthop} alice@example.org:alice-pw\n")
    os.chmod(maps, 0o644)
    start_client(client, smtp_tls_security_level="encrypt", smtp_sasl_auth_enable="yes",
                 smtp_sasl_password_maps=f"texthash:{maps}")
    msg = queue_message(client, ["someone@elsewhere.example"], sender="alice@example.org")
    reply = Agent(client).deliver(msg, nexthop)["someone@elsewhere.example"]
    assert reply["status"] == 2, reply
    assert reply["relay"] == f"127.0.0.1[127.0.0.1]:{relay.submission_port}"
    log = client.log()
    assert re.search(r"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.[23]", log)
    assert "authenticated with PLAIN as alice@example.org" in log
    assert "alice-pw" not in log
    wait_for(lambda: relay.queue_files(), what="the relayed message")
    qf = queue_file.parse(next(iter(relay.queue_files().values())).read_bytes())
    assert qf.sender == "alice@example.org"
    assert [r["address"] for r in qf.rcpts] == ["someone@elsewhere.example"]
    assert qf.attrs.get("sasl_username") == "alice@example.org"

    # level verify: the self-signed certificate is not trusted: defer
    msg2 = queue_message(client, ["other@elsewhere.example"], sender="alice@example.org")
    client.stop()
    client.proc = None
    client.write_main_cf({
        "myhostname": CLIENT_HOST, "smtp_tls_security_level": "verify",
        "smtp_sasl_auth_enable": "yes", "smtp_sasl_password_maps": f"texthash:{maps}",
        "smtp_helo_timeout": "10s",
    })
    client.start()
    wait_for((client.queue_dir / "private" / "smtp").exists, what="the smtp socket")
    reply = Agent(client).deliver(msg2, nexthop)["other@elsewhere.example"]
    assert (reply["status"], reply["dsn"]) == (4, "4.7.5"), reply
    assert "certificate verify failed" in reply["text"], reply
    assert msg2.done() == {"other@elsewhere.example": False}

    # trusting that certificate, and asking for the name it carries: verified
    cert = relay.tern.config_dir / "tls" / "cert.pem"
    with DnsServer(tmp_path, domains=["example.org"], a=[(HOSTNAME, "127.0.0.1")]) as dns:
        for level in ("verify", "secure"):
            client.stop()
            client.proc = None
            client.write_main_cf({
                "myhostname": CLIENT_HOST, "smtp_tls_security_level": level,
                "smtp_tls_ca_file": str(cert), "dns_servers": dns.server,
                "smtp_sasl_auth_enable": "yes", "smtp_sasl_password_maps": f"texthash:{maps}",
            })
            maps.write_text(f"[{HOSTNAME}]:{relay.submission_port} alice@example.org:alice-pw\n")
            offset = client.log_size()
            client.start()
            wait_for((client.queue_dir / "private" / "smtp").exists, what="the smtp socket")
            msg3 = queue_message(client, [f"{level}@elsewhere.example"], sender="alice@example.org")
            reply = Agent(client).deliver(msg3, f"[{HOSTNAME}]:{relay.submission_port}")
            assert reply[f"{level}@elsewhere.example"]["status"] == 2, reply
            assert f"Verified TLS connection established to {HOSTNAME}[127.0.0.1]" in client.log(offset)


def test_auth_needs_tls(tern, tmp_path):
    """smtp-sink offers AUTH without STARTTLS: no password goes over it."""
    port = free_port()
    maps = tmp_path / "sasl_passwd"
    maps.write_text(f"[127.0.0.1]:{port} user:secret\n")
    os.chmod(maps, 0o644)
    with Sink(tmp_path, "127.0.0.1", port) as sink:
        start_client(tern, smtp_sasl_auth_enable="yes",
                     smtp_sasl_password_maps=f"texthash:{maps}")
        msg = queue_message(tern, ["bob@relay.test"])
        reply = Agent(tern).deliver(msg, f"[127.0.0.1]:{port}")["bob@relay.test"]
        assert (reply["status"], reply["dsn"]) == (4, "4.7.0"), reply
        assert "needs TLS" in reply["text"]
        assert sink.messages() == []


# ---------------------------------------------------------------- Dovecot


def dovecot_path():
    path = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")
    if path is None or not os.path.exists("/usr/lib/dovecot/lmtp"):
        pytest.skip("Dovecot with LMTP is not installed (dovecot-core, dovecot-lmtpd)")
    return path


def test_dovecot_lmtp(tern, tmp_path):
    dovecot = dovecot_path()
    base = tmp_path / "dovecot"
    (base / "run").mkdir(parents=True)
    (base / "mail").mkdir()
    if os.geteuid() == 0:
        pw = pwd.getpwnam(TEST_USER)
        user, group, uid, gid = TEST_USER, TEST_USER, pw.pw_uid, pw.pw_gid
        for p in (base, base / "run", base / "mail"):
            os.chown(p, uid, gid)
    else:
        pw = pwd.getpwuid(os.geteuid())
        user, uid, gid = pw.pw_name, pw.pw_uid, pw.pw_gid
    os.chmod(base, 0o755)
    passwd = base / "users"
    passwd.write_text(f"bob@store.test::{uid}:{gid}::{base}/mail/bob::\n")
    port = free_port()
    conf = base / "dovecot.conf"
    conf.write_text(f"""
base_dir = {base}/run
state_dir = {base}/run
log_path = {base}/dovecot.log
protocols = lmtp
ssl = no
listen = 127.0.0.1
default_login_user = {user}
default_internal_user = {user}
default_internal_group = {grp.getgrgid(gid).gr_name}
mail_location = maildir:~/Maildir
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
  user = {user}
}}
service anvil {{
  chroot =
}}
service log {{
  user = {user}
}}
""")
    env = dict(os.environ)
    proc = subprocess.Popen([dovecot, "-F", "-c", str(conf)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=(lambda: (os.setgroups([]), os.setgid(gid), os.setuid(uid)))
                            if os.geteuid() == 0 else None, env=env)
    try:
        def up():
            if proc.poll() is not None:
                pytest.fail("dovecot exited: " + proc.stdout.read().decode()
                            + ((base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    return s.recv(100).startswith(b"220")
            except OSError:
                return False
        wait_for(up, timeout=20, what="dovecot's LMTP listener")
        start_client(tern)
        msg = queue_message(tern, ["bob@store.test", "nobody@store.test"])
        replies = Agent(tern, "lmtp").deliver(msg, f"[127.0.0.1]:{port}")
        assert replies["bob@store.test"]["status"] == 2, replies
        assert replies["nobody@store.test"]["status"] == 5, replies
        assert replies["nobody@store.test"]["dsn"] == "5.1.1", replies
        new = base / "mail" / "bob" / "Maildir" / "new"
        wait_for(lambda: new.exists() and os.listdir(new), what="the message in the Maildir")
        data = (new / os.listdir(new)[0]).read_bytes()
        assert b"Subject: test" in data and b"\n.leading dot" in data.replace(b"\r\n", b"\n")
        assert msg.done() == {"bob@store.test": True, "nobody@store.test": True}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
