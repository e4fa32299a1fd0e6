"""smtpd: limits, bad input and SMTP smuggling, on a running server with raw sockets.

Each limit gets the reply code and enhanced status the server documents:
command and text line length, message_size_limit (SIZE, DATA and BDAT),
recipients per message, the error count with its growing delays and the
disconnect, junk commands, idle timeouts (between commands and inside
DATA), a client that talks before the greeting, and the per-client
connection count and rate limits through anvil. Then SMTP smuggling: no
variant of a bare CR or LF around a dot ends a message early, and what
follows it is never taken for commands.
"""
import re
import smtplib
import time

import pytest

from conftest import wait_for
from smtp_helpers import (
    HOSTNAME,
    MailServer,
    RawSmtp,
    body_intact,
    make_message,
    module_server,
    no_crashes,  # noqa: F401 (autouse fixture)
    queue_id_of,
    stop_server,
)

ENVELOPE = "MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"


def start_data(c, rcpt="alice@example.org"):
    c.ehlo()
    assert c.cmd("MAIL FROM:<a@remote.example>")[0] == 250
    assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
    assert c.cmd("DATA")[0] == 354


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    s = module_server(tmp_path_factory, "limits", main={
        "message_size_limit": "10k",
        "smtpd_recipient_limit": "3",
        "smtpd_soft_error_limit": "100",
        "smtpd_hard_error_limit": "100",
    })
    yield s
    stop_server(s)


# ---------------------------------------------------------------- line length


def test_command_line_length(limited):
    with RawSmtp(limited.port) as c:
        c.ehlo()
        assert c.cmd("NOOP " + "x" * 2041) == (250, "2.0.0 Ok")  # 2046 bytes
        assert c.cmd("NOOP " + "x" * 2042) == (500, "5.5.2 Error: line too long")
        assert c.cmd("NOOP " + "x" * 20000) == (500, "5.5.2 Error: line too long")
        assert c.cmd("MAIL FROM:<a@remote.example> " + "X" * 3000)[0] == 500
        assert c.cmd("NOOP") == (250, "2.0.0 Ok")


def test_text_line_length(limited):
    """RFC 5321: 1000 bytes with the CR LF; a longer line refuses the message after its end."""
    with RawSmtp(limited.port) as c:
        start_data(c)
        code, text = c.cmd("Subject: ok\r\n\r\n" + "x" * 998 + "\r\n." + "." * 997 + "\r\n.")
        assert code == 250, text
        assert b"x" * 998 + b"\r\n" + b"." * 997 + b"\r\n" in \
            limited.queued(queue_id_of(text)).content
        before = limited.queue_files()
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.org>")
        assert c.cmd("DATA")[0] == 354
        code, text = c.cmd("Subject: long\r\n\r\n" + "y" * 999 + "\r\n.")
        assert (code, text) == (552, "5.6.0 Error: message line longer than 1000 bytes")
        assert limited.queue_files() == before
        assert c.cmd("NOOP")[0] == 250


# ---------------------------------------------------------------- message size


def test_size_parameter(limited):
    with RawSmtp(limited.port) as c:
        code, text = c.cmd("EHLO c")
        assert "SIZE 10240" in text.split("\n")
        assert c.cmd("MAIL FROM:<a@remote.example> SIZE=10241") == \
            (552, "5.3.4 Message size exceeds fixed limit")
        assert c.cmd("MAIL FROM:<a@remote.example> SIZE=99999999999999999999")[0] == 552
        assert c.cmd("MAIL FROM:<a@remote.example> SIZE=5000")[0] == 250


def test_message_too_big(limited):
    before = limited.queue_files()
    with RawSmtp(limited.port) as c:
        start_data(c)
        c.send(make_message("big", 20000) + b".\r\n")
        assert c.reply() == (552, "5.3.4 Error: message file too big")
        assert c.cmd("NOOP") == (250, "2.0.0 Ok")
        start_data(c)
        code, text = c.cmd(make_message("small", 5000).decode() + ".")
        assert code == 250
    after = limited.queue_files()
    assert set(after) - set(before) == {queue_id_of(text)}


def test_bdat_too_big(limited):
    before = limited.queue_files()
    with RawSmtp(limited.port) as c:
        c.ehlo()
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.org>")
        c.send(b"BDAT 20000 LAST\r\n" + b"x" * 20000)
        assert c.reply() == (552, "5.3.4 Error: message file too big")
        c.cmd("MAIL FROM:<a@remote.example>")
        c.cmd("RCPT TO:<alice@example.org>")
        c.send(b"BDAT 6000\r\n" + b"Subject: a\r\n\r\n" + b"y" * 5984 + b"\r\n")
        assert c.reply()[0] == 250
        c.send(b"BDAT 6000 LAST\r\n" + b"z" * 6000)
        assert c.reply()[0] == 552
        # the transaction is over
        c.send(b"BDAT 3 LAST\r\nabc")
        assert c.reply() == (503, "5.5.1 Error: need MAIL command")
        assert c.cmd("NOOP") == (250, "2.0.0 Ok")
    assert limited.queue_files() == before


# ---------------------------------------------------------------- recipients


def test_recipient_limit(limited):
    with RawSmtp(limited.port) as c:
        c.ehlo()
        c.cmd("MAIL FROM:<a@remote.example>")
        for rcpt in ("alice@example.org", "bob@example.org", "info@example.org"):
            assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        assert c.cmd("RCPT TO:<sales@example.org>") == (452, "4.5.3 Error: too many recipients")
        assert c.cmd("DATA")[0] == 354
        code, text = c.cmd("Subject: three\r\n\r\nx\r\n.")
        assert code == 250
    q = limited.queued(queue_id_of(text))
    assert [r[0] for r in q.rcpts] == ["alice@example.org", "bob@example.org",
                                       "info@example.org"]


# ---------------------------------------------------------------- errors and junk


def test_error_delays_then_disconnect(tern):
    server = MailServer(tern, main={"smtpd_soft_error_limit": "2",
                                    "smtpd_hard_error_limit": "5",
                                    "smtpd_error_sleep_time": "1s"})
    offset = tern.log_size()
    times = []
    with RawSmtp(server.port, timeout=30) as c:
        for _ in range(5):
            start = time.monotonic()
            assert c.cmd("FOO")[0] == 500
            times.append(time.monotonic() - start)
        assert c.reply() == (421, f"4.7.0 {HOSTNAME} Error: too many errors")
        assert c.closed()
    assert times[0] < 0.5 and times[1] < 0.5, times
    assert 0.9 <= times[2] < 1.8, times  # one error over the soft limit: 1s
    assert 1.9 <= times[3] < 2.8, times  # two: 2s
    assert 2.9 <= times[4] < 3.8, times  # three: 3s
    tern.wait_log(r"too many errors after UNKNOWN from localhost\[127\.0\.0\.1\]", offset)


def test_junk_commands_count_as_errors(tern):
    server = MailServer(tern, main={"smtpd_junk_command_limit": "3",
                                    "smtpd_hard_error_limit": "2"})
    with RawSmtp(server.port) as c:
        for _ in range(5):
            assert c.cmd("NOOP")[0] == 250
        assert c.reply()[0] == 421
        assert c.closed()


# ---------------------------------------------------------------- timeouts


def test_idle_timeout(tern):
    server = MailServer(tern, main={"smtpd_timeout": "2s"})
    offset = tern.log_size()
    with RawSmtp(server.port, timeout=10) as c:
        start = time.monotonic()
        assert c.reply() == (421, f"4.4.2 {HOSTNAME} Error: timeout exceeded")
        assert 1.5 < time.monotonic() - start < 5
        assert c.closed()
    tern.wait_log(r"timeout after CONNECT from localhost\[127\.0\.0\.1\]", offset)
    with RawSmtp(server.port, timeout=10) as c:
        start_data(c)
        c.send("Subject: half\r\n\r\nhalf a message")
        assert c.reply()[0] == 421
        assert c.closed()
    tern.wait_log(r"timeout after DATA from localhost\[127\.0\.0\.1\]", offset)
    assert server.queue_files() == {}


def test_talking_before_the_greeting(tern):
    server = MailServer(tern, main={"smtpd_greet_pause": "1s"})
    offset = tern.log_size()
    with RawSmtp(server.port, greeting=False) as c:
        c.send("EHLO impatient.example\r\n")
        code, text = c.reply()
        assert code == 554 and text.startswith("5.5.1")
        assert c.closed()
    tern.wait_log(r"NOQUEUE: reject: CONNECT from localhost\[127\.0\.0\.1\]: 554 5\.5\.1 ", offset)
    # a client that waits is served after the pause
    start = time.monotonic()
    with RawSmtp(server.port) as c:
        assert c.greeting[0] == 220
        assert time.monotonic() - start >= 0.9
        assert c.cmd("QUIT")[0] == 221


# ---------------------------------------------------------------- connection limits (anvil)


def test_connection_count_limit(tern):
    server = MailServer(tern, main={"smtpd_client_connection_count_limit": "2",
                                    "smtpd_client_event_limit_exceptions": ""})
    offset = tern.log_size()
    first, second = RawSmtp(server.port), RawSmtp(server.port)
    try:
        assert first.greeting[0] == 220 and second.greeting[0] == 220
        with RawSmtp(server.port, greeting=False) as third:
            assert third.reply() == (421, f"4.7.0 {HOSTNAME} Error: too many connections "
                                          "from 127.0.0.1")
            assert third.closed()
        tern.wait_log(r"warning: Connection concurrency limit exceeded: 3 from "
                      rf"localhost\[127\.0\.0\.1\] for service 127\.0\.0\.1:{server.port}",
                      offset)
        assert first.cmd("QUIT")[0] == 221
        assert first.closed()
    finally:
        first.close()
        second.close()
    # once both sessions are over, their slots are given back: two more are let in
    wait_for(lambda: len(re.findall(r"smtpd\[\d+\]: disconnect from", tern.log(offset))) >= 3,
             what="the sessions to end")
    with RawSmtp(server.port) as c, RawSmtp(server.port) as d:
        assert c.greeting[0] == 220 and d.greeting[0] == 220


def test_connection_rate_limit(tern):
    server = MailServer(tern, main={"smtpd_client_connection_rate_limit": "3",
                                    "smtpd_client_connection_count_limit": "0",
                                    "smtpd_client_event_limit_exceptions": "",
                                    "anvil_rate_time_unit": "60s"})
    codes = []
    # the readiness probe of MailServer made one connection already
    for _ in range(3):
        with RawSmtp(server.port, greeting=False) as c:
            codes.append(c.reply()[0])
    assert codes == [220, 220, 421]
    tern.wait_log(r"warning: Connection rate limit exceeded: 4 from localhost\[127\.0\.0\.1\]")


def test_limits_exempt_mynetworks(tern):
    server = MailServer(tern, main={"smtpd_client_connection_count_limit": "1"})
    with RawSmtp(server.port) as c, RawSmtp(server.port) as d:
        assert c.greeting[0] == 220 and d.greeting[0] == 220


def test_without_anvil_clients_are_let_in(tern):
    server = MailServer(tern, anvil=False, main={"smtpd_client_connection_count_limit": "1",
                                                 "smtpd_client_event_limit_exceptions": ""})
    with RawSmtp(server.port) as c, RawSmtp(server.port) as d:
        assert c.greeting[0] == 220 and d.greeting[0] == 220
    tern.wait_log(r"warning: anvil service unavailable, no connection limits")


# ---------------------------------------------------------------- SMTP smuggling

# end-of-data look-alikes; none ends the message
SMUGGLING = ["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\r\n.\r", "\n.\r",
             "\r\n.\r\r\n", "\n\r.\r\n", "\r\n.\n\r\n", "\r\n \r\n.\n"]
SMUGGLED = ("MAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
            "Subject: smuggled\r\n\r\nevil\r\n")


@pytest.fixture(scope="module")
def normalizing(tmp_path_factory):
    s = module_server(tmp_path_factory, "normalize",
                      main={"smtpd_forbid_bare_newline": "normalize"})
    yield s
    stop_server(s)


def smuggle(port, variant, real_end="\r\n.\r\n"):
    """Send a message with a smuggling attempt; returns the replies after 354 and to NOOP."""
    with RawSmtp(port) as c:
        c.ehlo()
        c.send(ENVELOPE)
        assert [c.reply()[0] for _ in range(3)] == [250, 250, 354]
        c.send("Subject: smuggle\r\n\r\nhello" + variant + SMUGGLED + real_end + "NOOP\r\n")
        final = c.reply()
        after = c.reply()
        assert c.cmd("QUIT")[0] == 221
        return final, after


@pytest.mark.parametrize("variant", SMUGGLING)
def test_smuggling_refused(limited, variant):
    before = limited.queue_files()
    final, after = smuggle(limited.port, variant)
    assert final == (550, "5.5.2 Error: bare <CR> or <LF> received")
    assert after == (250, "2.0.0 Ok")  # the NOOP; nothing smuggled ran
    assert limited.queue_files() == before


@pytest.mark.parametrize("variant", SMUGGLING)
def test_smuggling_normalized(normalizing, variant):
    before = normalizing.queue_files()
    final, after = smuggle(normalizing.port, variant)
    assert final[0] == 250
    assert after == (250, "2.0.0 Ok")
    new = set(normalizing.queue_files()) - set(before)
    assert new == {queue_id_of(final[1])}  # one message, not two
    q = normalizing.queued(queue_id_of(final[1]))
    assert q.header("Subject") == "smuggle"
    assert b"\r\nMAIL FROM:<evil@remote.example>\r\n" in q.content
    assert [r[0] for r in q.rcpts] == ["alice@example.org"]
    # every line ending in the queue is CR LF: nothing bare reaches the next hop
    assert b"\r" not in q.content.replace(b"\r\n", b"")
    assert b"\n" not in q.content.replace(b"\r\n", b"")


def test_nul_is_content(limited):
    """A NUL before the dot makes no end either: one message, the rest is its content."""
    final, after = smuggle(limited.port, "\r\n\0.\r\n")
    assert final[0] == 250 and after[0] == 250
    q = limited.queued(queue_id_of(final[1]))
    assert b"\r\nMAIL FROM:<evil@remote.example>\r\n" in q.content


def test_bare_lf_in_message(limited):
    with RawSmtp(limited.port) as c:
        start_data(c)
        c.send("Subject: lf\r\n\r\nunix\nline\r\n.\r\n")
        assert c.reply() == (550, "5.5.2 Error: bare <CR> or <LF> received")


def test_smtplib_and_bare_lf(limited):
    """smtplib makes LF into CR LF in a str message, but sends bytes as they are."""
    msg = make_message("lf").replace(b"\r\n", b"\n")
    with smtplib.SMTP("127.0.0.1", limited.port, timeout=20) as s:
        s.ehlo()
        s.mail("a@remote.example")
        s.rcpt("alice@example.org")
        code, text = s.data(msg.decode())
        assert code == 250
        assert body_intact(limited.queued(queue_id_of(text.decode())).content)
        s.mail("a@remote.example")
        s.rcpt("alice@example.org")
        assert s.data(msg) == (550, b"5.5.2 Error: bare <CR> or <LF> received")
