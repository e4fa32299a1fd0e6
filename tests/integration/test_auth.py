"""auth: the authentication and lookup service, driven through its socket.

A real master runs the auth service on $queue_directory/private/auth; the
directory is filled with the installed ternadmin. The tests speak the auth
protocol (mail/auth_client.h) with the attribute codec written out below:
PLAIN and LOGIN exchanges, failure delays growing per client IP and account
while successes answer at once, the fail2ban log shape of auth(8), malformed
and out-of-order requests, directory lookups, concurrent password changes,
many connections at once, and the process winding down (max_use, SIGTERM).
"""
import os
import re
import socket
import threading
import time

import pytest

from conftest import pid_alive, wait_for

AUTH_LINE = "auth unix - - n - 1 auth"

# The failregex documented in auth(8), with fail2ban's <HOST> as a named group.
FAILREGEX = (
    r"tern/auth\[\d+\]: authentication failed: method=\S+, user=\S*, "
    r"client=\[(?P<host>[^\]]+)\], service=\S+, reason="
)

USERS = {
    # address: (password, extra ternadmin arguments)
    "alice@example.org": ("alice-pw", []),
    "bob@example.org": ("bob-pw", []),
    "dave@example.org": ("dave-pw", []),
    "carol@example.org": ("carol-pw", ["--disabled"]),
    "frank@example.org": ("one", []),
}


# ---------------------------------------------------------------- the attr codec


def _netstring(data):
    return str(len(data)).encode() + b":" + data + b","


def encode(pairs):
    """One record from (name, value) pairs; values are bytes, str or int."""
    out = b""
    for name, value in pairs:
        if isinstance(value, int):
            value = str(value).encode()
        elif isinstance(value, str):
            value = value.encode()
        out += _netstring(name.encode()) + _netstring(value)
    return out + b"0:,"


class AuthConn:
    """One connection to the auth service."""

    def __init__(self, path, timeout=30.0, handshake=True):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""
        if handshake:
            assert self.read() == {"protocol": b"auth", "version": b"1"}

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("auth closed the connection")
        self.buf += data

    def _netstring(self):
        while b":" not in self.buf:
            self._fill()
        colon = self.buf.index(b":")
        length = int(self.buf[:colon])
        while len(self.buf) < colon + length + 2:
            self._fill()
        value = self.buf[colon + 1 : colon + 1 + length]
        assert self.buf[colon + 1 + length : colon + 2 + length] == b","
        self.buf = self.buf[colon + 2 + length :]
        return value

    def read(self):
        record = {}
        while True:
            name = self._netstring()
            if name == b"":
                return record
            assert name.decode() not in record
            record[name.decode()] = self._netstring()

    def send_raw(self, data):
        self.sock.sendall(data)

    def request(self, *pairs):
        self.sock.sendall(encode(pairs))
        return self.read()

    def closed(self, timeout=5.0):
        """Whether the server closes the connection (EOF) within timeout."""
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
            return True

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def plain(user, password, authzid=""):
    return f"{authzid}\0{user}\0{password}".encode()


def auth(conn, mech, response=None, client="192.0.2.10", service="imap", tls=1, port=143):
    pairs = [
        ("request", "auth"),
        ("mechanism", mech),
        ("service", service),
        ("client_addr", client),
        ("local_port", port),
        ("tls", tls),
    ]
    if response is not None:
        pairs.append(("response", response))
    return conn.request(*pairs)


def timed(fn, *args, **kw):
    start = time.monotonic()
    result = fn(*args, **kw)
    return result, time.monotonic() - start


# ---------------------------------------------------------------- the instance


def socket_path(tern):
    return tern.queue_dir / "private" / "auth"


def auth_pids(tern):
    """Pids of master's children running the auth program."""
    pids = []
    for pid in tern.children():
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if exe == str(tern.daemon_dir / "auth"):
            pids.append(pid)
    return pids


def admin(tern, *args, password=None):
    r = tern.run("ternadmin", *args, input=None if password is None else password + "\n")
    assert r.returncode == 0, f"ternadmin {' '.join(args)}: {r.stderr}"
    return r


def populate(tern):
    admin(tern, "domain", "add", "example.org")
    admin(tern, "domain", "add", "example.net")
    admin(tern, "domain", "add", "elsewhere.example", "--not-local")
    for address, (password, extra) in USERS.items():
        admin(tern, "user", "add", address, *extra, password=password)
    admin(tern, "alias", "add", "info@example.org", "alice@example.org", "bob@example.org")
    admin(tern, "alias", "add", "ext@example.org", "someone@remote.example")
    admin(tern, "alias", "add", "@example.net", "alice@example.org")


def start_auth(tern, params=None, line=AUTH_LINE, users=True):
    """Configure, populate and start; returns once the socket answers."""
    settings = {"recipient_delimiter": "+", "auth_failure_delay_ms": "200"}
    settings.update(params or {})
    tern.write_main_cf(settings)
    tern.write_master_cf([line])
    if users:
        populate(tern)
    tern.start()
    wait_for(lambda: _answers(socket_path(tern)), what="the auth socket")
    return socket_path(tern)


def _answers(path):
    try:
        with AuthConn(path, timeout=5):
            return True
    except (OSError, EOFError, AssertionError):
        return False


@pytest.fixture
def auth_sock(tern):
    return start_auth(tern)


# ---------------------------------------------------------------- authentication


def test_plain_success_is_prompt(tern, auth_sock):
    with AuthConn(auth_sock) as c:
        r, t = timed(auth, c, "PLAIN", plain("alice@example.org", "alice-pw"))
        assert r == {
            "status": b"ok",
            "authcid": b"alice@example.org",
            "authzid": b"alice@example.org",
        }
        assert t < 0.5, f"a success took {t:.3f}s"
        # the same connection goes on; names are matched without regard to case
        r = auth(c, "plain", plain("ALICE@Example.ORG", "alice-pw", authzid="alice@EXAMPLE.org"))
        assert r["status"] == b"ok" and r["authcid"] == b"alice@example.org"
    tern.wait_log(
        r"tern/auth\[\d+\]: authenticated: method=PLAIN, user=alice@example.org, "
        r"client=\[192\.0\.2\.10\], service=imap\n"
    )


def test_plain_without_initial_response(auth_sock):
    with AuthConn(auth_sock) as c:
        assert auth(c, "PLAIN") == {"status": b"continue", "challenge": b""}
        r = c.request(("request", "continue"), ("response", plain("bob@example.org", "bob-pw")))
        assert r["status"] == b"ok" and r["authzid"] == b"bob@example.org"


def test_login_exchange(auth_sock):
    with AuthConn(auth_sock) as c:
        assert auth(c, "LOGIN", service="smtp", port=587) == {
            "status": b"continue",
            "challenge": b"Username:",
        }
        r = c.request(("request", "continue"), ("response", "dave@example.org"))
        assert r == {"status": b"continue", "challenge": b"Password:"}
        r = c.request(("request", "continue"), ("response", "dave-pw"))
        assert r["status"] == b"ok" and r["authcid"] == b"dave@example.org"
        # the user name as initial response, as many SMTP clients send it
        r = auth(c, "LOGIN", b"dave@example.org", service="smtp", port=587)
        assert r == {"status": b"continue", "challenge": b"Password:"}
        r = c.request(("request", "continue"), ("response", "dave-pw"))
        assert r["status"] == b"ok"


def test_authzid_of_another_user_is_refused(tern, auth_sock):
    with AuthConn(auth_sock) as c:
        r = auth(c, "PLAIN", plain("alice@example.org", "alice-pw", authzid="bob@example.org"))
        assert r == {"status": b"fail", "reason": b"authorization identity refused"}


def test_failures_and_reasons(tern, auth_sock):
    cases = [
        (plain("alice@example.org", "wrong"), b"password mismatch"),
        (plain("nobody@example.org", "x"), b"unknown user"),
        (plain("carol@example.org", "carol-pw"), b"account disabled"),
        (plain("not an address", "x"), b"unknown user"),
        (b"alice@example.org", b"malformed response"),
        (b"\0alice@example.org\0", b"empty password"),
    ]
    for i, (response, reason) in enumerate(cases):
        with AuthConn(auth_sock) as c:
            # a different client each time keeps the delays short
            r = auth(c, "PLAIN", response, client=f"203.0.113.{i + 1}")
            assert r == {"status": b"fail", "reason": reason}, response


def test_plaintext_needs_tls(tern):
    sock = start_auth(tern, users=False)
    with AuthConn(sock) as c:
        assert c.request(("request", "mechanisms"), ("tls", 1)) == {
            "status": b"ok",
            "mechanisms": b"PLAIN LOGIN",
        }
        assert c.request(("request", "mechanisms"), ("tls", 0)) == {
            "status": b"ok",
            "mechanisms": b"",
        }
        r = auth(c, "PLAIN", plain("alice@example.org", "alice-pw"), tls=0)
        assert r == {"status": b"fail", "reason": b"mechanism requires TLS"}
        r = auth(c, "CRAM-MD5", tls=1)
        assert r == {"status": b"fail", "reason": b"unknown mechanism"}


def test_plaintext_allowed_by_configuration(tern):
    sock = start_auth(tern, {"sasl_plaintext_without_tls": "yes", "sasl_mechanisms": "LOGIN"})
    with AuthConn(sock) as c:
        assert c.request(("request", "mechanisms"), ("tls", 0))["mechanisms"] == b"LOGIN"
        r = auth(c, "PLAIN", plain("alice@example.org", "alice-pw"), tls=0)
        assert r == {"status": b"fail", "reason": b"mechanism not enabled"}
        assert auth(c, "LOGIN", tls=0)["status"] == b"continue"


# ---------------------------------------------------------------- delays


def test_wrong_passwords_get_a_growing_delay(tern):
    sock = start_auth(tern, {"auth_failure_delay_ms": "200", "auth_failure_delay_max": "2s"})
    durations = []
    with AuthConn(sock) as c:
        for _ in range(5):
            r, t = timed(auth, c, "PLAIN", plain("alice@example.org", "bad"), client="198.51.100.1")
            assert r["status"] == b"fail"
            durations.append(t)
    # 0.2, 0.4, 0.8, 1.6, then the 2 s cap
    for t, least in zip(durations, [0.2, 0.4, 0.8, 1.6, 2.0]):
        assert t >= least, durations
    assert durations[0] < 1.0, durations
    assert durations[3] > durations[0] + 1.0, durations
    assert durations[4] < 3.5, durations

    with AuthConn(sock) as c:
        # another account from another address: its own first failure
        r, t = timed(auth, c, "PLAIN", plain("bob@example.org", "bad"), client="198.51.100.2")
        assert r["status"] == b"fail" and 0.2 <= t < 1.0, t
        # the right password answers at once, even for the hammered account and address
        good = plain("alice@example.org", "alice-pw")
        r, t = timed(auth, c, "PLAIN", good, client="198.51.100.1")
        assert r["status"] == b"ok" and t < 0.5, t
        # the address still counts its failures
        r, t = timed(auth, c, "PLAIN", plain("dave@example.org", "bad"), client="198.51.100.1")
        assert r["status"] == b"fail" and t >= 2.0, t


def test_a_delayed_failure_does_not_hold_up_others(tern):
    sock = start_auth(tern, {"auth_failure_delay_ms": "3000", "auth_failure_delay_max": "10s"})
    result = {}

    def failing():
        with AuthConn(sock) as c:
            result["fail"] = timed(auth, c, "PLAIN", plain("alice@example.org", "bad"),
                                   client="198.51.100.9")

    thread = threading.Thread(target=failing)
    thread.start()
    try:
        time.sleep(0.3)  # the failure is now waiting out its delay
        with AuthConn(sock) as c:
            for _ in range(3):
                r, t = timed(auth, c, "PLAIN", plain("bob@example.org", "bob-pw"),
                             client="192.0.2.77")
                assert r["status"] == b"ok" and t < 0.5, t
            assert c.request(("request", "domain"), ("domain", "example.org"))["status"] == b"ok"
    finally:
        thread.join(30)
    r, t = result["fail"]
    assert r["status"] == b"fail" and t >= 3.0, t


# ---------------------------------------------------------------- logging


def test_failure_log_lines_have_the_fail2ban_shape(tern, auth_sock):
    offset = tern.log_size()
    attempts = [
        ("198.51.100.20", plain("alice@example.org", "bad")),
        ("2001:db8::20", plain("nobody@example.org", "bad")),
        # a user name that tries to forge the client field
        ("198.51.100.21", plain("x, client=[203.0.113.66], service=imap", "bad")),
        ("198.51.100.22", plain("evil]\n[203.0.113.67] authentication failed", "bad")),
    ]
    with AuthConn(auth_sock) as c:
        for client, response in attempts:
            assert auth(c, "PLAIN", response, client=client)["status"] == b"fail"
    tern.wait_log(r"client=\[198\.51\.100\.22\]", offset)
    log = tern.log(offset)
    hosts = [m.group("host") for m in re.finditer(FAILREGEX, log)]
    assert hosts == [client for client, _ in attempts], log
    lines = [line for line in log.splitlines() if "authentication failed" in line]
    assert len(lines) == 4, log
    assert lines[0].endswith(
        "authentication failed: method=PLAIN, user=alice@example.org, "
        "client=[198.51.100.20], service=imap, reason=password mismatch"
    )
    assert "user=x\\x2c\\x20client\\x3d\\x5b203.0.113.66\\x5d" in lines[2]
    assert "203.0.113.67" not in "".join(m.group("host") for m in re.finditer(FAILREGEX, log))


# ---------------------------------------------------------------- malformed requests


def test_malformed_requests_get_an_error(tern):
    sock = start_auth(tern, {"auth_request_limit": "4k"})
    pids = auth_pids(tern)
    assert len(pids) == 1
    well_formed_but_wrong = [
        ([("request", "bogus")], b'unknown request "bogus"'),
        ([("request", "auth")], b"request auth: required attribute mechanism missing"),
        ([("request", "domain"), ("domain", "example.org"), ("tls", 1)],
         b"request domain: unexpected attribute tls"),
        ([("request", "mechanisms"), ("tls", 7)], b"tls must be 0 or 1"),
        ([("request", "continue"), ("response", b"x")],
         b"continue without an exchange in progress"),
        ([("request", "auth"), ("mechanism", "PLAIN"), ("service", "imap"),
          ("client_addr", "example.org"), ("local_port", 143), ("tls", 1)],
         b"client_addr is not an IP address"),
        ([("request", "auth"), ("mechanism", "PLAIN"), ("service", "im ap"),
          ("client_addr", "192.0.2.1"), ("local_port", 143), ("tls", 1)],
         b'service must be letters, digits and "._:-"'),
        ([("request", "auth"), ("mechanism", "PLAIN"), ("service", "imap"),
          ("client_addr", "192.0.2.1"), ("local_port", 70000), ("tls", 1)],
         b"local_port must be from 0 to 65535"),
        ([("request", "account"), ("address", "")], b"address is empty"),
    ]
    with AuthConn(sock) as c:
        for pairs, reason in well_formed_but_wrong:
            assert c.request(*pairs) == {"status": b"error", "reason": reason}, pairs
        # the connection still works
        assert c.request(("request", "domain"), ("domain", "example.org")) == {"status": b"ok"}

    undecodable = [
        b"garbage, not a netstring",
        b"3:abcX",  # no comma after the bytes
        b"7:request,4:auth,3:xyz,1:1,0:,",  # an attribute no request has
        b"7:request,5:do\0in,0:,",  # NUL in a string
        b"7:request,6:domain,6:domain,3:a.b,6:domain,3:c.d,0:,",  # twice
        b"7:request,6:domain,6:domain,999999999:",  # longer than the limit
        encode([("request", "continue"), ("response", b"x" * 5000)]),  # over 4k
        b"99999999999:",  # too many digits
    ]
    for raw in undecodable:
        with AuthConn(sock) as c:
            c.send_raw(raw)
            r = c.read()
            assert r["status"] == b"error" and r["reason"], raw
            assert c.closed(), raw
    # half a record, then the client goes away
    with AuthConn(sock) as c:
        c.send_raw(b"7:request,6:doma")
    # the same process still serves
    with AuthConn(sock) as c:
        assert auth(c, "PLAIN", plain("alice@example.org", "alice-pw"))["status"] == b"ok"
    assert auth_pids(tern) == pids
    log = tern.log()
    assert "panic" not in log and "fatal" not in log


def test_exchange_order(auth_sock):
    with AuthConn(auth_sock) as c:
        assert auth(c, "LOGIN")["challenge"] == b"Username:"
        assert c.request(("request", "abort")) == {"status": b"ok"}
        r = c.request(("request", "continue"), ("response", "x"))
        assert r["status"] == b"error"
        # a new auth abandons an exchange in progress
        assert auth(c, "LOGIN")["challenge"] == b"Username:"
        r = auth(c, "PLAIN", plain("alice@example.org", "alice-pw"))
        assert r["status"] == b"ok"
        # after the outcome, continue is out of order
        r = c.request(("request", "continue"), ("response", "x"))
        assert r == {"status": b"error", "reason": b"continue without an exchange in progress"}
        assert c.request(("request", "abort")) == {"status": b"ok"}


# ---------------------------------------------------------------- lookups


def test_lookups(auth_sock):
    with AuthConn(auth_sock) as c:

        def domain(name):
            return c.request(("request", "domain"), ("domain", name))["status"]

        def resolve(address):
            head = c.request(("request", "resolve"), ("address", address))
            if head["status"] != b"ok":
                return head["status"]
            return sorted(tuple(sorted(c.read().items())) for _ in range(int(head["count"])))

        assert domain("example.org") == b"ok"
        assert domain("EXAMPLE.NET") == b"ok"
        assert domain("elsewhere.example") == b"notfound"
        assert domain("nowhere.example") == b"notfound"

        def target(address, local=1, detail=None, enabled=1):
            t = [("address", address.encode()), ("enabled", str(enabled).encode()),
                 ("local", str(local).encode())]
            if detail is not None:
                t.append(("detail", detail.encode()))
            return tuple(sorted(t))

        assert resolve("alice@example.org") == [target("alice@example.org")]
        assert resolve("alice+news@example.org") == [target("alice@example.org", detail="news")]
        assert resolve("info@example.org") == sorted(
            [target("alice@example.org"), target("bob@example.org")]
        )
        assert resolve("anything@example.net") == [target("alice@example.org")]
        assert resolve("ext@example.org") == [target("someone@remote.example", local=0)]
        assert resolve("carol@example.org") == [target("carol@example.org", enabled=0)]
        assert resolve("nobody@example.org") == b"notfound"

        r = c.request(("request", "account"), ("address", "Alice@Example.org"))
        assert r["status"] == b"ok"
        assert set(r) == {"status", "address", "quota_bytes", "quota_messages", "store_path",
                          "enabled", "display_name"}
        assert r["address"] == b"alice@example.org"
        assert r["store_path"].endswith(b"/example.org/alice")
        assert r["enabled"] == b"1"
        r = c.request(("request", "account"), ("address", "carol@example.org"))
        assert r["enabled"] == b"0"
        r = c.request(("request", "account"), ("address", "info@example.org"))
        assert r == {"status": b"notfound"}


# ---------------------------------------------------------------- concurrency


def test_concurrent_password_changes_never_tear(tern):
    sock = start_auth(tern, {"auth_failure_delay_ms": "0"})
    stop = threading.Event()
    problems = []
    counts = {"frank_ok": 0, "frank_fail": 0, "dave_ok": 0}

    def reader(n):
        try:
            with AuthConn(sock) as c:
                while not stop.is_set():
                    r = auth(c, "PLAIN", plain("dave@example.org", "dave-pw"),
                             client=f"192.0.2.{100 + n}")
                    if r.get("status") != b"ok":
                        problems.append(("dave", r))
                    counts["dave_ok"] += 1
                    r = auth(c, "PLAIN", plain("frank@example.org", "one"),
                             client=f"192.0.2.{100 + n}")
                    if r.get("status") == b"ok":
                        counts["frank_ok"] += 1
                    elif r == {"status": b"fail", "reason": b"password mismatch"}:
                        counts["frank_fail"] += 1
                    else:
                        problems.append(("frank", r))
                    r = c.request(("request", "account"), ("address", "frank@example.org"))
                    if r.get("status") != b"ok" or r.get("address") != b"frank@example.org":
                        problems.append(("account", r))
        except Exception as e:  # noqa: BLE001 - any failure is a finding
            problems.append(("exception", repr(e)))

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        for i in range(16):
            assert time.monotonic() < deadline
            password = "two" if i % 2 == 0 else "one"
            admin(tern, "user", "passwd", "frank@example.org", password=password)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not problems, problems[:5]
    assert counts["dave_ok"] > 10 and counts["frank_ok"] > 0 and counts["frank_fail"] > 0, counts
    log = tern.log().splitlines()
    warnings = [line for line in log if "tern/auth" in line and "warning" in line]
    assert not warnings, warnings


def test_many_connections_one_process(tern, auth_sock):
    conns = [AuthConn(auth_sock) for _ in range(60)]
    try:
        for c in conns:
            c.send_raw(encode([("request", "mechanisms"), ("tls", 1)]))
        for c in conns:
            assert c.read() == {"status": b"ok", "mechanisms": b"PLAIN LOGIN"}
        assert len(auth_pids(tern)) == 1
    finally:
        for c in conns:
            c.close()


def test_connection_limit(tern):
    sock = start_auth(tern, {"auth_connection_limit": "2"})
    a, b = AuthConn(sock), AuthConn(sock)
    try:
        third = AuthConn(sock, handshake=False)
        third.sock.settimeout(0.7)
        with pytest.raises((socket.timeout, TimeoutError)):
            third.read()  # not accepted while two are served
        a.close()
        third.sock.settimeout(10)
        assert third.read() == {"protocol": b"auth", "version": b"1"}
        assert third.request(("request", "domain"), ("domain", "example.org"))["status"] == b"ok"
        third.close()
    finally:
        a.close()
        b.close()


def test_clients_that_vanish_mid_request(tern):
    """Clients gone while their password is hashed or their failure waits: no harm done."""
    sock = start_auth(tern, {"auth_failure_delay_ms": "300"})
    pid = auth_pids(tern)
    for i in range(20):
        c = AuthConn(sock)
        password = "alice-pw" if i % 3 == 0 else "bad"
        c.send_raw(encode([
            ("request", "auth"), ("mechanism", "PLAIN"), ("service", "imap"),
            ("client_addr", f"203.0.113.{i}"), ("local_port", 143), ("tls", 1),
            ("response", plain("alice@example.org", password)),
        ]))
        if i % 2:
            time.sleep(0.05)  # the hash is done: the failure is waiting out its delay
        c.close()
    with AuthConn(sock) as c:
        r, t = timed(auth, c, "PLAIN", plain("bob@example.org", "bob-pw"), client="192.0.2.99")
        assert r["status"] == b"ok" and t < 0.5, t
    assert auth_pids(tern) == pid


# ---------------------------------------------------------------- winding down


def test_max_use_winds_down_and_a_new_process_takes_over(tern):
    sock = start_auth(tern, line=AUTH_LINE + " -o max_use=3")
    first = AuthConn(sock)  # session 2 of 3: the readiness probe was the first
    pid = auth_pids(tern)
    assert len(pid) == 1
    assert auth(first, "LOGIN")["challenge"] == b"Username:"
    last = AuthConn(sock)  # the last session max_use allows
    # the idle connection is closed; the one in an exchange finishes it first
    assert last.closed()
    r = first.request(("request", "continue"), ("response", "alice@example.org"))
    assert r["challenge"] == b"Password:"
    assert first.request(("request", "continue"), ("response", "alice-pw"))["status"] == b"ok"
    assert first.closed()
    wait_for(lambda: not pid_alive(pid[0]), what="the old auth process to exit")
    with AuthConn(sock) as c:
        assert auth(c, "PLAIN", plain("alice@example.org", "alice-pw"))["status"] == b"ok"
    assert auth_pids(tern) != pid
    first.close()
    last.close()


def test_sigterm_answers_what_is_pending_then_exits(tern):
    sock = start_auth(tern, {"auth_failure_delay_ms": "1500"})
    idle = AuthConn(sock)
    waiting = AuthConn(sock)
    pid = auth_pids(tern)[0]
    waiting.send_raw(encode([
        ("request", "auth"), ("mechanism", "PLAIN"), ("service", "imap"),
        ("client_addr", "192.0.2.200"), ("local_port", 143), ("tls", 1),
        ("response", plain("alice@example.org", "bad")),
    ]))
    time.sleep(0.3)
    tern.proc.send_signal(15)
    assert idle.closed()
    assert waiting.read() == {"status": b"fail", "reason": b"password mismatch"}
    assert waiting.closed()
    wait_for(lambda: not pid_alive(pid), what="auth to exit")
    assert tern.stop() == 0
    idle.close()
    waiting.close()
