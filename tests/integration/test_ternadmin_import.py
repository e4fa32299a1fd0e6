"""ternadmin import/export of Maildir and mbox, and ternadmin store info|gc.

Each test has its own configuration directory in tmp_path with the data and
store directories beside it. Maildirs are built here the way Dovecot writes
them (Maildir++ folders with modified UTF-7 names, dovecot-uidlist,
dovecot-keywords, subscriptions), or by Dovecot itself through doveadm, and
read back with the small reader below to compare what went in with what came
out: folders, UIDVALIDITY, UIDs, flags, keywords, internal dates (mtimes)
and bytes (modulo line ends).
"""
import base64
import json
import os
import pathlib
import pty
import pwd
import re
import select
import shutil
import subprocess
import time

import pytest

PASSWORD = "s3cret pass"
TEST_USER = "terntest"
ROOT = os.geteuid() == 0


# ------------------------------------------------------------- helpers


def mutf7_decode(s):
    out, i = [], 0
    while i < len(s):
        if s[i] != "&":
            out.append(s[i])
            i += 1
            continue
        j = s.index("-", i)
        if j == i + 1:
            out.append("&")
        else:
            b = s[i + 1 : j].replace(",", "/")
            out.append(base64.b64decode(b + "=" * (-len(b) % 4)).decode("utf-16-be"))
        i = j + 1
    return "".join(out)


def mutf7_encode(s):
    out, run = [], []

    def flush():
        if run:
            b = base64.b64encode("".join(run).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
            run.clear()

    for ch in s:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


FLAG_LETTERS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}


def read_maildir(root):
    """{mailbox: {"uidvalidity": V, "messages": {uid: (flags, keywords, mtime, bytes)}}}.

    bytes has LF line ends; flags and keywords are frozensets.
    """
    root = pathlib.Path(root)
    folders = [root] if (root / "cur").is_dir() else []
    folders += sorted(
        d for d in root.iterdir() if d.name.startswith(".") and d.is_dir() and (d / "cur").is_dir()
    )
    result = {}
    for d in folders:
        name = "INBOX" if d == root else "/".join(mutf7_decode(c) for c in d.name[1:].split("."))
        uids, uidvalidity = {}, None
        lines = (d / "dovecot-uidlist").read_text().splitlines()
        uidvalidity = int(re.search(r" V(\d+)", lines[0]).group(1))
        for line in lines[1:]:
            uid, _, fname = line.partition(" :")
            uids[fname.split(":")[0]] = int(uid.split()[0])
        letters = {}
        if (d / "dovecot-keywords").exists():
            for line in (d / "dovecot-keywords").read_text().splitlines():
                idx, _, kw = line.partition(" ")
                letters[chr(ord("a") + int(idx))] = kw
        messages = {}
        for sub in ("cur", "new"):
            for f in sorted((d / sub).iterdir()):
                base, _, info = f.name.partition(":")
                flags, keywords = set(), set()
                for c in info[2:] if info.startswith("2,") else "":
                    if c in FLAG_LETTERS:
                        flags.add(FLAG_LETTERS[c])
                    elif c == "P":
                        keywords.add("$Forwarded")
                    elif c in letters:
                        keywords.add(letters[c])
                data = f.read_bytes().replace(b"\r\n", b"\n")
                messages[uids[base]] = (
                    frozenset(flags),
                    frozenset(keywords),
                    int(f.stat().st_mtime),
                    data,
                )
        result[name] = {"uidvalidity": uidvalidity, "messages": messages}
    return result


def read_subscriptions(root):
    lines = (pathlib.Path(root) / "subscriptions").read_text().split("\n")
    assert lines[:2] == ["V\t2", ""]
    return {"/".join(mutf7_decode(c) for c in line.split("\t")) for line in lines[2:] if line}


def message(n, subject=None, extra=""):
    return (
        f"From: Sender {n} <sender{n}@example.net>\n"
        f"To: alice@example.org\n"
        f"Subject: {subject or f'message {n}'}\n"
        f"Message-ID: <{n}.{time.time_ns()}@example.net>\n"
        f"{extra}\n"
        f"Body of message {n}.\n"
        f"From here on a line starts with From.\n"
        f"\n"
        f"-- \nsender {n}\n"
    ).encode()


class Admin:
    """One configuration directory and the ternadmin that uses it."""

    def __init__(self, binary, base):
        self.binary = binary
        self.base = base
        self.config = base / "cfg"
        self.store = base / "store"
        self.data = base / "data"
        self.log = base / "tern.log"
        self.config.mkdir()
        self.store.mkdir()
        extra = f"store_owner = {TEST_USER}\n" if ROOT else ""
        (self.config / "main.cf").write_text(
            f"data_directory = {self.data}\n"
            f"queue_directory = {base / 'queue'}\n"
            f"store_directory = {self.store}\n"
            f"log_to = {self.log}\n" + extra
        )
        if ROOT:
            give_to_test_user(base)

    def assert_store_owned(self):
        """As root, ternadmin made every file of the store as store_owner."""
        if ROOT:
            uid = pwd.getpwnam(TEST_USER).pw_uid
            for p in self.store.rglob("*"):
                assert p.stat().st_uid == uid, p

    def command(self, *args):
        return [self.binary, "-c", str(self.config), *args]

    def run(self, *args, input=""):
        if ROOT:
            give_to_test_user(self.base, skip=(self.store, self.data))
        return subprocess.run(
            self.command(*args), input=input, capture_output=True, text=True, timeout=300
        )

    def ok(self, *args, input=""):
        r = self.run(*args, input=input)
        assert r.returncode == 0, f"{args}: {r.stdout} {r.stderr}"
        assert r.stderr == "", r.stderr
        return r

    def fail(self, *args, status=1):
        r = self.run(*args)
        assert r.returncode == status, f"{args}: exit {r.returncode}: {r.stdout} {r.stderr}"
        assert r.stderr.startswith("ternadmin: "), r.stderr
        return r

    def json(self, *args):
        return json.loads(self.ok("--json", *args).stdout)

    def add_user(self, address, *options):
        domain = address.split("@")[1]
        if not any(d["domain"] == domain for d in self.json("domain", "list")["domains"]):
            self.ok("domain", "add", domain)
        self.ok("user", "add", address, *options, input=PASSWORD + "\n")

    def info(self, address):
        return self.json("store", "info", address)

    def mailboxes(self, address):
        return {m["name"]: m for m in self.info(address)["mailboxes"]}


def give_to_test_user(path, skip=()):
    """As root: let store_owner (the test user) read and write the test's files (not skip)."""
    pw = pwd.getpwnam(TEST_USER)
    for p in [path, *path.parents]:
        if str(p) in ("/", "/tmp"):
            break
        mode = p.stat().st_mode & 0o777
        if mode & 0o011 != 0o011:
            p.chmod(mode | 0o011)
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if pathlib.Path(dirpath, d) not in skip]
        for n in [dirpath] + [os.path.join(dirpath, f) for f in dirnames + filenames]:
            os.lchown(n, pw.pw_uid, pw.pw_gid)


@pytest.fixture(scope="module")
def ternadmin_bin():
    prefix = os.environ.get("TERN_PREFIX")
    if not prefix:
        pytest.skip("TERN_PREFIX is not set")
    path = pathlib.Path(prefix) / "sbin" / "ternadmin"
    assert path.is_file(), f"{path} is not installed"
    return str(path)


@pytest.fixture
def admin(ternadmin_bin, tmp_path):
    return Admin(ternadmin_bin, tmp_path)


# ------------------------------------------------------ building a Maildir


class MaildirBuilder:
    """A Maildir++ tree as Dovecot writes it."""

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.folders = {}
        self.counter = 0

    def folder(self, name, uidvalidity=None, uidnext=None, keywords=()):
        d = self.root if name == "INBOX" else self.root / (
            "." + ".".join(mutf7_encode(c) for c in name.split("/"))
        )
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        if name != "INBOX":
            (d / "maildirfolder").touch()
        self.folders[name] = {
            "dir": d,
            "uidvalidity": uidvalidity,
            "uidnext": uidnext,
            "keywords": list(keywords),
            "lines": [],
        }
        return d

    def add(self, folder, data, uid=None, flags="", mtime=None, new=False, name_time=None):
        f = self.folders[folder]
        self.counter += 1
        t = name_time if name_time is not None else 1700000000 + self.counter
        crlf = len(data) + data.count(b"\n")
        base = f"{t}.M{self.counter}P4242.host,S={len(data)},W={crlf}"
        fname = base if new and not flags else f"{base}:2,{flags}"
        path = f["dir"] / ("new" if new else "cur") / fname
        path.write_bytes(data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        if uid is not None:
            f["lines"].append(f"{uid} :{base}")
        return path

    def finish(self, subscriptions=()):
        for name, f in self.folders.items():
            if f["uidvalidity"] is not None:
                lines = sorted(f["lines"], key=lambda l: int(l.split()[0]))
                head = f"3 V{f['uidvalidity']} N{f['uidnext']} G0123456789abcdef0123456789abcdef"
                (f["dir"] / "dovecot-uidlist").write_text("\n".join([head, *lines]) + "\n")
            if f["keywords"]:
                (f["dir"] / "dovecot-keywords").write_text(
                    "".join(f"{i} {k}\n" for i, k in enumerate(f["keywords"]))
                )
        (self.root / "subscriptions").write_text(
            "V\t2\n\n"
            + "".join("\t".join(mutf7_encode(c) for c in s.split("/")) + "\n" for s in subscriptions)
        )


def sample_maildir(root):
    """Folders (one non-ASCII, one nested, one that the store makes itself), flags, keywords."""
    b = MaildirBuilder(root)
    b.folder("INBOX", 1600000001, 40, keywords=["$Forwarded", "Work", "$Junk"])
    b.add("INBOX", message(1), uid=3, flags="S", mtime=1600000100)
    b.add("INBOX", message(2, extra="X-Long: a\n b\n"), uid=7, flags="FRSab", mtime=1600000200)
    b.add("INBOX", message(3).replace(b"\n", b"\r\n"), uid=12, flags="c", mtime=1600000300)
    b.add("INBOX", message(4), uid=13, new=True, mtime=1600000400)
    b.folder("Entwürfe", 1600000002, 3)
    b.add("Entwürfe", message(5, "Entwurf"), uid=1, flags="D", mtime=1600000500)
    b.add("Entwürfe", message(6), uid=2, flags="DST", mtime=1600000600)
    b.folder("Archiv/2023 & mehr", 1600000003, 100, keywords=["Projekt"])
    b.add("Archiv/2023 & mehr", message(7), uid=50, flags="Sa", mtime=1500000000)
    b.folder("Sent", 1600000004, 2)
    b.add("Sent", message(8), uid=1, flags="S", mtime=1600000800)
    b.finish(subscriptions=["Entwürfe", "Archiv/2023 & mehr"])
    return b


def assert_same(source, exported, mailboxes=None):
    """The mailboxes of source are in exported with the same UIDVALIDITY and messages."""
    for name in mailboxes or source:
        assert name in exported, f"{name} missing: {sorted(exported)}"
        assert exported[name]["uidvalidity"] == source[name]["uidvalidity"], name
        assert exported[name]["messages"] == source[name]["messages"], name


# ---------------------------------------------------------------- Maildir


def test_maildir_import_export_lossless(admin, tmp_path):
    admin.add_user("alice@example.org")
    src = tmp_path / "src"
    sample_maildir(src)
    r = admin.run("import", "maildir", "alice@example.org", str(src))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert "ternadmin: mailbox imported: address=alice@example.org, mailbox=Entwürfe," in r.stdout
    summary = r.stdout.strip().split("\n")[-1]
    assert re.match(
        r"ternadmin: mail imported: address=alice@example.org, source=\S+, mailboxes=4, "
        r"messages=8, skipped=0, bytes=\d+, seconds=[\d.]+, rate=\d+/s, by=uid \d+$",
        summary,
    ), summary
    assert "mail imported: address=alice@example.org" in admin.log.read_text()

    boxes = admin.mailboxes("alice@example.org")
    assert boxes["INBOX"]["messages"] == 4 and boxes["INBOX"]["uidvalidity"] == 1600000001
    assert boxes["INBOX"]["unseen"] == 2
    assert boxes["Entwürfe"]["uidvalidity"] == 1600000002
    assert boxes["Archiv/2023 & mehr"]["uidvalidity"] == 1600000003
    assert boxes["Sent"]["special_use"] == ["\\Sent"]
    assert boxes["Sent"]["uidvalidity"] == 1600000004
    assert boxes["Entwürfe"]["subscribed"] and boxes["Archiv/2023 & mehr"]["subscribed"]

    out = tmp_path / "out"
    r = admin.ok("export", "maildir", "alice@example.org", str(out))
    assert "mail exported: address=alice@example.org" in r.stdout
    source, exported = read_maildir(src), read_maildir(out)
    assert_same(source, exported)
    # What the store made by itself (special-use mailboxes, the parent Archiv) comes out empty.
    assert set(exported) == set(source) | {"Drafts", "Junk", "Trash", "Archive", "Archiv"}
    assert exported["Archiv"]["messages"] == {}
    assert read_subscriptions(out) >= {"Entwürfe", "Archiv/2023 & mehr", "INBOX"}
    assert (out / ".Entw&APw-rfe" / "maildirfolder").exists()
    for f in (out / "cur").iterdir():
        base = f.name.split(":")[0]
        size = f.stat().st_size
        crlf = size + f.read_bytes().count(b"\n")
        assert re.fullmatch(rf"\d+\.M\d+P\d+\.[^,/:]+,S={size},W={crlf}", base), base
    uidlist = (out / "dovecot-uidlist").read_text().split("\n")[0]
    assert re.fullmatch(r"3 V1600000001 N\d+", uidlist), uidlist

    # Again: the export imports into another user as it was.
    admin.add_user("bob@example.org")
    admin.ok("import", "maildir", "bob@example.org", str(out))
    out2 = tmp_path / "out2"
    admin.ok("export", "maildir", "bob@example.org", str(out2))
    assert_same(exported, read_maildir(out2))
    admin.assert_store_owned()


def test_maildir_without_uidlist_and_into_folder(admin, tmp_path):
    admin.add_user("alice@example.org")
    src = tmp_path / "src"
    b = MaildirBuilder(src)
    b.folder("INBOX")
    b.add("INBOX", message(1), name_time=1700000300, flags="S")
    b.add("INBOX", message(2), name_time=1700000100)
    b.add("INBOX", message(3), name_time=1700000200, new=True)
    b.folder("Work")
    b.add("Work", message(4), flags="P")
    b.finish()
    admin.ok("import", "maildir", "alice@example.org", str(src), "--folder", "Old mail")
    boxes = admin.mailboxes("alice@example.org")
    assert boxes["Old mail"]["messages"] == 3
    assert boxes["Old mail/Work"]["messages"] == 1
    assert boxes["INBOX"]["messages"] == 0
    out = tmp_path / "out"
    admin.ok("export", "maildir", "alice@example.org", str(out))
    got = read_maildir(out)
    # UIDs in the order of the time in the file names.
    subjects = {
        uid: re.search(rb"Subject: (.*)", m[3]).group(1) for uid, m in got["Old mail"]["messages"].items()
    }
    assert subjects == {1: b"message 2", 2: b"message 3", 3: b"message 1"}
    assert got["Old mail"]["messages"][3][0] == {"\\Seen"}
    assert got["Old mail"]["messages"][2][0] == frozenset()
    assert got["Old mail/Work"]["messages"][1][1] == {"$Forwarded"}


def test_maildir_uidlist_gaps_and_unlisted(admin, tmp_path):
    """Messages missing from dovecot-uidlist come after its next UID; a second import
    into the same mailbox gets new UIDs."""
    admin.add_user("alice@example.org")
    src = tmp_path / "src"
    b = MaildirBuilder(src)
    b.folder("Lists", 1234, 30)
    b.add("Lists", message(1), uid=10)
    b.add("Lists", message(2), name_time=1700000500)
    b.finish()
    admin.ok("import", "maildir", "alice@example.org", str(src))
    box = admin.mailboxes("alice@example.org")["Lists"]
    assert (box["uidvalidity"], box["messages"], box["uidnext"]) == (1234, 2, 31)
    r = admin.ok("import", "maildir", "alice@example.org", str(src))
    assert "mailbox=Lists, source=" in r.stdout and "new_uids=1" in r.stdout
    box = admin.mailboxes("alice@example.org")["Lists"]
    assert (box["uidvalidity"], box["messages"], box["uidnext"]) == (1234, 4, 33)


def test_broken_files_are_skipped(admin, tmp_path):
    admin.add_user("alice@example.org")
    src = tmp_path / "src"
    b = MaildirBuilder(src)
    b.folder("INBOX")
    b.add("INBOX", message(1))
    b.folder("Broken", 99, 5)
    b.add("Broken", message(1), uid=1)
    unreadable = b.add("Broken", message(2), uid=2)
    empty = b.add("Broken", b"", uid=3)
    b.add("Broken", message(4), uid=4)
    os.mkfifo(b.folders["Broken"]["dir"] / "cur" / "1700009999.fifo:2,S")
    b.finish()
    if ROOT:
        give_to_test_user(tmp_path)
    unreadable.chmod(0)
    r = admin.run("import", "maildir", "alice@example.org", str(src))
    assert r.returncode == 3, r.stderr
    err = r.stderr.strip().split("\n")
    assert len(err) == 3, "\n".join(err)
    assert f"ternadmin: import maildir: {unreadable}: Permission denied: skipped" in err
    assert f"ternadmin: import maildir: {empty}: empty file: skipped" in err
    assert any("1700009999.fifo:2,S: not a regular file: skipped" in e for e in err)
    assert "mailbox=Broken, source=" in r.stdout and "messages=2, skipped=3" in r.stdout
    assert "mailboxes=2, messages=3, skipped=3" in r.stdout
    box = admin.mailboxes("alice@example.org")["Broken"]
    assert (box["messages"], box["uidvalidity"], box["uidnext"]) == (2, 99, 5)
    assert "skipped" in admin.log.read_text()


def test_import_export_errors(admin, tmp_path):
    admin.add_user("alice@example.org")
    r = admin.fail("import", "maildir", "nobody@example.org", str(tmp_path))
    assert r.stderr == "ternadmin: import maildir: user nobody@example.org does not exist\n"
    r = admin.fail("store", "info", "alice@example.org")
    assert "user alice@example.org has no mail store yet" in r.stderr
    (tmp_path / "empty").mkdir()
    r = admin.fail("import", "maildir", "alice@example.org", str(tmp_path / "empty"))
    assert "is not a Maildir" in r.stderr
    (tmp_path / "notmbox").write_text("hello\n")
    r = admin.fail("import", "mbox", "alice@example.org", str(tmp_path / "notmbox"))
    assert "notmbox: not an mbox file" in r.stderr
    r = admin.fail("import", "mbox", "alice@example.org", str(tmp_path / "missing"))
    assert "missing: No such file or directory" in r.stderr
    # Nothing was imported: the store was not even made.
    r = admin.fail("export", "maildir", "alice@example.org", str(tmp_path / "x"))
    assert "user alice@example.org has no mail store yet" in r.stderr
    assert not (tmp_path / "x").exists()
    admin.ok("import", "mbox", "alice@example.org", str(tmp_path / "empty"))
    r = admin.fail("export", "maildir", "alice@example.org", str(tmp_path), status=1)
    assert "is not empty: export into a new directory" in r.stderr
    r = admin.fail("import", "zip", "alice@example.org", "x", status=2)
    assert "unknown format" in r.stderr
    r = admin.fail("import", "maildir", "alice@example.org", status=2)
    assert "missing argument" in r.stderr
    r = admin.fail("export", "maildir", "alice@example.org", "x", "--folder", "a", status=2)
    r = admin.fail("store", "gc", "alice@example.org", "--min-age", "soon", status=2)
    r = admin.fail("store", "info", "alice@example.org", "--min-age", "1", status=2)
    r = admin.fail("export", "mbox", "alice@example.org", str(tmp_path / "f"), "--folder", "Nope")
    assert "Nope" in r.stderr


def test_quota_is_ignored_but_reported(admin, tmp_path):
    admin.add_user("alice@example.org", "--quota", "1k", "--quota-messages", "1")
    src = tmp_path / "src"
    b = MaildirBuilder(src)
    b.folder("INBOX")
    for n in range(5):
        b.add("INBOX", message(n) * 3)
    b.finish()
    r = admin.run("import", "maildir", "alice@example.org", str(src))
    assert r.returncode == 0, r.stderr
    assert "alice@example.org is over quota: " in r.stderr
    assert "5 messages of 1 allowed" in r.stderr
    info = admin.info("alice@example.org")
    assert info["quota"]["messages"] == 5 and info["quota"]["messages_limit"] == 1
    assert info["quota"]["bytes"] > 1024


# ------------------------------------------------------------------- mbox

MBOX = (
    b"From alice@example.org Mon Nov  2 10:00:00 2020 +0000\n"
    b"Return-Path: <alice@example.org>\nFrom: a@example.org\nSubject: one\n"
    b"Status: RO\nX-Status: AF\nX-Keywords: Work $Forwarded\nX-UID: 5\n"
    b"X-IMAPbase: 1500000000 0000000009 Work $Forwarded\n"
    b"Content-Length: 99\n\n"
    b"Body one.\n>From the start\n>>From quoted\n\n"
    b"From MAILER-DAEMON Tue Nov  3 11:30:15 2020 -0130\n"
    b"From: b@example.org\nSubject: two\nStatus: O\nX-UID: 8\n\n"
    b"Body two.\n\n\n"
    b"From x@example.org Wed Nov  4 12:00:00 2020\n"
    b"Subject: three\nX-Status: DT\n\nLast.\n\n"
)


def read_mbox(path):
    """[(from_line, message without the state headers, state)] of an mboxrd file.

    The state is a dict of the mbox headers, keyword lists as sets.
    """
    data = pathlib.Path(path).read_bytes()
    if not data:
        return []
    assert data.endswith(b"\n\n")
    parts = re.split(rb"\n\n(?=From )", data)
    out = []
    for part in [p + b"\n" for p in parts[:-1]] + [parts[-1][:-1]]:
        from_line, _, rest = part.partition(b"\n")
        header, _, body = rest.partition(b"\n\n")
        kept, state = [], {}
        for line in header.split(b"\n"):
            name = line.split(b":")[0].lower().decode()
            if name in ("status", "x-status", "x-keywords", "x-uid", "x-imapbase"):
                value = line.split(b":", 1)[1].strip().decode()
                if name == "x-keywords":
                    value = set(value.split())
                elif name == "x-imapbase":
                    value = value.split()[:2] + [set(value.split()[2:])]
                state[name] = value
            else:
                kept.append(line)
        text = re.sub(rb"(?m)^>(>*From )", rb"\1", b"\n".join(kept) + b"\n\n" + body)
        out.append((from_line.decode(), text, state))
    return out


def test_mbox_import_export_lossless(admin, tmp_path):
    admin.add_user("alice@example.org")
    src = tmp_path / "old.mbox"
    src.write_bytes(MBOX)
    r = admin.ok("import", "mbox", "alice@example.org", str(src), "--folder", "Old/Mail")
    assert "mailbox=Old/Mail" in r.stdout and "messages=3, skipped=0" in r.stdout
    box = admin.mailboxes("alice@example.org")["Old/Mail"]
    assert (box["uidvalidity"], box["messages"], box["unseen"]) == (1500000000, 3, 2)
    assert box["uidnext"] == 10

    out = tmp_path / "mbox-out"
    admin.ok("export", "mbox", "alice@example.org", str(out))
    assert (out / "INBOX.mbox").read_bytes() == b""
    raw = (out / "Old" / "Mail.mbox").read_bytes()
    assert b"\n>From the start\n>>From quoted\n\nFrom MAILER-DAEMON " in raw
    msgs = read_mbox(out / "Old" / "Mail.mbox")
    assert len(msgs) == 3
    (f1, m1, s1), (f2, m2, s2), (f3, m3, s3) = msgs
    assert re.fullmatch(r"From alice@example.org \w{3} Nov +\d+ \d\d:\d\d:00 2020 [+-]\d{4}", f1), f1
    assert f2.startswith("From MAILER-DAEMON ")
    assert s1 == {
        "x-imapbase": ["1500000000", "0000000010", {"Work", "$Forwarded"}],
        "x-uid": "5",
        "status": "RO",
        "x-status": "AF",
        "x-keywords": {"Work", "$Forwarded"},
    }
    assert m1 == (
        b"Return-Path: <alice@example.org>\nFrom: a@example.org\nSubject: one\n\n"
        b"Body one.\nFrom the start\n>From quoted\n"
    )
    assert s2 == {"x-uid": "8", "status": "O"}
    assert m2 == b"From: b@example.org\nSubject: two\n\nBody two.\n\n"
    # No X-UID: the next UID of X-IMAPbase.
    assert s3 == {"x-uid": "9", "status": "O", "x-status": "DT"}
    assert m3 == b"Subject: three\n\nLast.\n"

    # Dates, flags and keywords as a Maildir shows them.
    admin.add_user("bob@example.org")
    admin.ok("import", "mbox", "bob@example.org", str(out))
    md = tmp_path / "md"
    admin.ok("export", "maildir", "bob@example.org", str(md))
    got = read_maildir(md)["Old/Mail"]
    assert got["uidvalidity"] == 1500000000
    local = int(time.mktime((2020, 11, 4, 12, 0, 0, 0, 0, -1)))
    assert {uid: m[2] for uid, m in got["messages"].items()} == {
        5: 1604311200,
        8: 1604408415,
        9: local,
    }
    assert got["messages"][5][:2] == ({"\\Seen", "\\Answered", "\\Flagged"}, {"Work", "$Forwarded"})
    assert got["messages"][9][0] == {"\\Deleted", "\\Draft"}

    # An mbox export of bob's copy is alice's again.
    out2 = tmp_path / "mbox-out2"
    admin.ok("export", "mbox", "bob@example.org", str(out2))
    assert read_mbox(out2 / "Old" / "Mail.mbox") == msgs
    one = tmp_path / "one.mbox"
    admin.ok("export", "mbox", "bob@example.org", str(one), "--folder", "Old/Mail")
    assert read_mbox(one) == msgs
    r = admin.fail("export", "mbox", "bob@example.org", str(one), "--folder", "Old/Mail")
    assert "exists: export into a new file" in r.stderr


def test_mbox_directory_with_bad_file(admin, tmp_path):
    admin.add_user("alice@example.org")
    d = tmp_path / "mail"
    (d / "Lists").mkdir(parents=True)
    (d / "INBOX").write_bytes(MBOX)
    (d / "Lists" / "tern.mbox").write_bytes(MBOX)
    (d / "Lists" / "index.msf").write_bytes(b"// not mail\n")
    (d / ".hidden").write_bytes(MBOX)
    r = admin.run("import", "mbox", "alice@example.org", str(d))
    assert r.returncode == 3, r.stderr
    assert "index.msf: not an mbox file" in r.stderr
    boxes = admin.mailboxes("alice@example.org")
    assert boxes["INBOX"]["messages"] == 3 and boxes["Lists/tern"]["messages"] == 3
    assert "Lists/index.msf" not in boxes and ".hidden" not in boxes


# --------------------------------------------------------------- Dovecot


class Dovecot:
    """doveadm with a private configuration, working on one Maildir as the current user."""

    def __init__(self, base, maildir):
        self.base = base
        self.conf = base / "dovecot.conf"
        self.home = base / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        user = pwd.getpwnam(TEST_USER) if ROOT else pwd.getpwuid(os.getuid())
        self.user = user.pw_name
        self.conf.write_text(
            f"base_dir = {base}/run\nstate_dir = {base}/state\nlog_path = {base}/dovecot.log\n"
            f"mail_location = maildir:{maildir}\nssl = no\nprotocols =\n"
            "namespace inbox {\n  inbox = yes\n  separator = /\n}\n"
            f"userdb {{\n  driver = static\n  args = uid={user.pw_uid} gid={user.pw_gid} home={self.home}\n}}\n"
            "passdb {\n  driver = static\n  args = nopassword=y\n}\n"
        )

    def run(self, *args, input=None):
        if ROOT:
            give_to_test_user(self.base)
        prefix = ["runuser", "-u", TEST_USER, "--"] if ROOT else []
        env = dict(os.environ, USER=self.user, HOME=str(self.home))
        r = subprocess.run(
            [*prefix, "doveadm", "-c", str(self.conf), *args],
            input=input,
            capture_output=True,
            env=env,
            timeout=60,
        )
        assert r.returncode == 0, f"doveadm {args}: {r.stderr.decode()}"
        return r.stdout.decode()

    def fetch(self):
        """{mailbox: {uid: (flags without \\Recent, date.received)}}."""
        out = self.run("fetch", "mailbox uid flags date.received", "all")
        result = {}
        for block in out.strip().split("\n\x0c\n"):
            fields = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in block.split("\n"))
            flags = frozenset(fields["flags"].split()) - {"\\Recent"}
            result.setdefault(fields["mailbox"], {})[int(fields["uid"])] = (flags, fields["date.received"])
        return result

    def uidvalidities(self):
        out = self.run("mailbox", "status", "uidvalidity", "*")
        return {line.rsplit(" uidvalidity=", 1)[0]: int(line.rsplit("=", 1)[1]) for line in out.strip().split("\n")}


@pytest.fixture
def doveadm():
    if shutil.which("doveadm") is None:
        pytest.skip("doveadm is not installed (Debian package dovecot-core)")


def test_dovecot_maildir_round_trip(admin, tmp_path, doveadm):
    maildir = tmp_path / "dovecot" / "Maildir"
    dove = Dovecot(tmp_path / "dovecot", maildir)
    for n in range(1, 4):
        dove.run("save", input=message(n))
    dove.run("mailbox", "create", "Entwürfe", "Projekte/Tern")
    dove.run("save", "-m", "Entwürfe", input=message(4))
    dove.run("save", "-m", "Projekte/Tern", input=message(5))
    dove.run("save", "-m", "Projekte/Tern", input=message(6))
    dove.run("expunge", "mailbox", "Projekte/Tern", "uid", "1")
    dove.run("flags", "add", "\\Seen $Forwarded Wichtig", "mailbox", "INBOX", "uid", "1,3")
    dove.run("flags", "add", "\\Answered \\Flagged", "mailbox", "INBOX", "uid", "2")
    dove.run("flags", "add", "\\Draft", "mailbox", "Entwürfe", "all")
    dove.run("flags", "add", "\\Deleted Tern", "mailbox", "Projekte/Tern", "all")
    dove.run("mailbox", "subscribe", "Entwürfe")
    before = dove.fetch()
    validity = dove.uidvalidities()
    assert before["Projekte/Tern"] == {2: before["Projekte/Tern"][2]}

    # The store's own UIDVALIDITY (the time) must not match Dovecot's by chance.
    time.sleep(1.1)
    admin.add_user("alice@example.org")
    admin.ok("import", "maildir", "alice@example.org", str(maildir))
    boxes = admin.mailboxes("alice@example.org")
    for name in ("INBOX", "Entwürfe", "Projekte/Tern"):
        assert boxes[name]["uidvalidity"] == validity[name], name
        assert boxes[name]["messages"] == len(before[name]), name
    assert boxes["Entwürfe"]["subscribed"]

    out = tmp_path / "export" / "Maildir"
    out.parent.mkdir()
    admin.ok("export", "maildir", "alice@example.org", str(out))
    back = Dovecot(tmp_path / "export", out)
    after = back.fetch()
    for name in ("INBOX", "Entwürfe", "Projekte/Tern"):
        assert after[name] == before[name], name
    assert {k: v for k, v in back.uidvalidities().items() if k in validity} == validity
    assert "Entwürfe" in back.run("mailbox", "list", "-s")


# -------------------------------------------------------- store info and gc


def test_store_info_and_gc(admin, tmp_path):
    admin.add_user("alice@example.org", "--quota", "10m")
    src = tmp_path / "src"
    sample_maildir(src)
    admin.ok("import", "maildir", "alice@example.org", str(src), "--folder", "Imported")
    r = admin.ok("store", "info", "alice@example.org")
    lines = r.stdout.rstrip("\n").split("\n")
    assert lines[0] == f"alice@example.org: {admin.store / 'example.org' / 'alice'}"
    header = lines[1].split()
    assert header == ["MAILBOX", "MESSAGES", "UNSEEN", "SIZE", "UIDVALIDITY", "UIDNEXT", "SUBSCRIBED", "SPECIAL-USE"]
    rows = {line.split()[0]: line.split() for line in lines[2:-2]}
    assert rows["INBOX"][:3] == ["INBOX", "0", "0"]
    assert rows["Imported"][:3] == ["Imported", "4", "2"]
    assert rows["Imported"][4:7] == ["1600000001", "40", "no"]  # the source's N40
    assert rows["Sent"][-1] == "\\Sent"
    assert re.fullmatch(r"quota: \d+ bytes of 10M \(\d+\.\d%\), 8 messages of unlimited", lines[-2])
    assert re.fullmatch(r"index: \d+ bytes", lines[-1])
    info = admin.info("alice@example.org")
    assert info["quota"]["messages"] == 8 and info["quota"]["bytes_limit"] == 10 << 20
    assert info["index_bytes"] > 0
    assert sum(m["size"] for m in info["mailboxes"]) == info["quota"]["bytes"]

    # What a crash leaves: an orphan blob and a temporary file.
    store = admin.store / "example.org" / "alice"
    blobs = [p for p in (store / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 8
    d = blobs[0].parent
    orphan = d / ("7" + "0" * 13 + d.name)
    orphan.write_bytes(b"Subject: lost\r\n\r\n")
    temp = store / "tmp" / "abandoned"
    temp.write_bytes(b"x" * 100)
    if ROOT:
        give_to_test_user(store)
    admin.assert_store_owned()
    # Young files may belong to a delivery in progress.
    r = admin.ok("store", "gc", "alice@example.org", "--min-age", "3600")
    assert "orphans=0, temp_files=0, bytes=0" in r.stdout, r.stdout
    assert orphan.exists() and temp.exists()
    r = admin.ok("store", "gc", "alice@example.org", "--min-age", "0")
    assert re.search(
        r"store collected: address=alice@example.org, orphans=1, temp_files=1, bytes=117,", r.stdout
    ), r.stdout
    assert not orphan.exists() and not temp.exists()
    assert all(p.exists() for p in blobs)
    r = admin.json("store", "gc", "alice@example.org")
    assert r["changes"][0]["orphans"] == "0"
    r = admin.fail("store", "info", "nobody@example.org")
    assert "user nobody@example.org does not exist" in r.stderr


# ------------------------------------------------------------------ root


@pytest.mark.root
def test_as_root_it_works_as_store_owner(admin, tmp_path):
    """Started by root, ternadmin becomes store_owner before it touches mail."""
    admin.add_user("alice@example.org")
    src = tmp_path / "src"
    b = MaildirBuilder(src)
    b.folder("INBOX")
    b.add("INBOX", message(1), flags="S")
    b.finish()
    r = admin.ok("import", "maildir", "alice@example.org", str(src))
    # The change is logged as made by root, who ran the command.
    assert re.search(r"mail imported: .*messages=1, .*by=uid 0$", r.stdout.strip())
    admin.assert_store_owned()
    assert any((admin.store / "example.org" / "alice").iterdir())
    out = tmp_path / "out"
    admin.ok("export", "maildir", "alice@example.org", str(out))
    assert out.stat().st_uid == pwd.getpwnam(TEST_USER).pw_uid
    # A source that only root may read is not read.
    secret = tmp_path / "secret"
    secret.mkdir(mode=0o700)
    shutil.copytree(src, secret / "Maildir")
    r = subprocess.run(
        admin.command("import", "maildir", "alice@example.org", str(secret / "Maildir")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "Permission denied" in r.stderr, r.stderr


# ------------------------------------------------------------ progress bar


def test_progress_bar_on_a_terminal(admin, tmp_path):
    admin.add_user("alice@example.org")
    src = tmp_path / "src"
    b = MaildirBuilder(src)
    b.folder("INBOX")
    for n in range(30):
        b.add("INBOX", message(n))
    b.finish()
    if ROOT:
        give_to_test_user(tmp_path)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        admin.command("import", "maildir", "alice@example.org", str(src)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    err = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        assert ready, "no output on the terminal"
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read().decode()
    assert proc.wait(30) == 0
    os.close(master)
    assert re.search(rb"\rimporting \[[#.]+\] +\d+%  \d+/30 messages", err), err
    assert err.endswith(b"\r\x1b[K"), err
    assert "messages=30, skipped=0" in out
    # Without a terminal: no bar, only the summary.
    r = admin.ok("import", "maildir", "alice@example.org", str(src), "--folder", "again")
    assert "\r" not in r.stdout and r.stderr == ""
