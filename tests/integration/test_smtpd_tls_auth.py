"""smtpd: STARTTLS, implicit TLS and AUTH, the three services, and sender ownership.

The smtp service (port 25 style) offers STARTTLS and AUTH only after it;
submission requires STARTTLS, then AUTH before MAIL; submissions speaks TLS
from the start. Pipelined plaintext after STARTTLS is thrown away (the
command injection of CVE-2011-0411). AUTH PLAIN and LOGIN follow RFC 4954
(initial responses, "=", "*", base64 errors, the line limit) and failures
are delayed by the auth service. An authenticated client may send only as
itself, its aliases and sub-addresses, or what smtpd_sender_login_maps
lets it.
"""
import base64
import smtplib
import socket
import ssl
import subprocess

import pytest

from smtp_helpers import (
    HOSTNAME,
    MailServer,
    RawSmtp,
    client_tls_context,
    elapsed,
    module_server,
    no_crashes,  # noqa: F401 (autouse fixture)
    queue_id_of,
    stop_server,
    tool,
)


def b64(data):
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def plain(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = module_server(tmp_path_factory, "tlsauth", main={
        "smtpd_sasl_auth_enable": "yes",
        "mynetworks": "192.0.2.0/24",
        "smtpd_soft_error_limit": "100",
        "smtpd_hard_error_limit": "100",
    }, submission=True, submissions=True)
    yield s
    stop_server(s)


def tls_session(port):
    c = RawSmtp(port)
    c.ehlo()
    c.starttls()
    return c


# ---------------------------------------------------------------- STARTTLS


def test_starttls_then_auth_is_offered(server):
    with RawSmtp(server.port) as c:
        ext = c.ehlo()
        assert "STARTTLS" in ext
        assert not any(e.startswith("AUTH") for e in ext)
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}")[:1] == (538,)
        c.starttls()
        ext = c.ehlo()
        assert "STARTTLS" not in ext
        assert "AUTH PLAIN LOGIN" in ext
        assert c.cmd("STARTTLS") == (554, "5.5.1 Error: TLS already active")


def test_starttls_with_smtplib(server):
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as s:
        s.starttls(context=client_tls_context())
        s.login("alice@example.org", "alice-pw")
        refused = s.sendmail("alice@example.org", ["victim@remote.example"],
                             b"Subject: tls\r\n\r\nsecret\r\n")
        assert refused == {}


def test_received_and_queue_say_tls_and_auth(server):
    with tls_session(server.port) as c:
        c.ehlo()
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}")[0] == 235
        c.cmd("MAIL FROM:<alice@example.org>")
        c.cmd("RCPT TO:<bob@example.org>")
        c.cmd("DATA")
        code, text = c.cmd("Subject: proto\r\n\r\nx\r\n.")
        assert code == 250
    q = server.queued(queue_id_of(text))
    assert q.attrs["protocol"] == "ESMTPSA"
    assert q.attrs["sasl_method"] == "PLAIN"
    assert q.attrs["sasl_username"] == "alice@example.org"
    assert q.attrs["tls_info"].startswith("TLSv1.")


def test_plaintext_pipelined_after_starttls_is_discarded(server):
    offset = server.tern.log_size()
    with RawSmtp(server.port) as c:
        c.ehlo()
        c.send("STARTTLS\r\nMAIL FROM:<injected@remote.example>\r\nRSET\r\n")
        assert c.reply() == (220, "2.0.0 Ready to start TLS")
        c.sock = client_tls_context().wrap_socket(c.sock)
        # the first reply over TLS answers our first command over TLS
        assert c.cmd("NOOP") == (250, "2.0.0 Ok")
        assert c.cmd("RCPT TO:<alice@example.org>") == (503, "5.5.1 Error: need MAIL command")
    server.tern.wait_log(r"plaintext input after STARTTLS discarded", offset)


def test_starttls_forgets_helo(server):
    with tls_session(server.port) as c:
        assert c.cmd("MAIL FROM:<a@remote.example>") == \
            (503, "5.5.1 Error: send HELO/EHLO first")


def test_starttls_refused_in_transaction_and_with_arguments(server):
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("STARTTLS now")[0] == 501
        c.cmd("MAIL FROM:<a@remote.example>")
        assert c.cmd("STARTTLS") == (503, "5.5.1 Error: MAIL transaction in progress")


def test_failed_handshake_ends_the_session(server):
    offset = server.tern.log_size()
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("STARTTLS")[0] == 220
        c.send(b"this is not a TLS client hello\r\n" * 4)
        assert c.closed()
    server.tern.wait_log(r"TLS handshake failed with localhost\[127\.0\.0\.1\]", offset)


def test_openssl_s_client_starttls(server):
    r = subprocess.run(
        [tool("openssl"), "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{server.port}",
         "-servername", HOSTNAME, "-quiet", "-verify_quiet", "-ign_eof"],
        input="EHLO s-client.example\r\nNOOP\r\nQUIT\r\n", capture_output=True, text=True,
        timeout=60)
    out = r.stdout
    assert "250-AUTH PLAIN LOGIN" in out, r.stdout + r.stderr
    assert "250 2.0.0 Ok" in out and "221 2.0.0 Bye" in out


def test_tls_level_none(tern):
    server = MailServer(tern, main={"smtpd_tls_security_level": "none"})
    with RawSmtp(server.port) as c:
        assert "STARTTLS" not in c.ehlo()
        assert c.cmd("STARTTLS") == (502, "5.5.1 Error: command not implemented")


def test_missing_certificate_disables_starttls(tern):
    server = MailServer(tern, tls=False)
    with RawSmtp(server.port) as c:
        assert "STARTTLS" not in c.ehlo()
    tern.wait_log(r"smtpd\[\d+\]: warning: TLS disabled: ")


# ---------------------------------------------------------------- submission, submissions


def test_submission_requires_tls_then_auth(server):
    port = server.submission_port
    with RawSmtp(port) as c:
        ext = c.ehlo()
        assert "STARTTLS" in ext and not any(e.startswith("AUTH") for e in ext)
        for line in ("MAIL FROM:<alice@example.org>", "RCPT TO:<bob@example.org>", "DATA",
                     "AUTH PLAIN", "VRFY alice", "BDAT 0 LAST"):
            assert c.cmd(line) == (530, "5.7.0 Must issue a STARTTLS command first"), line
        assert c.cmd("NOOP")[0] == 250
        c.starttls()
        c.ehlo()
        assert c.cmd("MAIL FROM:<alice@example.org>") == (530, "5.7.0 Authentication required")
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}")[0] == 235
        assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<victim@remote.example>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        assert c.cmd("Subject: submitted\r\n\r\nx\r\n.")[0] == 250


def test_submission_with_smtplib(server):
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=20) as s:
        with pytest.raises(smtplib.SMTPSenderRefused):
            s.sendmail("bob@example.org", ["alice@example.org"], b"Subject: x\r\n\r\n")
        s.starttls(context=client_tls_context())
        s.login("bob@example.org", "bob-pw")
        assert s.sendmail("bob@example.org", ["victim@remote.example"],
                          b"Subject: sub\r\n\r\nx\r\n") == {}


def test_submissions_implicit_tls(server):
    with smtplib.SMTP_SSL("127.0.0.1", server.submissions_port, timeout=20,
                          context=client_tls_context()) as s:
        code, text = s.ehlo()
        assert code == 250
        assert s.has_extn("auth") and not s.has_extn("starttls")
        with pytest.raises(smtplib.SMTPSenderRefused):
            s.sendmail("alice@example.org", ["bob@example.org"], b"Subject: x\r\n\r\n")
        s.login("alice@example.org", "alice-pw")
        assert s.sendmail("alice@example.org", ["victim@remote.example"],
                          b"Subject: ssl\r\n\r\nx\r\n") == {}


def test_submissions_plaintext_client_is_dropped(server):
    with socket.create_connection(("127.0.0.1", server.submissions_port), timeout=10) as s:
        s.sendall(b"EHLO plain.example\r\n")
        s.settimeout(10)
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        assert not data.startswith(b"220") and not data.startswith(b"250")


# ---------------------------------------------------------------- AUTH


def test_auth_plain_initial_response(server):
    with tls_session(server.port) as c:
        c.ehlo()
        r, t = elapsed(c.cmd, f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}")
        assert r == (235, "2.7.0 Authentication successful")
        assert t < 1.0
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}") == \
            (503, "5.5.1 Error: already authenticated")


def test_auth_plain_without_initial_response(server):
    with tls_session(server.port) as c:
        c.ehlo()
        assert c.cmd("AUTH PLAIN") == (334, "")
        assert c.cmd(plain("bob@example.org", "bob-pw"))[0] == 235


def test_auth_login(server):
    with tls_session(server.port) as c:
        c.ehlo()
        assert c.cmd("AUTH LOGIN") == (334, b64("Username:"))
        assert c.cmd(b64("alice@example.org")) == (334, b64("Password:"))
        assert c.cmd(b64("alice-pw"))[0] == 235
    with tls_session(server.port) as c:
        c.ehlo()
        assert c.cmd(f"AUTH login {b64('alice@example.org')}") == (334, b64("Password:"))
        assert c.cmd(b64("alice-pw"))[0] == 235


def test_auth_smtplib_login_mechanism(server):
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as s:
        s.starttls(context=client_tls_context())
        s.ehlo()
        s.user, s.password = "bob@example.org", "bob-pw"
        code, _ = s.auth("LOGIN", s.auth_login)
        assert code == 235


@pytest.mark.parametrize("exchange,final", [
    (["AUTH PLAIN *"], "501 5.5.2"),  # '*' is no base64 initial response
    (["AUTH PLAIN", "*"], "501 5.7.0 Authentication aborted"),
    (["AUTH LOGIN", "*"], "501 5.7.0 Authentication aborted"),
    (["AUTH PLAIN ab$c"], "501 5.5.2 Error: cannot decode response"),
    (["AUTH PLAIN", "not base64!"], "501 5.5.2 Error: cannot decode response"),
    (["AUTH PLAIN ="], "535 5.7.8"),  # an empty PLAIN response is no credential
    (["AUTH PLAIN", ""], "535 5.7.8"),  # nor is an empty line
    (["AUTH LOGIN", "", ""], "535 5.7.8"),
    (["AUTH CRAM-MD5"], "504 5.5.4 Unrecognized authentication type"),
    (["AUTH PLAIN " + plain("alice@example.org", "wrong")], "535 5.7.8 Error: authentication "
                                                            "failed"),
    (["AUTH PLAIN " + plain("nobody@example.org", "x")], "535 5.7.8"),
    (["AUTH PLAIN " + plain("carol@example.org", "carol-pw")], "535 5.7.8"),
    (["AUTH PLAIN " + plain("alice@example.org", "alice-pw", "bob@example.org")], "535 5.7.8"),
])
def test_auth_errors(server, exchange, final):
    with tls_session(server.port) as c:
        c.ehlo()
        for line in exchange[:-1]:
            assert c.cmd(line)[0] == 334
        code, text = c.cmd(exchange[-1])
        assert f"{code} {text}".startswith(final), (exchange, code, text)
        # not authenticated: a second attempt may follow
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}")[0] == 235


def test_auth_line_limit(server):
    with tls_session(server.port) as c:
        c.ehlo()
        assert c.cmd("AUTH PLAIN")[0] == 334
        assert c.cmd("A" * 13000) == (500, "5.5.6 Authentication Exchange line is too long")
        # AUTH lines may be longer than other commands (12288 bytes)
        code, text = c.cmd("AUTH PLAIN " + b64("\0" + "u" * 4000 + "@example.org\0pw"))
        assert code == 535, text


def test_auth_refused_in_transaction_and_after_helo(server):
    with tls_session(server.port) as c:
        c.ehlo()
        c.cmd("MAIL FROM:<a@remote.example>")
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}") == \
            (503, "5.5.1 Error: MAIL transaction in progress")
    with tls_session(server.port) as c:
        c.cmd("HELO c")
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}")[0] == 503


def test_auth_failure_delay_grows(tern):
    """The auth service delays each failure (100ms, doubling per failure), not successes."""
    server = MailServer(tern, main={"smtpd_sasl_auth_enable": "yes",
                                    "auth_failure_delay_max": "10s"})
    offset = server.tern.log_size()
    times = []
    with tls_session(server.port) as c:
        c.ehlo()
        for _ in range(3):
            r, t = elapsed(c.cmd, f"AUTH PLAIN {plain('dave@example.net', 'wrong')}")
            assert r[0] == 535
            times.append(t)
        r, t = elapsed(c.cmd, f"AUTH PLAIN {plain('bob@example.org', 'bob-pw')}")
        assert r[0] == 235
    assert 0.09 <= times[0] < 1.0, times
    assert times[1] >= 0.19 and times[2] >= 0.39 and times[2] > times[0] + 0.2, times
    server.tern.wait_log(r"smtpd\[\d+\]: warning: localhost\[127\.0\.0\.1\]: SASL PLAIN "
                         r"authentication failed: ", offset)


def test_auth_not_enabled(tern):
    server = MailServer(tern)
    with tls_session(server.port) as c:
        assert not any(e.startswith("AUTH") for e in c.ehlo())
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}") == \
            (503, "5.5.1 Error: authentication not enabled")


def test_auth_without_tls_when_allowed(tern):
    server = MailServer(tern, main={"smtpd_sasl_auth_enable": "yes",
                                    "smtpd_tls_auth_only": "no",
                                    "sasl_plaintext_without_tls": "yes"})
    with RawSmtp(server.port) as c:
        assert "AUTH PLAIN LOGIN" in c.ehlo()
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}")[0] == 235


# ---------------------------------------------------------------- sender ownership


@pytest.mark.parametrize("sender,code", [
    ("<alice@example.org>", 250),
    ("<ALICE@Example.ORG>", 250),
    ("<alice+lists@example.org>", 250),
    ("<info@example.org>", 250),
    ("<sales@example.org>", 250),
    ("<>", 250),
    ("<bob@example.org>", 553),
    ("<someone@remote.example>", 553),
    ("<nobody@example.org>", 553),
    ("<ext@example.org>", 553),
    ("<dave@example.net>", 553),
])
def test_sender_must_be_owned(server, sender, code):
    with tls_session(server.port) as c:
        c.ehlo()
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}")[0] == 235
        r = c.cmd(f"MAIL FROM:{sender}")
        assert r[0] == code, r
        if code == 553:
            assert r[1] == (f"5.7.1 {sender}: Sender address rejected: not owned by user "
                            "alice@example.org")


def test_unauthenticated_sender_is_not_checked(server):
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<bob@example.org>")[0] == 250


def test_sender_login_maps(tern):
    maps = tern.config_dir / "sender_logins"
    maps.write_text("bob@example.org alice@example.org, bob@example.org\n"
                    "info@example.org bob@example.org\n"
                    "@shared.example alice@example.org\n")
    server = MailServer(tern, main={"smtpd_sasl_auth_enable": "yes",
                                    "smtpd_sender_login_maps": f"texthash:{maps}"})
    with tls_session(server.port) as c:
        c.ehlo()
        assert c.cmd(f"AUTH PLAIN {plain('alice@example.org', 'alice-pw')}")[0] == 235
        expected = {"<bob@example.org>": 250, "<anyone@shared.example>": 250,
                    "<info@example.org>": 553, "<alice@example.org>": 250,
                    "<alice+x@example.org>": 250, "<someone@remote.example>": 553}
        for sender, code in expected.items():
            assert c.cmd(f"MAIL FROM:{sender}")[0] == code, sender
            c.cmd("RSET")
