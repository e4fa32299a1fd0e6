"""Helpers for the lmtp server's integration tests.

StoreServer configures and starts a Tern instance that delivers into the
mailbox store: the auth service, lmtp on private/lmtp-store (the socket
qmgr's local_transport reaches) and on a loopback port, a directory with
domains, users (one disabled, one with a small quota) and aliases, and the
store directory owned by the store's user. RawLmtp is a byte-exact LMTP
client for what real clients never send (smtp_helpers.RawSmtp with LHLO).
store_messages() is the one place that knows the store's schema
(store/store.c) and blob layout (store/store_blob.c): the tests read
index.db with sqlite3, read-only.
"""
import os
import pwd
import re
import socket
import sqlite3
import urllib.parse

import pytest

from conftest import TEST_USER, wait_for
from smtp_helpers import CRASH, RawSmtp

PASSWORD = "secret-pw"
USERS = {
    # address: extra ternadmin options
    "alice@example.org": [],
    "bob@example.org": [],
    "carol@example.org": ["--disabled"],
    "dave@example.net": [],
    "tiny@example.org": ["--quota", "2k"],
}
ALIASES = {
    "info@example.org": ["alice@example.org"],
    "sales@example.org": ["alice@example.org", "bob@example.org"],
    "ext@example.org": ["alice@example.org", "someone@remote.example"],
    "gone@example.org": ["carol@example.org"],
    "@example.net": ["dave@example.net"],
}
HOSTNAME = "store.example.org"
# Every StoreServer made, so that no_crashes can check their logs after each test.
SERVERS = []


@pytest.fixture(autouse=True)
def no_crashes():
    """Fail a test during which any Tern process of a StoreServer crashed."""
    offsets = {id(s): s.tern.log_size() for s in SERVERS}
    yield
    for server in SERVERS:
        text = server.crashes(offsets.get(id(server), 0))
        assert text is None, f"a process crashed: {text}"
    SERVERS.clear()


def chown_tree(path):
    """As root, give path and everything below it to the test user (the daemons' owner)."""
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam(TEST_USER)
    for root, dirs, files in os.walk(path):
        for name in [root] + [os.path.join(root, f) for f in dirs + files]:
            os.chown(name, user.pw_uid, user.pw_gid)


class StoreServer:
    """A Tern instance whose lmtp delivers into the store."""

    def __init__(self, tern, main=None, maxproc=10, services=(), users=True, start=True,
                 auth=True):
        self.tern = tern
        self.port = tern.port()
        params = {
            "myhostname": HOSTNAME,
            "mydomain": "example.org",
            "recipient_delimiter": "+",
        }
        params.update(main or {})
        tern.write_main_cf(params)
        tern.write_master_cf([
            *(["auth unix - - n - 1 auth"] if auth else []),
            f"lmtp-store unix - - n - {maxproc} lmtp",
            f"127.0.0.1:{self.port} inet n - n - {maxproc} lmtp",
            *services,
        ])
        if users:
            self.populate()
        tern.store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        chown_tree(tern.data_dir)
        SERVERS.append(self)
        if start:
            self.start()

    def start(self):
        self.tern.start()
        wait_for(self.socket.exists, what="the lmtp-store socket")

    @property
    def socket(self):
        return self.tern.queue_dir / "private" / "lmtp-store"

    def admin(self, *args, password=None):
        r = self.tern.run("ternadmin", *args,
                          input=None if password is None else password + "\n")
        assert r.returncode == 0, f"ternadmin {' '.join(args)}: {r.stderr}"
        chown_tree(self.tern.data_dir / "directory")
        return r

    def populate(self):
        self.admin("domain", "add", "example.org")
        self.admin("domain", "add", "example.net")
        self.admin("domain", "add", "elsewhere.example", "--not-local")
        for address, extra in USERS.items():
            self.admin("user", "add", address, *extra, password=PASSWORD)
        for alias, targets in ALIASES.items():
            self.admin("alias", "add", alias, *targets)

    def store_path(self, address):
        """Where an account's store is: directory_store_path() of mail/directory.c."""
        local, domain = address.rsplit("@", 1)
        name = ""
        for i, byte in enumerate(local.encode()):
            c = chr(byte).lower() if byte < 0x80 else None
            if c is not None and (c.isalnum() or (c in "._+=-" and not (c == "." and i == 0))):
                name += c
            else:
                name += f"%{byte:02X}"
        return self.tern.store_dir / domain.lower() / name

    def messages(self, address, mailbox=None):
        return store_messages(self.store_path(address), mailbox)

    def crashes(self, offset=0):
        m = CRASH.search(self.tern.log(offset))
        return None if m is None else self.tern.log(offset)[max(0, m.start() - 300):m.end() + 300]


# ---------------------------------------------------------------- the store, read-only


def blob_path(store_path, blob_id):
    """A blob's file: blobs/<last two hex digits>/<16 hex digits>."""
    name = f"{blob_id:016x}"
    return store_path / "blobs" / name[-2:] / name


def store_messages(store_path, mailbox=None):
    """The messages of a store as dicts (mailbox, uid, size, blob, path, bodystructure,
    flags), by mailbox and UID; [] when the store does not exist yet."""
    db = store_path / "index.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{urllib.parse.quote(str(db))}?mode=ro", uri=True, timeout=30)
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            return []  # being made by another process right now
        rows = conn.execute(
            "SELECT mailbox.name, message.uid, message.size, message.blob, message.flags, "
            "blob.bodystructure FROM message "
            "JOIN mailbox ON mailbox.id = message.mailbox "
            "JOIN blob ON blob.id = message.blob "
            "ORDER BY mailbox.name, message.uid").fetchall()
    finally:
        conn.close()
    out = []
    for name, uid, size, blob, flags, bodystructure in rows:
        if mailbox is not None and name != mailbox:
            continue
        out.append({"mailbox": name, "uid": uid, "size": size, "blob": blob, "flags": flags,
                    "path": blob_path(store_path, blob), "bodystructure": bodystructure})
    return out


def store_blob_files(store_path):
    """Every file under blobs/, as a set of paths."""
    result = set()
    for root, _dirs, files in os.walk(store_path / "blobs"):
        for f in files:
            result.add(store_path / "blobs" / os.path.relpath(os.path.join(root, f),
                                                               store_path / "blobs"))
    return result


def message_text(msg):
    """A stored message's bytes."""
    return msg["path"].read_bytes()


# ---------------------------------------------------------------- raw LMTP


class RawLmtp(RawSmtp):
    """A byte-exact LMTP client on a unix socket path or a loopback port: RawSmtp's reading
    and writing, with LHLO and transactions that get a reply per recipient."""

    RESET_IS_CLOSE = False

    def __init__(self, where, timeout=15.0, greeting=True):
        if isinstance(where, int):
            super().__init__(where, timeout=timeout, greeting=greeting)
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(str(where))
        self._start(sock, greeting)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def lhlo(self, name="mx.example.org"):
        code, text = self.cmd(f"LHLO {name}")
        assert code == 250, text
        return text.split("\n")[1:]

    def transaction(self, sender, rcpts, body, lhlo=True):
        """MAIL, RCPT each, DATA, the body (dot-stuffed here); returns (rcpt replies, data
        replies): one data reply per accepted recipient."""
        if lhlo:
            self.lhlo()
        code, text = self.cmd(f"MAIL FROM:<{sender}>")
        assert code == 250, text
        rcpt_replies = [self.cmd(f"RCPT TO:<{r}>") for r in rcpts]
        accepted = sum(1 for code, _ in rcpt_replies if code == 250)
        code, text = self.cmd("DATA")
        if accepted == 0:
            assert code == 503, text
            return rcpt_replies, []
        assert code == 354, text
        self.send(dot_stuff(body) + b".\r\n")
        return rcpt_replies, self.replies(accepted)


def dot_stuff(body):
    """A message (bytes, CR LF lines) as DATA sends it, without the final dot line."""
    if isinstance(body, str):
        body = body.encode()
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", body)


def simple_message(subject="test", body="hello\r\n", sender="sender@example.net",
                   to="alice@example.org", extra=""):
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n{extra}\r\n"
            f"{body}").encode()
