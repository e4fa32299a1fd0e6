"""ternadmin: domains, users and aliases of the internal directory.

Each test has its own configuration directory in tmp_path, with the data,
queue and store directories beside it and log_to a file. The installed
ternadmin is found through $TERN_PREFIX.
"""
import ctypes
import json
import os
import pathlib
import pty
import re
import select
import subprocess
import time

import pytest

PASSWORD = "s3cret pass"


@pytest.fixture(scope="module")
def ternadmin_bin():
    prefix = os.environ.get("TERN_PREFIX")
    if not prefix:
        pytest.skip("TERN_PREFIX is not set")
    path = pathlib.Path(prefix) / "sbin" / "ternadmin"
    assert path.is_file(), f"{path} is not installed"
    return str(path)


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
        (self.config / "main.cf").write_text(
            f"data_directory = {self.data}\n"
            f"queue_directory = {base / 'queue'}\n"
            f"store_directory = {self.store}\n"
            f"log_to = {self.log}\n"
            "recipient_delimiter = +\n"
        )

    def command(self, *args):
        return [self.binary, "-c", str(self.config), *args]

    def run(self, *args, input=None):
        return subprocess.run(
            self.command(*args),
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, *args, input=None):
        r = self.run(*args, input=input)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        assert r.stderr == "", r.stderr
        return r

    def fail(self, *args, input=None, status=1):
        r = self.run(*args, input=input)
        assert r.returncode == status, f"{args}: exit {r.returncode}: {r.stdout} {r.stderr}"
        assert r.stderr.startswith("ternadmin: "), r.stderr
        return r

    def json(self, *args, input=None):
        return json.loads(self.ok("--json", *args, input=input).stdout)

    def add_user(self, address, *options, password=PASSWORD):
        return self.ok("user", "add", address, *options, input=password + "\n")

    def users(self, domain=None):
        return self.json("user", "list", *([domain] if domain else []))["users"]

    def stored_hash(self, address):
        """The password hash of address, read from the directory's database file."""
        raw = (self.data / "directory" / "directory.db").read_bytes()
        pos = raw.find(b"7:address," + str(len(address.encode())).encode() + b":" + address.encode())
        assert pos >= 0, f"no record for {address}"
        m = re.compile(rb"8:password,(\d+):").search(raw, pos)
        assert m, "no password in the record"
        return raw[m.end() : m.end() + int(m.group(1))].decode()


@pytest.fixture
def admin(ternadmin_bin, tmp_path):
    return Admin(ternadmin_bin, tmp_path)


def libcrypt(password, setting):
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib.crypt(password.encode(), setting.encode()).decode()


def table(stdout):
    """Rows of a printed table, split on the header's column starts (which must align)."""
    lines = stdout.rstrip("\n").split("\n")
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    rows = []
    for line in lines:
        for s in starts[1:]:
            assert line[s - 2 : s] in ("  ", ""), f"misaligned: {line!r}"
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
        rows.append(cells)
    return rows


def test_domain_add_list_del(admin):
    r = admin.ok("domain", "add", "Example.ORG")
    assert r.stdout.startswith("ternadmin: domain added: domain=example.org, local=yes, by=uid ")
    admin.ok("domain", "add", "other.example", "--not-local")
    rows = table(admin.ok("domain", "list").stdout)
    assert rows == [
        ["DOMAIN", "LOCAL", "USERS", "ALIASES"],
        ["example.org", "yes", "0", "0"],
        ["other.example", "no", "0", "0"],
    ]
    assert admin.json("domain", "list") == {
        "domains": [
            {"domain": "example.org", "local": True, "users": 0, "aliases": 0},
            {"domain": "other.example", "local": False, "users": 0, "aliases": 0},
        ]
    }
    r = admin.fail("domain", "add", "example.org")
    assert "domain example.org already exists" in r.stderr
    admin.ok("domain", "enable", "other.example")
    assert admin.json("domain", "list")["domains"][1]["local"] is True
    admin.ok("domain", "disable", "OTHER.example")
    assert admin.json("domain", "list")["domains"][1]["local"] is False
    admin.ok("domain", "del", "example.org")
    admin.ok("domain", "del", "other.example")
    assert admin.json("domain", "list") == {"domains": []}
    r = admin.fail("domain", "del", "example.org")
    assert r.stderr == "ternadmin: domain del: domain example.org does not exist\n"
    r = admin.fail("domain", "add", "bad..example")
    assert "bad domain" in r.stderr


def test_user_needs_its_domain(admin):
    r = admin.fail("user", "add", "alice@example.org", input=PASSWORD + "\n")
    assert r.stderr == (
        "ternadmin: user add: domain example.org is not a local domain: add it first with "
        '"ternadmin domain add example.org"\n'
    )
    assert admin.users() == []


def test_user_add_and_list(admin):
    admin.ok("domain", "add", "example.org")
    r = admin.add_user("Alice@Example.org", "--name", "Alice Ä", "--quota", "1g", "--quota-messages", "500")
    assert "user added: address=Alice@example.org" in r.stdout
    admin.add_user("bob@example.org", "--disabled")
    users = admin.users()
    assert users == [
        {
            "address": "Alice@example.org",
            "name": "Alice Ä",
            "quota_bytes": 1 << 30,
            "quota_messages": 500,
            "enabled": True,
            "store_path": str(admin.store / "example.org" / "alice"),
        },
        {
            "address": "bob@example.org",
            "name": "",
            "quota_bytes": 0,
            "quota_messages": 0,
            "enabled": False,
            "store_path": str(admin.store / "example.org" / "bob"),
        },
    ]
    rows = table(admin.ok("user", "list", "example.org").stdout)
    assert rows[0] == ["ADDRESS", "NAME", "QUOTA", "MESSAGES", "STATUS"]
    assert rows[1] == ["Alice@example.org", "Alice Ä", "1G", "500", "enabled"]
    assert rows[2] == ["bob@example.org", "", "unlimited", "unlimited", "disabled"]
    r = admin.fail("user", "add", "ALICE@example.org", input=PASSWORD + "\n")
    assert "user Alice@example.org already exists" in r.stderr
    r = admin.fail("user", "list", "nowhere.example")
    assert "domain nowhere.example does not exist" in r.stderr


def test_unicode_and_mixed_case(admin):
    admin.ok("domain", "add", "Bücher.Example")
    assert admin.json("domain", "list")["domains"][0]["domain"] == "xn--bcher-kva.example"
    admin.add_user("José@BÜCHER.example")
    users = admin.users("bücher.example")
    assert [u["address"] for u in users] == ["José@xn--bcher-kva.example"]
    assert users[0]["store_path"] == str(admin.store / "xn--bcher-kva.example" / "jos%C3%A9")
    r = admin.fail("user", "add", "josé@xn--BCHER-kva.example", input=PASSWORD + "\n")
    assert "already exists" in r.stderr
    admin.ok("user", "quota", "JOSÉ@bücher.example".replace("É", "é"), "10m")
    assert admin.users()[0]["quota_bytes"] == 10 << 20
    r = admin.fail("user", "add", "bad\x01@bücher.example", input=PASSWORD + "\n")
    assert "bad address" in r.stderr


def test_password_from_stdin_is_hashed(admin):
    admin.ok("domain", "add", "example.org")
    admin.add_user("alice@example.org")
    admin.add_user("bob@example.org", "--scheme", "argon2id")
    h = admin.stored_hash("alice@example.org")
    assert h.startswith("$y$")
    assert libcrypt(PASSWORD, h) == h
    assert libcrypt("wrong", h) != h
    assert admin.stored_hash("bob@example.org").startswith("$argon2id$v=19$m=65536,t=3,p=1$")
    raw = (admin.data / "directory" / "directory.db").read_bytes()
    assert PASSWORD.encode() not in raw
    # A new password replaces the old hash.
    admin.ok("user", "passwd", "alice@example.org", input="another one\r\n")
    h2 = admin.stored_hash("alice@example.org")
    assert h2 != h and libcrypt("another one", h2) == h2
    # password_scheme in main.cf chooses the default scheme.
    with open(admin.config / "main.cf", "a") as f:
        f.write("password_scheme = argon2id\n")
    admin.add_user("carol@example.org")
    assert admin.stored_hash("carol@example.org").startswith("$argon2id$")


def test_bad_passwords_are_refused(admin):
    admin.ok("domain", "add", "example.org")
    for given in ["", "\n", "\r\n"]:
        r = admin.fail("user", "add", "alice@example.org", input=given)
        assert "an empty password is refused" in r.stderr
    r = admin.fail("user", "add", "alice@example.org", input="x" * 600 + "\n")
    assert "password longer than" in r.stderr
    r = admin.fail("user", "add", "alice@example.org", "--password", "pw", status=2)
    assert 'unknown option "--password"' in r.stderr
    r = admin.fail("user", "add", "alice@example.org", "--name", "a\tb", input="pw\n")
    assert "display name holds a control character" in r.stderr
    r = admin.fail("user", "add", "alice@example.org", "--scheme", "md5", input="pw\n")
    assert 'unknown password scheme "md5"' in r.stderr
    assert admin.users() == []
    r = admin.fail("user", "passwd", "nobody@example.org", input="pw\n")
    assert "user nobody@example.org does not exist" in r.stderr


def run_on_tty(admin, args, answers):
    """Run ternadmin with a terminal as standard input, answering each prompt in turn."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        admin.command(*args), stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    os.close(slave)
    err = b""
    echoed = b""
    for answer in answers:
        deadline = time.monotonic() + 30
        while not err.rstrip().endswith(b"password:"):
            assert time.monotonic() < deadline, f"no prompt: {err!r}"
            ready, _, _ = select.select([proc.stderr], [], [], 0.1)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 1024)
                assert chunk, f"stderr closed: {err!r}"
                err += chunk
        err = b""
        os.write(master, answer.encode() + b"\r")
    out, rest = proc.communicate(timeout=60)
    while select.select([master], [], [], 0.2)[0]:
        try:
            data = os.read(master, 1024)
        except OSError:
            break
        if not data:
            break
        echoed += data
    os.close(master)
    return proc.returncode, out.decode(), rest.decode(), echoed


def test_password_from_terminal(admin):
    admin.ok("domain", "add", "example.org")
    status, out, err, echoed = run_on_tty(admin, ["user", "add", "alice@example.org"], ["tty pw", "tty pw"])
    assert status == 0, err
    assert "user added: address=alice@example.org" in out
    assert b"tty pw" not in echoed
    h = admin.stored_hash("alice@example.org")
    assert libcrypt("tty pw", h) == h
    status, out, err, _ = run_on_tty(admin, ["user", "passwd", "alice@example.org"], ["one", "two"])
    assert status == 1
    assert "the passwords do not match" in err
    assert admin.stored_hash("alice@example.org") == h


def test_user_del_keeps_mail_unless_purge(admin):
    admin.ok("domain", "add", "example.org")
    admin.add_user("alice@example.org")
    admin.add_user("bob@example.org")
    mail = admin.store / "example.org" / "alice" / "blobs"
    mail.mkdir(parents=True)
    (mail / "1").write_text("Subject: hi\n\nhello\n")
    r = admin.fail("user", "del", "alice@example.org")
    assert r.stderr == (
        "ternadmin: user del: user alice@example.org still has mail in "
        f"{admin.store}/example.org/alice: add --purge to delete it with the user\n"
    )
    assert [u["address"] for u in admin.users()] == ["alice@example.org", "bob@example.org"]
    r = admin.ok("user", "del", "alice@example.org", "--purge")
    assert "user removed: address=alice@example.org" in r.stdout
    assert "mail removed" in r.stdout
    assert not (admin.store / "example.org" / "alice").exists()
    # A mail directory without files is no reason to refuse.
    (admin.store / "example.org" / "bob" / "blobs").mkdir(parents=True)
    admin.ok("user", "del", "bob@example.org")
    assert admin.users() == []
    r = admin.fail("user", "del", "bob@example.org")
    assert "user bob@example.org does not exist" in r.stderr


def test_domain_del_needs_force_and_purge(admin):
    admin.ok("domain", "add", "example.org")
    admin.add_user("alice@example.org")
    admin.add_user("bob@example.org")
    admin.ok("alias", "add", "team@example.org", "alice@example.org", "bob@example.org")
    (admin.store / "example.org" / "alice").mkdir(parents=True)
    (admin.store / "example.org" / "alice" / "msg").write_text("mail")
    r = admin.fail("domain", "del", "example.org")
    assert "domain example.org still has 2 users: add --force" in r.stderr
    assert len(admin.users()) == 2
    r = admin.ok("--json", "domain", "del", "example.org", "--force")
    doc = json.loads(r.stdout)
    assert doc["ok"] is True
    assert doc["changes"][0] == {
        "event": "domain removed",
        "domain": "example.org",
        "users": "2",
        "aliases": "1",
    }
    assert admin.users() == []
    assert admin.json("alias", "list") == {"aliases": []}
    assert (admin.store / "example.org" / "alice" / "msg").exists()
    admin.ok("domain", "add", "example.org")
    admin.add_user("carol@example.org")
    admin.ok("domain", "del", "example.org", "--force", "--purge")
    assert not (admin.store / "example.org").exists()


def test_aliases(admin):
    admin.ok("domain", "add", "example.org")
    admin.add_user("alice@example.org")
    admin.add_user("bob@example.org")
    admin.ok("alias", "add", "Team@example.org", "alice@example.org", "BOB@example.org", "ext@other.net")
    admin.ok("alias", "add", "@example.org", "alice@example.org")
    admin.ok("alias", "add", "all@example.org", "team@example.org")
    assert admin.json("alias", "list", "example.org") == {
        "aliases": [
            {"alias": "@example.org", "catch_all": True, "targets": ["alice@example.org"]},
            {"alias": "all@example.org", "catch_all": False, "targets": ["team@example.org"]},
            {
                "alias": "Team@example.org",
                "catch_all": False,
                "targets": ["alice@example.org", "BOB@example.org", "ext@other.net"],
            },
        ]
    }
    rows = table(admin.ok("alias", "list").stdout)
    assert rows[3] == ["Team@example.org", "alice@example.org, BOB@example.org, ext@other.net"]
    r = admin.fail("alias", "add", "team@example.org", "all@example.org")
    assert "alias loop: Team@example.org -> all@example.org -> Team@example.org" in r.stderr
    r = admin.fail("alias", "add", "x@example.org", "nobody@example.org")
    assert "target nobody@example.org does not exist" in r.stderr
    r = admin.fail("alias", "add", "alice@example.org", "ext@other.net")
    assert "alice@example.org is an account" in r.stderr
    admin.ok("alias", "add", "alice@example.org", "alice@example.org", "ext@other.net")
    admin.ok("alias", "del", "team@example.org", "ext@other.net")
    assert admin.json("alias", "list")["aliases"][3]["targets"] == [
        "alice@example.org",
        "BOB@example.org",
    ]
    admin.ok("alias", "del", "team@example.org")
    r = admin.fail("alias", "del", "team@example.org")
    assert "alias team@example.org does not exist" in r.stderr
    r = admin.run("user", "del", "alice@example.org")
    assert r.returncode == 0
    assert "alias removed: alias=alice@example.org" in r.stdout
    assert "warning: alias @example.org still lists alice@example.org" in r.stderr
    r = admin.fail("alias", "add", "x@nowhere.example", "alice@other.net")
    assert "domain nowhere.example does not exist" in r.stderr


def test_quota_enable_disable_name(admin):
    admin.ok("domain", "add", "example.org")
    admin.add_user("alice@example.org", "--quota-messages", "9")
    r = admin.ok("user", "quota", "alice@example.org", "1536m")
    assert "quota changed: address=alice@example.org, quota=1536M, messages=9" in r.stdout
    admin.ok("user", "quota", "alice@example.org", "2G", "500")
    admin.ok("user", "disable", "alice@example.org")
    admin.ok("user", "name", "alice@example.org", "Alice Liddell")
    (u,) = admin.users()
    assert (u["quota_bytes"], u["quota_messages"], u["enabled"], u["name"]) == (
        2 << 30,
        500,
        False,
        "Alice Liddell",
    )
    admin.ok("user", "enable", "alice@example.org")
    admin.ok("user", "quota", "alice@example.org", "unlimited", "0")
    (u,) = admin.users()
    assert (u["quota_bytes"], u["quota_messages"], u["enabled"]) == (0, 0, True)
    r = admin.fail("user", "quota", "alice@example.org", "12q", status=2)
    assert 'bad size "12q"' in r.stderr
    r = admin.fail("user", "name", "alice@example.org", "bad\nname")
    assert "control character" in r.stderr


def test_usage_errors(admin):
    for args in [[], ["frobnicate"], ["user"], ["user", "frob"], ["domain", "add"],
                 ["domain", "add", "a.example", "b.example"], ["alias", "add", "a@b.example"],
                 ["--bogus", "domain", "list"], ["domain", "list", "--force"]]:
        r = admin.run(*args)
        assert r.returncode == 2, f"{args}: {r.returncode} {r.stderr}"
        assert r.stderr != ""
    r = admin.run("--help")
    assert r.returncode == 0 and "user add ADDRESS" in r.stdout


def test_missing_configuration(ternadmin_bin, tmp_path):
    r = subprocess.run(
        [ternadmin_bin, "-c", str(tmp_path / "none"), "domain", "list"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 1
    assert r.stderr.startswith("ternadmin: domain list: ") and "main.cf" in r.stderr


def test_changes_are_logged(admin):
    admin.ok("domain", "add", "example.org")
    admin.add_user("alice@example.org")
    admin.ok("user", "disable", "alice@example.org")
    admin.fail("user", "add", "alice@example.org", input=PASSWORD + "\n")
    log = admin.log.read_text()
    uid = os.getuid()
    assert re.search(
        rf"tern/ternadmin\[\d+\]: domain added: domain=example.org, local=yes, by=uid {uid}\n", log
    )
    assert re.search(
        rf"tern/ternadmin\[\d+\]: user added: address=alice@example.org, "
        rf"store={re.escape(str(admin.store))}/example.org/alice, by=uid {uid}\n",
        log,
    )
    assert re.search(rf"user disabled: address=alice@example.org, by=uid {uid}\n", log)
    assert PASSWORD not in log
    assert len(log.splitlines()) == 3


def test_json_change_output(admin):
    doc = admin.json("domain", "add", "example.org")
    assert doc == {
        "ok": True,
        "changes": [{"event": "domain added", "domain": "example.org", "local": "yes"}],
    }
    doc = admin.json("user", "add", "a@example.org", input="pw\n")
    assert doc["changes"][0]["event"] == "user added"
    assert doc["changes"][0]["address"] == "a@example.org"
    r = admin.run("--json", "user", "add", "a@example.org", input="pw\n")
    assert r.returncode == 1 and r.stdout == "" and "already exists" in r.stderr


def test_concurrent_writers_and_readers(admin):
    """Overlapping ternadmin runs take turns; listings made meanwhile are whole."""
    admin.ok("domain", "add", "example.org")
    writers = []
    for w in range(6):
        for i in range(6):
            # Two writers race for each name: exactly one may win.
            name = f"u{(w // 2) * 6 + i}@example.org"
            writers.append(
                (
                    name,
                    subprocess.Popen(
                        admin.command("user", "add", name, "--name", "N" * 100 + name,
                                      "--quota", f"{i + 1}m"),
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True,
                    ),
                )
            )
    for _, p in writers:
        p.stdin.write("pw\n")
        p.stdin.close()
    listings = 0
    while any(p.poll() is None for _, p in writers) or listings < 3:
        r = admin.run("--json", "user", "list")
        assert r.returncode == 0, r.stderr
        for u in json.loads(r.stdout)["users"]:
            assert u["name"] == "N" * 100 + u["address"]
            assert u["quota_bytes"] in [(i + 1) << 20 for i in range(6)]
            assert u["enabled"] is True
        listings += 1
    won = {}
    for name, p in writers:
        p.wait(timeout=120)
        err = p.stderr.read()
        if p.returncode == 0:
            won[name] = won.get(name, 0) + 1
        else:
            assert p.returncode == 1 and "already exists" in err, err
        p.stdout.close()
        p.stderr.close()
    assert sorted(won) == sorted({n for n, _ in writers})
    assert set(won.values()) == {1}
    users = admin.users()
    assert len(users) == 18
    for u in users:
        assert libcrypt("pw", admin.stored_hash(u["address"])).startswith("$y$")
