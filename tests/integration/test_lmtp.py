"""The lmtp server (RFC 2033): the dialogue, recipients and what lands in the store.

Each test starts a Tern instance with auth and lmtp (lmtp_helpers.StoreServer)
and talks to it with a byte-exact client, on the unix socket private/lmtp-store
that qmgr uses or on a loopback port; the store is then read with sqlite3.
"""
import os
import re
import time


from lmtp_helpers import (
    PASSWORD,
    RawLmtp,
    StoreServer,
    dot_stuff,
    message_text,
    no_crashes,  # noqa: F401 (autouse fixture)
    simple_message,
)

SENDER = "sender@example.net"


def test_greeting_lhlo_and_commands(tern):
    srv = StoreServer(tern, main={"lmtp_error_sleep_time": "0"})
    with RawLmtp(srv.socket) as c:
        assert c.greeting[0] == 220 and c.greeting[1].startswith("store.example.org ")
        assert c.cmd("MAIL FROM:<a@example.net>") == (503, "5.5.1 Error: send LHLO first")
        assert c.cmd("EHLO x")[0:1] == (500,)
        assert c.cmd("HELO x")[0:1] == (500,)
        features = c.lhlo()
        assert features == ["PIPELINING", "SIZE 52428800", "ENHANCEDSTATUSCODES", "8BITMIME",
                            "SMTPUTF8", "CHUNKING"]
        for verb in ("STARTTLS", "AUTH PLAIN", "EXPN list"):
            code, text = c.cmd(verb)
            assert code == 502 and text.startswith("5.5.1 "), (verb, code, text)
        assert c.cmd("VRFY alice@example.org")[0] == 252
        assert c.cmd("HELP")[0] == 214
        assert c.cmd("NOOP") == (250, "2.0.0 Ok")
        assert c.cmd("RCPT TO:<alice@example.org>") == (503, "5.5.1 Error: need MAIL command")
        assert c.cmd("DATA") == (503, "5.5.1 Error: need MAIL command")
        assert c.cmd("MAIL FROM:<a@example.net> DSN") == (555, "5.5.4 Error: unsupported parameter")
        assert c.cmd("MAIL FROM:<a@example.net> BODY=8BITMIME SIZE=100")[0] == 250
        assert c.cmd("MAIL FROM:<b@example.net>")[0:1] == (503,)
        assert c.cmd("RCPT TO:<alice@example.org> NOTIFY=NEVER")[0] == 555
        assert c.cmd("RCPT TO:<nobody@example.org>")[0] == 550
        # RFC 2033 section 4.2: DATA without a successful RCPT
        assert c.cmd("DATA") == (503, "5.5.1 Error: no valid recipients")
        assert c.cmd("RCPT TO alice")[0] == 501
        assert c.cmd("FROB") == (500, "5.5.2 Error: command not recognized")
        assert c.cmd("RSET") == (250, "2.0.0 Ok")
        assert c.cmd("QUIT") == (221, "2.0.0 Bye")
        assert c.closed()
    log = tern.wait_log(r"lmtp\[\d+\]: (\w+): disconnect from local lhlo=1 helo=0/1 ehlo=0/1 "
                        r"starttls=0/1 auth=0/1 mail=1/4 rcpt=0/4 data=0/2 rset=1 noop=1 "
                        r"vrfy=1 expn=0/1 help=1 quit=1 unknown=0/1 commands=7/22\n")
    assert re.search(rf"{log.group(1)}: connect from local\n", tern.log())


def test_delivery_into_inbox(tern):
    srv = StoreServer(tern)
    body = "line one\r\n.starts with a dot\r\n..two dots\r\n"
    msg = simple_message(body=body)
    with RawLmtp(srv.port) as c:
        rcpts, data = c.transaction(SENDER, ["alice@example.org"], msg)
        assert rcpts == [(250, "2.1.5 Ok")]
        assert data == [(250, "2.0.0 <alice@example.org> Ok: saved to mailbox INBOX, uid 1")]
        assert c.cmd("QUIT")[0] == 221
    (m,) = srv.messages("alice@example.org")
    assert (m["mailbox"], m["uid"]) == ("INBOX", 1)
    stored = message_text(m)
    assert stored == (b"Return-Path: <sender@example.net>\r\n"
                      b"Delivered-To: alice@example.org\r\n" + msg)
    assert m["size"] == len(stored)
    tern.wait_log(r"lmtp\[\d+\]: \w+: to=<alice@example.org>, relay=lmtp, delay=\d+\.\d\d, "
                  r"status=sent \(saved to mailbox INBOX, uid 1\)\n")
    assert "connect from [127.0.0.1]:" in tern.log()


def test_recipients_resolve_through_the_directory(tern):
    srv = StoreServer(tern)
    rcpts = ["nobody@example.org", "carol@example.org", "gone@example.org", "ext@example.org",
             "x@elsewhere.example", "x@remote.example", "info@example.org",
             "anything@example.net", "bob+tag@example.org", "sales@example.org"]
    with RawLmtp(srv.socket) as c:
        replies, data = c.transaction("", rcpts, simple_message())
    assert [code for code, _ in replies] == [550, 550, 550, 550, 550, 550, 250, 250, 250, 250]
    assert replies[0][1] == "5.1.1 <nobody@example.org>: Error: user unknown"
    assert replies[1][1] == "5.2.1 <carol@example.org>: Error: mailbox disabled"
    assert replies[2][1] == "5.2.1 <gone@example.org>: Error: mailbox disabled"
    assert replies[3][1].startswith("5.1.1 <ext@example.org>: Error: alias reaches addresses "
                                    "outside the mailbox store (someone@remote.example)")
    assert replies[4][1].startswith("5.1.1 ") and replies[5][1].startswith("5.1.1 ")
    assert [code for code, _ in data] == [250, 250, 250, 250]
    assert data[0][1].startswith("2.0.0 <info@example.org> Ok: saved to mailbox INBOX")
    assert data[3][1] == "2.0.0 <sales@example.org> Ok: saved for 2 accounts"
    # info and sales both reach alice: one copy; Delivered-To names the first recipient
    (a,) = srv.messages("alice@example.org")
    assert b"\r\nDelivered-To: info@example.org\r\n" in message_text(a)
    assert message_text(a).startswith(b"Return-Path: <>\r\n")
    (b,) = srv.messages("bob@example.org")
    assert b"\r\nDelivered-To: bob+tag@example.org\r\n" in message_text(b)
    (d,) = srv.messages("dave@example.net")
    assert b"\r\nDelivered-To: anything@example.net\r\n" in message_text(d)
    assert srv.messages("carol@example.org") == []
    log = tern.log()
    assert re.search(r": reject: RCPT from local: 550 5.1.1 <nobody@example.org>: Error: user "
                     r"unknown; from=<> to=<nobody@example.org>\n", log)
    for to, orig in [("alice@example.org", "info@example.org"),
                     ("dave@example.net", "anything@example.net"),
                     ("bob@example.org", "bob\\+tag@example.org"),
                     ("alice@example.org", "sales@example.org"),
                     ("bob@example.org", "sales@example.org")]:
        assert re.search(rf": to=<{to}>, orig_to=<{orig}>, relay=lmtp, delay=\S+, status=sent",
                         log), (to, orig)


def test_same_account_one_copy_each_recipient_a_reply(tern):
    srv = StoreServer(tern)
    with RawLmtp(srv.socket) as c:
        replies, data = c.transaction(SENDER, ["alice@example.org", "ALICE@example.org",
                                               "alice+x@example.org", "info@example.org"],
                                      simple_message())
    assert [code for code, _ in replies] == [250] * 4
    assert [code for code, _ in data] == [250] * 4
    assert [text.split(" ", 2)[1] for _, text in data] == [
        "<alice@example.org>", "<ALICE@example.org>", "<alice+x@example.org>",
        "<info@example.org>"]
    assert all(text.endswith("uid 1") for _, text in data)
    (m,) = srv.messages("alice@example.org")
    assert b"\r\nDelivered-To: alice@example.org\r\n" in message_text(m)


def test_quota_exceeded_for_one_recipient_of_two(tern):
    srv = StoreServer(tern)
    big = simple_message(body=("y" * 76 + "\r\n") * 40)  # about 3 kB; tiny has 2k
    with RawLmtp(srv.socket) as c:
        replies, data = c.transaction(SENDER, ["tiny@example.org", "alice@example.org"], big)
        assert [code for code, _ in replies] == [250, 250]
        assert data[0] == (552, "5.2.2 <tiny@example.org> Error: mailbox full, quota exceeded")
        assert data[1][0] == 250
        # a small one still fits
        replies, data = c.transaction(SENDER, ["tiny@example.org"], simple_message(), lhlo=False)
        assert data[0][0] == 250
    assert len(srv.messages("alice@example.org")) == 1
    (t,) = srv.messages("tiny@example.org")
    assert t["size"] < 2048
    tern.wait_log(r": to=<tiny@example.org>, relay=lmtp, delay=\S+, status=bounced \(over quota")


def test_pipelined_transactions(tern):
    srv = StoreServer(tern)
    m1 = simple_message(subject="one")
    m2 = simple_message(subject="two")
    with RawLmtp(srv.port) as c:
        c.send(b"LHLO mx\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
        replies = c.replies(6)
        assert [code for code, _ in replies] == [250, 250, 250, 550, 250, 354]
        c.send(dot_stuff(m1) + b".\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
        replies = c.replies(5)
        assert [code for code, _ in replies] == [250, 250, 250, 250, 354]
        assert replies[0][1].startswith("2.0.0 <alice@example.org> ")
        assert replies[1][1].startswith("2.0.0 <bob@example.org> ")
        c.send(dot_stuff(m2) + b".\r\nQUIT\r\n")
        assert c.replies(2) == [(250, "2.0.0 <bob@example.org> Ok: saved to mailbox INBOX, "
                                      "uid 2"), (221, "2.0.0 Bye")]
    assert [m["uid"] for m in srv.messages("bob@example.org")] == [1, 2]


def test_bdat(tern):
    srv = StoreServer(tern)
    part1 = b"Subject: chunks\nFrom: <a@example.net>\n\nbare LF\n"
    part2 = b"bare CR\rCRLF\r\n.not stuffed\r\n"
    with RawLmtp(srv.socket) as c:
        c.lhlo()
        assert c.cmd("BDAT 0 LAST")[0] == 503
        assert c.cmd("MAIL FROM:<a@example.net>")[0] == 250
        c.send(b"BDAT 3\r\nabc")
        assert c.reply() == (503, "5.5.1 Error: no valid recipients")
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        assert c.reply() == (250, f"2.0.0 Ok: {len(part1)} bytes")
        assert c.cmd("RCPT TO:<dave@example.net>") == (503, "5.5.1 Error: RCPT after BDAT")
        assert c.cmd("DATA") == (503, "5.5.1 Error: DATA after BDAT")
        c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        replies = c.replies(2)
        assert [code for code, _ in replies] == [250, 250]
    expected = (b"Subject: chunks\r\nFrom: <a@example.net>\r\n\r\nbare LF\r\n"
                b"bare CR\r\nCRLF\r\n.not stuffed\r\n")
    for who in ("alice@example.org", "bob@example.org"):
        (m,) = srv.messages(who)
        assert message_text(m).endswith(b"\r\nDelivered-To: " + who.encode() + b"\r\n" + expected)


def test_size_limit(tern):
    srv = StoreServer(tern, main={"message_size_limit": "10k"})
    big = simple_message(body=("z" * 98 + "\r\n") * 120)
    with RawLmtp(srv.socket) as c:
        assert "SIZE 10240" in c.lhlo()
        assert c.cmd("MAIL FROM:<a@example.net> SIZE=20000") == (
            552, "5.3.4 Error: message size exceeds fixed limit")
        replies, data = c.transaction(SENDER, ["alice@example.org", "bob@example.org"], big,
                                      lhlo=False)
        assert data == [(552, "5.3.4 <alice@example.org> Error: message file too big"),
                        (552, "5.3.4 <bob@example.org> Error: message file too big")]
        # the session goes on; BDAT is held to the limit too
        assert c.cmd("MAIL FROM:<a@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        c.send(b"BDAT 12000\r\n" + b"x" * 11998 + b"\r\n")
        assert c.reply() == (552, "5.3.4 Error: message file too big")
        c.send(b"BDAT 2 LAST\r\nz\n")
        assert c.reply() == (552, "5.3.4 <alice@example.org> Error: message file too big")
        replies, data = c.transaction(SENDER, ["alice@example.org"], simple_message(), lhlo=False)
        assert data[0][0] == 250
    assert len(srv.messages("alice@example.org")) == 1
    assert srv.messages("bob@example.org") == []
    tern.wait_log(r": to=<bob@example.org>, relay=lmtp, delay=\S+, status=bounced \(Error: "
                  r"message file too big\)")


def test_large_message_spills_to_a_temporary_file(tern):
    srv = StoreServer(tern, main={"lmtp_memory_limit": "0"})
    lines = "".join(f"line {i:06d} " + "w" * 60 + "\r\n" for i in range(5000))
    msg = simple_message(body=lines)
    with RawLmtp(srv.socket) as c:
        _, data = c.transaction(SENDER, ["alice@example.org", "dave@example.net"], msg)
    assert [code for code, _ in data] == [250, 250]
    (m,) = srv.messages("alice@example.org")
    assert message_text(m).endswith(b"\r\n" + msg)
    # the temporary file had no name: nothing but the domains' directories is left
    assert sorted(os.listdir(tern.store_dir)) == ["example.net", "example.org"]


def test_detail_mailbox(tern_factory):
    for setting, expect in (("no", "INBOX"), ("yes", "Archive")):
        srv = StoreServer(tern_factory(f"detail-{setting}"),
                          main={"lmtp_save_to_detail_mailbox": setting})
        with RawLmtp(srv.socket) as c:
            _, data = c.transaction(SENDER, ["alice+Archive@example.org"], simple_message())
            assert data[0][1].startswith(f"2.0.0 <alice+Archive@example.org> Ok: saved to "
                                         f"mailbox {expect}, uid 1")
            # a detail without a mailbox of its name goes to INBOX
            _, data = c.transaction(SENDER, ["alice+nosuch@example.org"], simple_message(),
                                    lhlo=False)
            assert "saved to mailbox INBOX" in data[0][1]
        assert [m["mailbox"] for m in srv.messages("alice@example.org")] == sorted(
            [expect, "INBOX"])


def test_log_uses_the_queue_id_of_the_topmost_received(tern):
    srv = StoreServer(tern)
    received = ("Received: from client.example (client.example [192.0.2.1])\r\n"
                "\tby mx.example.org (Tern) with ESMTP id 0BSW2XJ4K3A4LQ\r\n"
                "\tfor <alice@example.org>; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                "Received: by older.example id OLDERID; Mon, 1 Jan 2024 00:00:00 +0000\r\n")
    with RawLmtp(srv.socket) as c:
        c.transaction(SENDER, ["alice@example.org"], received.encode() + simple_message())
        c.transaction(SENDER, ["bob@example.org"], simple_message(), lhlo=False)
    log = tern.wait_log(r"(\w+): disconnect from local").group(1)
    text = tern.log()
    assert re.search(r": 0BSW2XJ4K3A4LQ: to=<alice@example.org>, relay=lmtp", text)
    assert re.search(rf": {log}: to=<bob@example.org>, relay=lmtp", text)
    assert "OLDERID" not in text


def test_smtputf8_recipient(tern):
    srv = StoreServer(tern)
    srv.admin("user", "add", "jörg@example.org", password="pw")
    with RawLmtp(srv.socket) as c:
        c.lhlo()
        assert c.cmd("MAIL FROM:<a@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<jörg@example.org>")[0] == 553
        assert c.cmd("RSET")[0] == 250
        assert c.cmd("MAIL FROM:<ä@example.net> SMTPUTF8")[0] == 250
        assert c.cmd("RCPT TO:<jörg@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(dot_stuff("Subject: grüße\r\n\r\nhällo\r\n".encode()) + b".\r\n")
        assert c.reply()[0] == 250
    (m,) = srv.messages("jörg@example.org")
    assert message_text(m).startswith("Return-Path: <ä@example.net>\r\n"
                                      "Delivered-To: jörg@example.org\r\n".encode())


def test_recipient_limit(tern):
    srv = StoreServer(tern, main={"lmtp_recipient_limit": "2"})
    with RawLmtp(srv.socket) as c:
        replies, data = c.transaction(SENDER, ["alice@example.org", "bob@example.org",
                                               "dave@example.net"], simple_message())
    assert replies[2] == (452, "4.5.3 Error: too many recipients")
    assert len(data) == 2


def test_directory_unavailable(tern):
    srv = StoreServer(tern, auth=False)
    with RawLmtp(srv.socket) as c:
        c.lhlo()
        assert c.cmd("MAIL FROM:<a@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>") == (
            451, "4.3.0 <alice@example.org>: Error: directory temporarily unavailable")
    tern.wait_log(r"warning: auth service unavailable: ")


def test_errors_timeouts_and_bad_clients(tern):
    srv = StoreServer(tern, main={"lmtp_hard_error_limit": "3", "lmtp_soft_error_limit": "1",
                                  "lmtp_error_sleep_time": "0", "lmtp_timeout": "2s"})
    with RawLmtp(srv.socket) as c:
        assert c.cmd("X" * 3000) == (500, "5.5.2 Error: line too long")
        assert c.cmd("DATA")[0] == 503
        assert c.cmd("EHLO x")[0] == 500
        assert c.reply() == (421, "4.7.0 store.example.org Error: too many errors")
        assert c.closed()
    with RawLmtp(srv.socket) as c:
        # refused recipients are no protocol errors
        c.lhlo()
        assert c.cmd("MAIL FROM:<a@example.net>")[0] == 250
        for i in range(5):
            assert c.cmd(f"RCPT TO:<nobody{i}@example.org>")[0] == 550
        assert c.cmd("NOOP")[0] == 250
    with RawLmtp(srv.socket) as c:
        start = time.monotonic()
        assert c.reply() == (421, "4.4.2 store.example.org Error: timeout exceeded")
        assert 1.5 < time.monotonic() - start < 10
        assert c.closed()
    with RawLmtp(srv.socket) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.reply()[0] == 221
        assert c.closed()
    with RawLmtp(srv.socket) as c:
        # a client that goes away in the middle of the data leaves nothing
        c.lhlo()
        c.send(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
        assert [code for code, _ in c.replies(3)] == [250, 250, 354]
        c.send(b"Subject: cut\r\n\r\nhalf a mess")
    tern.wait_log(r"lost connection after DATA from local")
    assert srv.messages("alice@example.org") == []
    tern.wait_log(r"timeout after CONNECT from local")
    tern.wait_log(r"warning: \w+: non-LMTP command from local: GET / HTTP/1.1")


def test_open_store_is_not_used_after_the_account_is_made_again(tern):
    # one lmtp process: it keeps alice's store open between deliveries
    srv = StoreServer(tern, maxproc=1)
    for expected_uid in (1, 2):
        with RawLmtp(srv.port) as c:
            _, data = c.transaction(SENDER, ["alice@example.org"], simple_message())
        assert data == [(250, f"2.0.0 <alice@example.org> Ok: saved to mailbox INBOX, "
                              f"uid {expected_uid}")]
    # the account goes, with its store, and comes back: a fresh store, not the old handle
    srv.admin("user", "del", "alice@example.org", "--purge")
    srv.admin("user", "add", "alice@example.org", password=PASSWORD)
    with RawLmtp(srv.port) as c:
        _, data = c.transaction(SENDER, ["alice@example.org"], simple_message())
    assert data == [(250, "2.0.0 <alice@example.org> Ok: saved to mailbox INBOX, uid 1")]
    assert [m["uid"] for m in srv.messages("alice@example.org")] == [1]
