"""smtpd: relay control, as an open-relay test sees it.

The client (on loopback) is not in mynetworks here and does not
authenticate, so it may send only to the local domains (those of the
directory, and mydestination) and to relay_domains. Every address trick
from RFC 5321 and from the relay-test literature must be refused or land
safely in a local mailbox: the percent hack, bang paths, source routes,
quoted local parts holding '@', '%' or '!', address literals, trailing
dots, mixed case, IDN and UTF-8 domains, several '@', the decimal IP
literal, subdomains of local domains, and more, each with the null sender
and with a local sender. Then what such a client may do, and that clients
in mynetworks and authenticated clients may relay.
"""
import smtplib

import pytest

from smtp_helpers import (
    RELAY_DOMAIN,
    MailServer,
    RawSmtp,
    client_tls_context,
    module_server,
    no_crashes,  # noqa: F401 (autouse fixture)
    stop_server,
)

# recipient as sent -> the reply it must get (prefix of "code dsn text")
RELAY_MATRIX = [
    # plain relaying
    ("<victim@remote.example>", "554 5.7.1 <victim@remote.example>: Relay access denied"),
    ("victim@remote.example", "554 5.7.1"),
    ("<VICTIM@Remote.EXAMPLE>", "554 5.7.1"),
    ("<victim@remote.example.>", "553 5.1.3"),
    ("<victim@sub.example.org>", "554 5.7.1"),
    ("<victim@example.org.remote.example>", "554 5.7.1"),
    ("<victim@elsewhere.example>", "554 5.7.1"),  # in the directory, but not local
    ("<victim@xn--r8jz45g.jp>", "554 5.7.1"),
    ("<victim@例え.jp>", "553 5.6.7"),  # UTF-8 without SMTPUTF8
    # the percent hack
    ("<victim%remote.example@example.org>", "550 5.1.1"),
    ("<VICTIM%REMOTE.EXAMPLE@EXAMPLE.ORG>", "550 5.1.1"),
    ("<victim%remote.example@relay.example>", "554 5.7.1"),
    ("<victim%remote.example@[127.0.0.1]>", "554 5.7.1"),
    ("<victim%remote.example>", "553 5.1.3"),
    ("<\"victim%remote.example\">", "553 5.1.3"),
    ("<victim%remote.example@localhost>", "550 5.1.1"),
    ("<victim%remote.example@mx.example.org>", "550 5.1.1"),
    # bang paths (UUCP)
    ("<remote.example!victim@example.org>", "550 5.1.1"),
    ("<remote.example!victim@relay.example>", "554 5.7.1"),
    ("<remote.example!victim>", "553 5.1.3"),
    ("<relay.example!remote.example!victim@example.org>", "550 5.1.1"),
    # source routes: ignored (RFC 5321 section 3.6.1), the mailbox decides
    ("<@example.org:victim@remote.example>", "554 5.7.1"),
    ("<@example.org,@relay.example:victim@remote.example>", "554 5.7.1"),
    ("<@[127.0.0.1]:victim@remote.example>", "554 5.7.1"),
    ("<@example.org:victim>", "553 5.1.3"),
    # quoted local parts
    ("<\"victim@remote.example\"@example.org>", "550 5.1.1"),
    ("<\"victim@remote.example\"@relay.example>", "554 5.7.1"),
    ("<\"victim%remote.example\"@relay.example>", "554 5.7.1"),
    ("<\"remote.example!victim\"@relay.example>", "554 5.7.1"),
    ("<\"victim\"@remote.example>", "554 5.7.1"),
    ("<\"alice@example.org\"@remote.example>", "554 5.7.1"),
    # several '@'
    ("<victim@remote.example@example.org>", "553 5.1.3"),
    ("<victim@example.org@remote.example>", "553 5.1.3"),
    # address literals are never local
    ("<victim@[192.0.2.1]>", "554 5.7.1"),
    ("<victim@[127.0.0.1]>", "554 5.7.1"),
    ("<postmaster@[127.0.0.1]>", "554 5.7.1"),
    ("<victim@[IPv6:::1]>", "554 5.7.1"),
    ("<victim@[2130706433]>", "553 5.1.3"),
    ("<victim@[127.0.0.1]:25>", "553 5.1.3"),
    ("<victim@2130706433>", "554 5.7.1"),
    # junk around the domain
    ("<victim@remote.example:25>", "553 5.1.3"),
    ("<victim@remote.example%example.org>", "553 5.1.3"),
    ("<victim@remote .example>", "553 5.1.3"),
    ("<victim@.remote.example>", "553 5.1.3"),
    ("<victim@remote..example>", "553 5.1.3"),
    ("<victim@-remote.example>", "553 5.1.3"),
    ("<victim>", "553 5.1.3"),
    ("<victim@>", "553 5.1.3"),
    ("<@remote.example>", "553 5.1.3"),
    ("<<victim@remote.example>>", "501 5.5.4"),
    ("<victim@remote.example", "501 5.5.4"),
    ("victim@remote.example>", "553 5.1.3"),
    # unknown local users
    ("<victim@example.org>", "550 5.1.1 <victim@example.org>: Recipient address rejected: "
                             "User unknown"),
    ("<victim@localhost>", "550 5.1.1"),
    ("<carol@example.org>", "550 5.2.1"),  # a disabled account
]

SENDERS = ["<>", "<alice@example.org>", "<spammer@remote.example>"]


@pytest.fixture(scope="module")
def outsider(tmp_path_factory):
    """A server whose mynetworks leaves loopback out: every test client is a stranger."""
    # the matrix makes many errors in one session: no error limits here
    s = module_server(tmp_path_factory, "relay", main={
        "mynetworks": "192.0.2.0/24",
        "smtpd_soft_error_limit": "1000",
        "smtpd_hard_error_limit": "1000",
    }, submission=True)
    yield s
    stop_server(s)


@pytest.mark.parametrize("sender", SENDERS)
def test_open_relay_matrix(outsider, sender):
    accepted = []
    wrong = []
    with RawSmtp(outsider.port) as c:
        c.ehlo()
        for rcpt, expected in RELAY_MATRIX:
            assert c.cmd(f"MAIL FROM:{sender}")[0] == 250
            code, text = c.cmd(f"RCPT TO:{rcpt}")
            reply = f"{code} {text}"
            if code < 400:
                accepted.append(rcpt)
            elif not reply.startswith(expected):
                wrong.append((rcpt, reply, expected))
            assert c.cmd("RSET")[0] == 250
    assert accepted == [], f"relayed: {accepted}"
    assert wrong == [], "\n".join(f"{r}: got {g!r}, expected {e!r}" for r, g, e in wrong)


def test_matrix_with_smtputf8(outsider):
    """With SMTPUTF8 a UTF-8 remote domain is still remote."""
    with RawSmtp(outsider.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<jöe@remote.example> SMTPUTF8")[0] == 250
        assert c.cmd("RCPT TO:<victim@例え.jp>")[:1] == (554,)
        assert c.cmd("RCPT TO:<用户@Bücher.example>")[:1] == (554,)
        assert c.cmd("RCPT TO:<用户%victim@例え.jp@example.org>")[0] == 553
        assert c.cmd("RCPT TO:<\"用户@例え.jp\"@example.org>")[0] == 550


def test_nothing_is_queued_for_a_stranger(outsider):
    with smtplib.SMTP("127.0.0.1", outsider.port, timeout=20) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            # unique addresses: smtplib counts refusals by address
            s.sendmail("spammer@remote.example",
                       sorted({r.strip("<>") for r, _ in RELAY_MATRIX if "@" in r and '"' not in r
                               and not any(ord(ch) > 127 for ch in r)}),
                       b"Subject: spam\r\n\r\nspam\r\n")
        assert all(code >= 500 for code, _ in e.value.recipients.values())
    assert outsider.queue_files() == {}


def test_what_a_stranger_may_do(outsider):
    """Local users, their aliases and sub-addresses, a catch-all, and the relay domain."""
    ok = ["alice@example.org", "ALICE@EXAMPLE.ORG", "Alice@Example.Org", "alice+tag@example.org",
          "info@example.org", "sales@example.org", "ext@example.org", "anyone@example.net",
          f"victim@{RELAY_DOMAIN}", f"Victim@{RELAY_DOMAIN.upper()}",
          "<@remote.example:alice@example.org>", "\"alice\"@example.org"]
    with RawSmtp(outsider.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<spammer@remote.example>")[0] == 250
        for rcpt in ok:
            if not rcpt.startswith("<"):
                rcpt = f"<{rcpt}>"
            code, text = c.cmd(f"RCPT TO:{rcpt}")
            assert code == 250, (rcpt, text)
        assert c.cmd("DATA")[0] == 354
        code, text = c.cmd("Subject: legit\r\n\r\nhello\r\n.")
        assert code == 250


def test_submission_without_auth_relays_nothing(outsider):
    """The submission service (TLS and AUTH required) refuses even local recipients."""
    with RawSmtp(outsider.submission_port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>")[0] == 530
        c.starttls()
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>") == (530, "5.7.0 Authentication required")
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 503


def test_mynetworks_may_relay(tern):
    """Loopback in mynetworks (the default): relaying is allowed, recipients still checked."""
    server = MailServer(tern)
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<victim@remote.example>")[0] == 250
        assert c.cmd("RCPT TO:<victim%remote.example@relay.example>")[0] == 250
        assert c.cmd("RCPT TO:<victim@[192.0.2.1]>")[0] == 250
        assert c.cmd("RCPT TO:<nobody@example.org>")[0] == 550
        assert c.cmd("RCPT TO:<victim@remote.example.>")[0] == 553


def test_authenticated_clients_may_relay(tern):
    server = MailServer(tern, main={"mynetworks": "192.0.2.0/24",
                                    "smtpd_sasl_auth_enable": "yes"})
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as s:
        s.starttls(context=client_tls_context())
        s.login("alice@example.org", "alice-pw")
        assert s.sendmail("alice@example.org", ["victim@remote.example"],
                          b"Subject: relayed\r\n\r\nok\r\n") == {}
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("alice@example.org", ["victim@remote.example"], b"Subject: x\r\n\r\n")


@pytest.mark.parametrize("restrictions,remote,local", [
    ("permit_mynetworks, reject", 250, 250),
    ("reject_unauth_destination", 554, 250),
    ("defer_unauth_destination", 454, 250),
    ("permit_auth_destination, reject", 554, 250),
    ("reject", 554, 554),
    ("permit", 250, 250),
])
def test_relay_restrictions(tern, restrictions, remote, local):
    server = MailServer(tern, main={"smtpd_relay_restrictions": restrictions})
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>")[0] == 250
        assert c.cmd("RCPT TO:<victim@remote.example>")[0] == remote
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == local
        # a local recipient is checked whatever the restrictions say
        assert c.cmd("RCPT TO:<nobody@example.org>")[0] in (550, 554)


def test_directory_unavailable_gives_451(tern):
    """Without the auth service, local recipients cannot be checked: 451 4.3.0, try later."""
    server = MailServer(tern)
    lines = [line for line in (tern.config_dir / "master.cf").read_text().split("\n")
             if line and not line.startswith("auth ")]
    tern.write_master_cf(lines)
    tern.reload()
    offset = tern.log_size()
    with RawSmtp(server.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>") == \
            (451, "4.3.0 <alice@example.org>: Temporary lookup failure")
        # whether a domain is local is the directory's to say: a remote one waits too
        assert c.cmd("RCPT TO:<victim@remote.example>")[0] == 451
    tern.wait_log(r"smtpd\[\d+\]: warning: auth service unavailable: ", offset)
