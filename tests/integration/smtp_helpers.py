"""Helpers for smtpd's integration tests.

MailServer configures and starts a Tern instance (conftest.Tern) that receives
mail: smtpd on loopback ports (smtp, and on request submission and
submissions with the -o overrides of conf/master.cf), cleanup, auth and
anvil, a directory with a few domains, users and aliases, and a self-signed
certificate. RawSmtp is a byte-exact SMTP client for what real clients never
send. read_queue_file() decodes a queue file (mail/queue_file.h) so that
tests can check what was queued, byte for byte.
"""
import hashlib
import os
import pathlib
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from conftest import TEST_USER, Tern, children_of, pid_alive, wait_for

PASSWORDS = {
    "alice@example.org": "alice-pw",
    "bob@example.org": "bob-pw",
    "carol@example.org": "carol-pw",
    "dave@example.net": "dave-pw",
}
ALIASES = {
    "info@example.org": ["alice@example.org"],
    "sales@example.org": ["alice@example.org", "bob@example.org"],
    "ext@example.org": ["someone@remote.example"],
    "@example.net": ["dave@example.net"],
}
HOSTNAME = "mx.example.org"
RELAY_DOMAIN = "relay.example"

SUBMISSION_OVERRIDES = [
    "smtpd_tls_security_level=encrypt",
    "smtpd_sasl_auth_enable=yes",
    "smtpd_sasl_auth_required=yes",
    "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
]
SUBMISSIONS_OVERRIDES = [
    "smtpd_tls_wrappermode=yes",
    "smtpd_sasl_auth_enable=yes",
    "smtpd_sasl_auth_required=yes",
    "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
]


def tool(name):
    """The path of an outside program the test needs; skips the test when it is missing."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def client_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# (signal 9 is the tests' own SIGKILL)
CRASH = re.compile(r"killed by signal (?!9\b)|panic: |AddressSanitizer|runtime error: ")
# Every MailServer made, so that no_crashes can check their logs after each test.
SERVERS = []


@pytest.fixture(autouse=True)
def no_crashes():
    """Fail a test during which any Tern process of a MailServer crashed."""
    offsets = [(s, s.tern.log_size()) for s in SERVERS]
    yield
    for server, offset in offsets + [(s, 0) for s in SERVERS if s not in dict(offsets)]:
        m = CRASH.search(server.tern.log(offset))
        assert m is None, f"a process crashed: {server.tern.log(offset)[max(0, m.start() - 300):m.end() + 300]}"


class MailServer:
    """A Tern instance that receives mail over SMTP."""

    def __init__(self, tern, main=None, smtpd_args=(), submission=False, submissions=False,
                 maxproc=20, anvil=True, users=True, tls=True, chroot=False):
        self.tern = tern
        self.port = tern.port()
        self.submission_port = tern.port() if submission else None
        self.submissions_port = tern.port() if submissions else None
        params = {
            "myhostname": HOSTNAME,
            "mydomain": "example.org",
            "recipient_delimiter": "+",
            "relay_domains": RELAY_DOMAIN,
            "auth_failure_delay_ms": "100",
            "auth_failure_delay_max": "1s",
        }
        params.update(main or {})
        tern.write_main_cf(params)
        if tls:
            self.make_cert()
        self.chroot = chroot
        lines = [self.smtpd_line(self.port, maxproc, list(smtpd_args))]
        if submission:
            lines.append(self.smtpd_line(self.submission_port, maxproc,
                                         SUBMISSION_OVERRIDES + list(smtpd_args)))
        if submissions:
            lines.append(self.smtpd_line(self.submissions_port, maxproc,
                                         SUBMISSIONS_OVERRIDES + list(smtpd_args)))
        lines += [
            "cleanup unix - - n - 0 cleanup",
            "auth unix - - n - 1 auth",
        ]
        if anvil:
            lines.append("anvil unix - - n - 1 anvil")
        tern.write_master_cf(lines)
        if users:
            self.populate()
        tern.start()
        SERVERS.append(self)
        self.wait_ready(self.port)

    def smtpd_line(self, port, maxproc, overrides):
        line = f"127.0.0.1:{port} inet n - {'y' if self.chroot else 'n'} - {maxproc} smtpd"
        return line + "".join(f"\n  -o {o}" for o in overrides)

    def make_cert(self):
        tls_dir = self.tern.config_dir / "tls"
        tls_dir.mkdir(exist_ok=True)
        r = subprocess.run(
            [tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(tls_dir / "key.pem"),
             "-out", str(tls_dir / "cert.pem"), "-days", "2", "-subj", f"/CN={HOSTNAME}"],
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr

    def admin(self, *args, password=None):
        r = self.tern.run("ternadmin", *args,
                          input=None if password is None else password + "\n")
        assert r.returncode == 0, f"ternadmin {' '.join(args)}: {r.stderr}"

    def populate(self):
        self.admin("domain", "add", "example.org")
        self.admin("domain", "add", "example.net")
        self.admin("domain", "add", "elsewhere.example", "--not-local")
        for address, password in PASSWORDS.items():
            extra = ["--disabled"] if address.startswith("carol@") else []
            self.admin("user", "add", address, *extra, password=password)
        for alias, targets in ALIASES.items():
            self.admin("alias", "add", alias, *targets)
        if os.geteuid() == 0:
            # ternadmin ran as root; the auth service runs as the test user
            user = pwd.getpwnam(TEST_USER)
            for root, dirs, files in os.walk(self.tern.data_dir):
                for name in [root] + [os.path.join(root, f) for f in dirs + files]:
                    os.chown(name, user.pw_uid, user.pw_gid)

    def wait_ready(self, port, timeout=15):
        """Wait until smtpd greets on port, and until that probe's session has ended."""
        def ready():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.settimeout(5)
                    if not s.recv(512).startswith(b"220 "):
                        return False
                    s.sendall(b"QUIT\r\n")
                    return s.recv(512).startswith(b"221 ")
            except OSError:
                return False
        offset = self.tern.log_size()
        wait_for(ready, timeout=timeout, what=f"smtpd on port {port}")
        self.tern.wait_log(r"smtpd\[\d+\]: disconnect from .* quit=1 commands=1\n", offset)

    # -- the queue

    @property
    def incoming(self):
        return self.tern.queue_dir / "incoming"

    def queue_files(self):
        """Complete queue files in incoming/, by queue ID."""
        try:
            names = os.listdir(self.incoming)
        except FileNotFoundError:
            return {}
        return {n: self.incoming / n for n in names if not n.startswith(".")}

    def queued(self, queue_id):
        path = self.incoming / queue_id
        assert path.exists(), f"{queue_id} is not in {self.incoming}"
        return read_queue_file(path)

    def pids(self, program):
        """Pids of master's children running program."""
        result = []
        for pid in self.tern.children():
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            if exe == str(self.tern.daemon_dir / program):
                result.append(pid)
        return result


# ---------------------------------------------------------------- raw SMTP


class RawSmtp:
    """A byte-exact SMTP client: send anything, read replies."""

    # whether closed() takes a connection reset for a close (lmtp_helpers.RawLmtp: no)
    RESET_IS_CLOSE = True

    def __init__(self, port, host="127.0.0.1", timeout=10.0, greeting=True, tls=False):
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(timeout)
        if tls:
            sock = client_tls_context().wrap_socket(sock)
        self._start(sock, greeting)

    def _start(self, sock, greeting):
        """Take over the connected sock; read the greeting unless told not to."""
        self.sock = sock
        self.buf = b""
        self.greeting = self.reply() if greeting else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"connection closed; pending {self.buf!r}")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """One reply: (code, text) with the lines of a multi-line reply joined by newlines."""
        lines = []
        while True:
            line = self._line()
            assert re.match(r"^\d{3}[ -]", line), f"not a reply line: {line!r}"
            lines.append(line[4:])
            if line[3] == " ":
                return int(line[:3]), "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def ehlo(self, name="client.example"):
        code, text = self.cmd(f"EHLO {name}")
        assert code == 250, text
        return text.split("\n")[1:]

    def starttls(self):
        code, text = self.cmd("STARTTLS")
        assert code == 220, text
        self.sock = client_tls_context().wrap_socket(self.sock)

    def closed(self, timeout=5.0):
        """Whether the server closes the connection within timeout (reading what is left)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return self.RESET_IS_CLOSE
        except ssl.SSLError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def queue_id_of(text):
    m = re.search(r"queued as (\S+)", text)
    assert m, f"no queue ID in {text!r}"
    return m.group(1)


# ---------------------------------------------------------------- messages


def make_message(tag, body_bytes=2000, subject=None):
    """A message whose X-Body-SHA256 header is the hash of its body (CRLF lines)."""
    line = (tag + " ") * 10
    body = b""
    n = 0
    while len(body) < body_bytes:
        body += f"{n:06d} {line}"[:76].encode() + b"\r\n"
        n += 1
    digest = hashlib.sha256(body).hexdigest()
    head = (f"From: <sender@remote.example>\r\nTo: <alice@example.org>\r\n"
            f"Subject: {subject or tag}\r\nX-Body-SHA256: {digest}\r\n\r\n").encode()
    return head + body


def body_intact(content):
    """Whether a queued message's body still matches the hash in its header."""
    head, sep, body = content.partition(b"\r\n\r\n")
    m = re.search(rb"X-Body-SHA256: ([0-9a-f]{64})", head)
    return bool(sep) and m is not None and hashlib.sha256(body).hexdigest() == m.group(1).decode()


# ---------------------------------------------------------------- queue files


class QueueFile:
    def __init__(self):
        self.records = []
        self.sender = None
        self.flags = None
        self.envid = None
        self.ret = None
        self.attrs = {}
        self.rcpts = []  # (address, orcpt, notify)
        self.lines = []  # content lines without their endings
        self.complete = False

    @property
    def content(self):
        return b"".join(line + b"\r\n" for line in self.lines)

    def header(self, name):
        head = self.content.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        m = re.search(rf"^{re.escape(name)}:\s*(.*)$", head, re.M | re.I)
        return m.group(1).strip() if m else None


def _records(data):
    i = 0
    while i < len(data):
        rtype = chr(data[i])
        i += 1
        length = shift = 0
        while True:
            b = data[i]
            i += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        yield rtype, data[i:i + length]
        i += length


def read_queue_file(path):
    """Decode a queue file; fails the test when it is not complete."""
    data = pathlib.Path(path).read_bytes()
    q = QueueFile()
    piece = b""
    for rtype, rec in _records(data):
        q.records.append((rtype, rec))
        if rtype == "S":
            q.sender = rec.decode()
        elif rtype == "F":
            q.flags = int(rec)
        elif rtype == "I":
            q.envid = rec.decode()
        elif rtype == "P":
            q.ret = rec.decode()
        elif rtype == "A" and not q.lines:
            name, _, value = rec.decode("utf-8", "replace").partition("=")
            q.attrs[name] = value
        elif rtype in "RD":
            notify, orcpt, address = rec.split(b"\0", 2)
            q.rcpts.append((address.decode(), orcpt.decode(), int(notify)))
        elif rtype == "C":
            piece += rec
        elif rtype == "L":
            q.lines.append(piece + rec)
            piece = b""
        elif rtype == "E":
            q.complete = True
    assert q.complete, f"{path} is not complete"
    return q


# ---------------------------------------------------------------- module-scoped servers


def module_server(tmp_path_factory, name, **kw):
    """A MailServer for a whole test module (made with pytest's tmp_path_factory)."""
    prefix = os.environ.get("TERN_PREFIX")
    if not prefix:
        pytest.fail("TERN_PREFIX is not set")
    base = tmp_path_factory.mktemp(name)
    tern = Tern(prefix, base)
    return MailServer(tern, **kw)


def stop_server(server):
    """Stop a module-scoped server; fail when master exits badly or leaves children."""
    tern = server.tern
    if tern.proc is None:
        return
    kids = children_of(tern.proc.pid) if tern.proc.poll() is None else []
    rc = tern.stop()
    left = [pid for pid in kids if pid_alive(pid)]
    assert rc == 0, f"master exited with {rc}: {tern.stderr_path.read_text()}"
    assert not left, f"children left behind: {left}"


def log_since(server, offset, pattern, timeout=10.0):
    return server.tern.wait_log(pattern, offset=offset, timeout=timeout)


def elapsed(fn, *args, **kw):
    start = time.monotonic()
    result = fn(*args, **kw)
    return result, time.monotonic() - start
